"""Bidder pages: the letters addressed to one's organisations (/mitteilungen) and objections (Rügen)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from portal.accounts.permissions import is_member_of
from portal.awards import services
from portal.awards.forms import ObjectionForm
from portal.awards.models import InformationLetter, Objection
from portal.awards.permissions import can_view_letter, objecting_organisations
from portal.calls.models import Call
from portal.core.actions import attempt
from portal.core.permissions import require
from portal.extensions import db

bp = Blueprint("awards", __name__, url_prefix="/mitteilungen")


@bp.get("/")
@login_required
def index() -> str:
    organisation_ids = [m.organisation_id for m in current_user.active_memberships]
    letters = db.session.scalars(
        select(InformationLetter).where(InformationLetter.organisation_id.in_(organisation_ids))
        .options(selectinload(InformationLetter.call), selectinload(InformationLetter.organisation))
        .order_by(InformationLetter.created_at.desc(), InformationLetter.id.desc())
    ).all() if organisation_ids else []
    objections = db.session.scalars(
        select(Objection).where(Objection.organisation_id.in_(organisation_ids)).order_by(Objection.id.desc())
    ).all() if organisation_ids else []
    return render_template("awards/index.html", title=_("Mitteilungen zu Ihren Interessenbekundungen"), letters=letters,
                           objections=objections)


def _letter(letter_id: int) -> InformationLetter:
    letter = db.session.get(InformationLetter, letter_id)
    # Another organisation's letter: answer as if it did not exist.
    require(letter is not None and can_view_letter(current_user, letter), hide=True)
    assert letter is not None
    return letter


@bp.get("/<int:letter_id>")
@login_required
def show(letter_id: int) -> str:
    letter = _letter(letter_id)
    if is_member_of(current_user, letter.organisation):
        services.mark_letter_read(letter, by=current_user)
        db.session.commit()
    call = letter.call
    return render_template("awards/letter.html", title=_("Schreiben zum Aufruf %(ref)s", ref=call.reference), letter=letter,
                           c=letter.content, kind=letter.kind.value, call=call)


@bp.get("/<int:letter_id>.pdf")
@login_required
def pdf(letter_id: int) -> Response:
    letter = _letter(letter_id)
    response = Response(letter.pdf, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "attachment", filename=f"Schreiben-{letter.call.reference}-{letter.id}.pdf")
    response.headers["X-Content-SHA256"] = letter.pdf_sha256
    return response


@bp.route("/ruege/<reference>", methods=["GET", "POST"])
@login_required
def objection(reference: str) -> Any:
    call = db.session.scalar(select(Call).where(Call.reference == reference))
    if call is None:
        abort(404)
    organisations = objecting_organisations(current_user, call)
    require(bool(organisations))
    form = ObjectionForm()
    form.organisation_id.choices = [SelectChoice(str(o.id), o.name) for o in organisations]
    if form.validate_on_submit():
        organisation = next((o for o in organisations if o.id == form.organisation_id.data), None)
        if organisation is None:
            abort(400)
        if done := attempt(form, lambda: services.lodge_objection(call, organisation=organisation, text=form.text.data,
                                                                  by=current_user),
                           success=_("Ihre Rüge ist eingegangen. Die Vergabestelle antwortet Ihnen im Portal; bis dahin "
                                     "wird die Vergabe nicht bekannt gemacht."),
                           redirect_to=url_for("awards.index")):
            return done
    status = 422 if request.method == "POST" else 200
    return render_template("awards/objection.html", title=_("Rüge zur Vergabe erheben"), call=call, form=form,
                           deadline=services.objection_deadline(call)), status
