"""`flask audit …` commands."""
from __future__ import annotations

import click
from flask import Blueprint

from portal.audit.services import verify_chain

bp = Blueprint("audit_cli", __name__, cli_group="audit")


@bp.cli.command("verify")
def verify_command() -> None:
    """Recompute the audit hash chain; exit 1 naming the first broken entry."""
    report = verify_chain()
    if report.ok:
        click.echo(f"Audit-Protokoll in Ordnung: {report.checked} Einträge geprüft, Kette lückenlos.")
        return
    click.echo(
        f"Audit-Protokoll VERLETZT ab Eintrag {report.first_bad_seq}: {report.reason} "
        f"({report.checked} Einträge davor sind in Ordnung.)",
        err=True,
    )
    raise SystemExit(1)
