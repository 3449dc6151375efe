"""Development only: browse the mails the portal would have sent (/dev/mail)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from portal.extensions import db
from portal.mail.models import OutgoingMail

bp = Blueprint("devmail", __name__, url_prefix="/dev/mail")


@bp.get("/")
def index() -> str:
    mails = db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(200)).all()
    return render_template("mail/dev_index.html", mails=mails, title="E-Mail-Ausgang (Entwicklung)")


@bp.get("/<int:mail_id>")
def show(mail_id: int) -> str:
    mail = db.session.get(OutgoingMail, mail_id) or abort(404)
    return render_template("mail/dev_show.html", mail=mail, title=mail.subject)
