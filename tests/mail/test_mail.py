"""The outbox: mails are stored with their cause and delivered over real SMTP."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.mail.models import MailStatus, OutgoingMail
from portal.mail.services import deliver_pending, failed_mails, queue_mail


def test_mail_is_delivered_to_a_real_smtp_server_in_the_recipients_language(app: Flask, smtp_server) -> None:  # type: ignore[no-untyped-def]
    queue_mail("clara@example.org", "Test", "test_message", locale="de", name="Clara")
    queue_mail("ed@example.org", "Test", "test_message", locale="en", name="Ed")
    db.session.commit()
    assert deliver_pending() == (2, 0)
    german = smtp_server.to("clara@example.org")[0]
    assert "Guten Tag Clara," in smtp_server.text(german)
    english = smtp_server.to("ed@example.org")[0]
    assert "Hello Ed," in smtp_server.text(english)
    assert db.session.scalars(sa.select(OutgoingMail.status)).all() == [MailStatus.SENT, MailStatus.SENT]


def test_mail_queued_in_a_request_is_sent_after_commit_and_not_after_rollback(app: Flask, smtp_server) -> None:  # type: ignore[no-untyped-def]
    @app.post("/_t/commit")
    def commit_view() -> str:
        queue_mail("kept@example.org", "Bleibt", "test_message", name="A")
        db.session.commit()
        return "ok"

    @app.post("/_t/rollback")
    def rollback_view() -> str:
        queue_mail("lost@example.org", "Verworfen", "test_message", name="B")
        db.session.rollback()
        return "ok"

    client = app.test_client()
    client.post("/_t/commit")
    client.post("/_t/rollback")
    assert len(smtp_server.to("kept@example.org")) == 1
    assert smtp_server.to("lost@example.org") == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 1


def test_failed_send_is_retried_then_marked_failed_and_audited(app: Flask, clock) -> None:  # type: ignore[no-untyped-def]
    # Nothing listens on the testing config's port 1: every attempt fails.
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    mail = queue_mail("nobody@example.org", "Test", "test_message", name="X")
    db.session.commit()
    assert deliver_pending() == (0, 1)
    db.session.refresh(mail)
    assert mail.status == MailStatus.QUEUED and mail.attempts == 1 and mail.last_error
    assert deliver_pending() == (0, 0)  # not due yet
    for _ in range(2):
        clock.advance(timedelta(hours=3))
        deliver_pending()
    db.session.refresh(mail)
    assert mail.status == MailStatus.FAILED and mail.attempts == 3
    assert mail in failed_mails()
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions == ["mail.failed"]


def test_mail_cli_delivers_queued_mail(app: Flask, runner, smtp_server) -> None:  # type: ignore[no-untyped-def]
    queue_mail("cli@example.org", "CLI", "test_message", name="C")
    db.session.commit()
    result = runner.invoke(args=["mail", "deliver"])
    assert "1 E-Mail(s) versendet" in result.output
    assert len(smtp_server.to("cli@example.org")) == 1


def test_every_mail_has_an_html_part_with_escaped_text_and_links(app: Flask, smtp_server) -> None:  # type: ignore[no-untyped-def]
    queue_mail("html@example.org", "Test", "test_message", locale="de", name="<script>x</script> https://portal.example/a?b=1&c=2")
    db.session.commit()
    deliver_pending()
    message = smtp_server.to("html@example.org")[0]
    html = message.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="de">' in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert '<a href="https://portal.example/a?b=1&amp;c=2">' in html
    assert "dies ist eine Testnachricht" in html
    assert "Guten Tag" in smtp_server.text(message)


def test_a_released_savepoint_does_not_send_mail_of_a_transaction_that_rolls_back(app: Flask, smtp_server) -> None:  # type: ignore[no-untyped-def]
    @app.post("/_t/savepoint")
    def savepoint_view() -> str:
        queue_mail("never@example.org", "Nie", "test_message", name="S")
        with db.session.begin_nested():
            pass  # a service using a savepoint, e.g. against a unique-constraint race
        db.session.rollback()
        return "ok"

    app.test_client().post("/_t/savepoint")
    assert smtp_server.to("never@example.org") == []
