"""Demo data that tells the story of the first real call (KIM, Siegen-Wittgenstein).

`flask demo load` runs every step in `STEPS` in order, through the same
services the UI uses (so the demo has a real audit trail). Each domain adds
one module here with a `load(ctx: DemoContext) -> None` function and one line
in `STEPS`. Demo data is refused unless the configuration allows it.
"""
from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, current_app
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.core import time as portal_time
from portal.extensions import db

#: Modules with a `load(ctx)` function, run in this order.
STEPS: list[str] = [
    "portal.demo.accounts",
    # The KIM consultation (2022) shaped the KIM call: it runs first, so the call can name it.
    "portal.demo.consultation",
    "portal.demo.calls",
    "portal.demo.bids",
    "portal.demo.review",
    "portal.demo.awards",
    # Keep last: signs a checkpoint over the whole demo log.
    "portal.demo.transparency",
]

KIM_FILE_CANDIDATES = [
    Path(__file__).resolve().parent / "kim-siegen-wittgenstein.json",
]


@dataclass
class DemoContext:
    """Shared state between demo steps (users and objects created so far)."""

    kim: dict[str, Any]
    objects: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        self.log.append(message)
        click.echo(f"  {message}")


@contextmanager
def replayed(days_ago: int) -> Iterator[portal_time.FrozenClock]:
    """Replay one demo story, in German, on its own clock starting `days_ago` days back.

    The story moves the clock forward as it goes (bids, deadlines, standstill);
    afterwards the clock that was installed before (a test's, or none) is back.
    """
    previous = portal_time._clock  # noqa: SLF001 - a test may have frozen time already
    clock = portal_time.FrozenClock(portal_time.now() - timedelta(days=days_ago))
    portal_time.install_clock(clock)
    try:
        with force_locale("de"):
            yield clock
    finally:
        portal_time.install_clock(previous)


def load_kim() -> dict[str, Any]:
    for candidate in KIM_FILE_CANDIDATES:
        if candidate.exists():
            return json.loads(candidate.read_text(encoding="utf-8"))
    raise click.ClickException("Demo-Datei kim-siegen-wittgenstein.json nicht gefunden.")


def database_is_empty() -> bool:
    from portal.accounts.models import User
    from portal.audit.models import AuditEvent

    users = db.session.scalar(select(func.count()).select_from(User))
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    return not users and not events


def load_demo() -> DemoContext:
    """Run every demo step in one transaction each; returns the shared context."""
    if not current_app.config.get("DEMO_ALLOWED"):
        raise click.ClickException("Demodaten sind in dieser Konfiguration nicht erlaubt.")
    ctx = DemoContext(kim=load_kim())
    for name in STEPS:
        module = importlib.import_module(name)
        module.load(ctx)
        db.session.commit()
    return ctx


bp = Blueprint("demo_cli", __name__, cli_group="demo")


@bp.cli.command("load")
@click.option("--if-empty", is_flag=True, help="Nur laden, wenn die Datenbank leer ist.")
def load_command(if_empty: bool) -> None:
    """Load the demo data (KIM call, consultation, accounts)."""
    if if_empty and not database_is_empty():
        click.echo("Datenbank enthält bereits Daten – Demodaten werden nicht geladen.")
        return
    click.echo("Lade Demodaten …")
    load_demo()
    click.echo("Demodaten geladen.")


@bp.cli.command("scale")
@click.option("--calls", default=200, show_default=True, help="Aufrufe")
@click.option("--lots", default=1000, show_default=True, help="Lose insgesamt (auf die Aufrufe verteilt)")
@click.option("--bids", default=10000, show_default=True, help="Interessenbekundungen insgesamt")
@click.option("--organisations", default=2000, show_default=True, help="Träger")
@click.option("--consultations", default=50, show_default=True, help="Beteiligungen")
@click.option("--comments", default=20000, show_default=True, help="Stellungnahmen insgesamt")
@click.option("--awarded", default=10, show_default=True, help="Aufrufe, die bis zur Vergabebekanntmachung laufen")
@click.option("--events", default=1_000_000, show_default=True, help="Audit-Ereignisse insgesamt (mit Anmeldungen aufgefüllt)")
@click.option("--days", default=120, show_default=True, help="Zeitraum, über den die Daten verteilt werden")
@click.option("--batch", default=50, show_default=True,
              help="Träger bzw. Stellungnahmen je Transaktion (Anmeldungen: das Zwanzigfache)")
def scale_command(**sizes: int) -> None:
    """Generate (or continue generating) the large data set for benchmarks (docs/operations.md)."""
    from portal.demo.scale import Sizes, generate, summary

    for line in [*generate(Sizes(**sizes)), *summary()]:
        click.echo(line)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
