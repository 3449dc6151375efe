"""Operator commands: create-admin, backup, restore, check."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Blueprint, current_app

from portal.extensions import db

bp = Blueprint("ops_cli", __name__, cli_group=None)


@bp.cli.command("create-admin")
@click.option("--email", required=True, help="E-Mail-Adresse der Administratorin / des Administrators")
@click.option("--name", required=True, help="Anzeigename")
@click.option("--password-stdin", is_flag=True, help="Passwort von der Standardeingabe lesen")
def create_admin(email: str, name: str, password_stdin: bool) -> None:
    """Create the first administrator account (2FA is enrolled at first sign-in)."""
    from sqlalchemy import select

    from portal.accounts.models import Role, User, UserRole
    from portal.accounts.passwords import hash_password
    from portal.audit.actions import AuditAction
    from portal.audit.services import record
    from portal.core.time import now

    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
        "Passwort", hide_input=True, confirmation_prompt=True
    )
    if len(password) < 12:
        raise click.ClickException("Das Passwort muss mindestens 12 Zeichen lang sein.")
    email = email.strip().lower()
    if db.session.scalar(select(User).where(User.email == email)):
        raise click.ClickException(f"Ein Konto mit {email} existiert bereits.")
    user = User(email=email, name=name, password_hash=hash_password(password), email_verified_at=now())
    user.roles = [UserRole(role=Role.ADMIN)]
    db.session.add(user)
    db.session.flush()
    record(AuditAction.ADMIN_CREATED, subject=user, data={"via": "cli"})
    db.session.commit()
    click.echo(f"Administrationskonto {email} angelegt. Bei der ersten Anmeldung wird die Zwei-Faktor-Anmeldung eingerichtet.")


@bp.cli.command("backup")
@click.argument("target", type=click.Path(path_type=Path))
def backup_command(target: Path) -> None:
    """Write a complete backup of the database (attachments included) to TARGET."""
    from portal.ops.backup import BackupError, backup_database

    try:
        backup_database(current_app.config["SQLALCHEMY_DATABASE_URI"], target, progress=click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@bp.cli.command("restore")
@click.argument("source", type=click.Path(path_type=Path))
def restore_command(source: Path) -> None:
    """Restore SOURCE into the configured (empty) database and verify the audit log."""
    from portal.audit.services import verify_chain
    from portal.ops.backup import BackupError, restore_database

    db.engine.dispose()
    try:
        restore_database(current_app.config["SQLALCHEMY_DATABASE_URI"], source, progress=click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    report = verify_chain()
    if not report.ok:
        raise click.ClickException(f"Wiederhergestellt, aber das Audit-Protokoll ist ab Eintrag {report.first_bad_seq} verletzt: {report.reason}")
    click.echo(f"Audit-Protokoll geprüft: {report.checked} Einträge, Kette lückenlos.")


@bp.cli.command("check")
def check_command() -> None:
    """Exit 1 if this instance must not serve (pending migrations, debug, …)."""
    from portal.ops.checks import problems_before_serving

    problems = problems_before_serving()
    for problem in problems:
        click.echo(f"- {problem}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo("Bereit.")
