"""Outgoing e-mail: queued in the database, delivered after the commit.

`queue_mail()` renders the message in the recipient's language and stores it
in the same transaction as the change that caused it, so a mail exists
exactly when its cause was committed. `deliver_pending()` sends queued mails
over SMTP (or to the console in development); a failed send stays queued and
is retried with growing pauses, and after `MAIL_MAX_ATTEMPTS` it is marked
failed, recorded in the audit log and listed for administrators. Requests
deliver the mails they queued right after their commit; `flask mail deliver`
(cron, every few minutes) retries the rest.
"""
from __future__ import annotations

import re
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from flask import current_app, g, has_request_context, render_template
from flask_babel import force_locale
from jinja2 import TemplateNotFound
from markupsafe import Markup, escape
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.core.time import now
from portal.extensions import db
from portal.mail.models import MailStatus, OutgoingMail

RETRY_PAUSES = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]


# A URL, without punctuation that ends the sentence around it.
_URL = re.compile(r"(https?://[^\s<>\"]*[^\s<>\".,;:!?)])")


def text_to_html_paragraphs(text: str) -> list[Markup]:
    """The HTML part of a mail without its own HTML template: the text's
    paragraphs, escaped, with line breaks kept and links made clickable."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        escaped = str(escape(block))
        linked = _URL.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', escaped)
        paragraphs.append(Markup(linked.replace("\n", "<br>\n")))
    return paragraphs


def queue_mail(to: str, subject: Any, template: str, *, locale: str = "de", **context: Any) -> OutgoingMail:
    """Render `templates/mail/<template>.txt` (and `.html` if present) and queue it.

    `subject` may be a lazy string; it is translated into `locale` here.
    """
    if locale not in current_app.config["LANGUAGES"]:
        locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        rendered_subject = str(subject)
        text = render_template(f"mail/{template}.txt", subject=rendered_subject, **context)
        try:
            html = render_template(f"mail/{template}.html", subject=rendered_subject, **context)
        except TemplateNotFound:
            html = render_template(
                "mail/_layout.html", subject=rendered_subject, lang=locale, paragraphs=text_to_html_paragraphs(text)
            )
    mail = OutgoingMail(
        to_address=to, subject=rendered_subject, body_text=text, body_html=html, template=template, locale=locale
    )
    db.session.add(mail)
    db.session.flush()
    if has_request_context():
        g.setdefault("ibv_queued_mail", []).append(mail.id)
    return mail


@event.listens_for(Session, "after_commit")
def _mails_committed(session: Session) -> None:
    # Fired for released savepoints too; only the outermost commit counts.
    if session.get_nested_transaction() is not None:
        return
    if has_request_context() and g.get("ibv_queued_mail"):
        g.setdefault("ibv_committed_mail", []).extend(g.pop("ibv_queued_mail"))


@event.listens_for(Session, "after_soft_rollback")
def _mails_rolled_back(session: Session, previous_transaction: Any) -> None:
    if has_request_context() and previous_transaction.parent is None:
        g.pop("ibv_queued_mail", None)


def _build_message(mail: OutgoingMail) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = formataddr((config["MAIL_SENDER_NAME"], config["MAIL_SENDER"]))
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=config["MAIL_SENDER"].rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    return message


def _send_smtp(message: EmailMessage) -> None:
    config = current_app.config
    host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), config["MAIL_TIMEOUT"]
    if config["MAIL_USE_SSL"]:
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            client.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        client.send_message(message)


def send_one(mail: OutgoingMail) -> bool:
    """Try to send one mail; update its state. Returns True if it was sent."""
    mail.attempts += 1
    try:
        if current_app.config["MAIL_BACKEND"] == "console":
            current_app.logger.info("E-Mail an %s: %s\n%s", mail.to_address, mail.subject, mail.body_text)
        else:
            _send_smtp(_build_message(mail))
    except (OSError, smtplib.SMTPException) as exc:
        mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if mail.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            mail.status = MailStatus.FAILED
            record(AuditAction.MAIL_FAILED, subject=mail, data={"attempts": mail.attempts, "error": mail.last_error})
        else:
            pause = RETRY_PAUSES[min(mail.attempts - 1, len(RETRY_PAUSES) - 1)]
            mail.next_attempt_at = now() + pause
        return False
    mail.status = MailStatus.SENT
    mail.sent_at = now()
    mail.last_error = None
    return True


def deliver_pending(ids: list[int] | None = None, *, limit: int = 200) -> tuple[int, int]:
    """Send queued mails that are due (or exactly `ids`); commit after each.

    Returns (sent, not sent).
    """
    stmt = select(OutgoingMail).where(OutgoingMail.status == MailStatus.QUEUED)
    if ids is not None:
        stmt = stmt.where(OutgoingMail.id.in_(ids))
    else:
        stmt = stmt.where(or_(OutgoingMail.next_attempt_at <= now(), OutgoingMail.attempts == 0))
    sent = failed = 0
    for mail_id in db.session.scalars(stmt.order_by(OutgoingMail.id).limit(limit).with_only_columns(OutgoingMail.id)).all():
        mail = db.session.get(OutgoingMail, mail_id)
        if mail is None or mail.status != MailStatus.QUEUED:
            continue
        if send_one(mail):
            sent += 1
        else:
            failed += 1
        db.session.commit()
    return sent, failed


def deliver_after_request() -> None:
    """Send what this request queued and committed (never a rolled-back mail)."""
    ids = g.pop("ibv_committed_mail", None)
    if not ids:
        return
    try:
        deliver_pending(ids)
    except Exception:  # never break a response over mail; the outbox keeps it
        db.session.rollback()
        current_app.logger.exception("E-Mail-Versand nach der Anfrage fehlgeschlagen; wird erneut versucht")


def failed_mails(limit: int = 200) -> list[OutgoingMail]:
    stmt = select(OutgoingMail).where(
        or_(OutgoingMail.status == MailStatus.FAILED, OutgoingMail.attempts > 0, OutgoingMail.last_error.is_not(None)),
        OutgoingMail.status != MailStatus.SENT,
    )
    return list(db.session.scalars(stmt.order_by(OutgoingMail.id.desc()).limit(limit)))
