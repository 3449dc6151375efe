"""`flask audit …` commands."""
from __future__ import annotations

import click
from flask import Blueprint

from portal.audit.services import verify_chain
from portal.extensions import db

bp = Blueprint("audit_cli", __name__, cli_group="audit")


@bp.cli.command("verify")
@click.option("--full", is_flag=True, help="Auch alle gespeicherten Teilbäume und Prüfpunkte nachrechnen.")
def verify_command(full: bool) -> None:
    """Recompute the audit hash chain; exit 1 naming the first broken entry."""
    if full:
        _verify_full()
        return
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


def _verify_full() -> None:
    from portal.audit.fullcheck import verify_full

    report = verify_full()
    if report.ok:
        click.echo(
            f"Audit-Protokoll in Ordnung: {report.events} Einträge, {report.subtrees} Teilbäume und "
            f"{report.checkpoints} Prüfpunkte nachgerechnet."
        )
        return
    where = (
        f"Prüfpunkt über {report.bad_checkpoint_size} Einträge"
        if report.bad_checkpoint_size is not None
        else f"Eintrag {report.first_bad_seq}" if report.first_bad_seq is not None else "Baum"
    )
    click.echo(f"Audit-Protokoll VERLETZT ({where}): {report.reason}", err=True)
    raise SystemExit(1)


@bp.cli.command("checkpoint")
def checkpoint_command() -> None:
    """Sign a new checkpoint if there are new events (run hourly from cron)."""
    from portal.audit.transparency import CheckpointRefused, issue_checkpoint

    try:
        checkpoint = issue_checkpoint()
        db.session.commit()
    except CheckpointRefused as exc:
        db.session.rollback()
        click.echo(f"Kein Prüfpunkt ausgestellt: {exc}", err=True)
        raise SystemExit(1) from exc
    if checkpoint is None:
        click.echo("Keine neuen Einträge seit dem letzten Prüfpunkt; nichts zu signieren.")
    else:
        click.echo(f"Prüfpunkt über {checkpoint.size} Einträge ausgestellt.")
