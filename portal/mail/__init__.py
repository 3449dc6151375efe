"""Outgoing e-mail (outbox, SMTP delivery, development mail browser)."""
from __future__ import annotations

import click
from flask import Blueprint, Flask, Response

cli = Blueprint("mail_cli", __name__, cli_group="mail")


@cli.cli.command("deliver")
def deliver_command() -> None:
    """Send queued e-mails that are due (run from cron every few minutes)."""
    from portal.mail.services import deliver_pending

    sent, failed = deliver_pending()
    click.echo(f"{sent} E-Mail(s) versendet, {failed} nicht zustellbar (wird erneut versucht).")


def init_app(app: Flask) -> None:
    from portal.mail import models  # noqa: F401
    from portal.mail.services import deliver_after_request

    app.register_blueprint(cli)

    @app.after_request
    def _deliver(response: Response) -> Response:
        deliver_after_request()
        return response

    if app.config.get("MAIL_DEV_BROWSER"):
        from portal.mail.devviews import bp

        app.register_blueprint(bp)
