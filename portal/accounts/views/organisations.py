"""Organisation pages for members, and verification by district officers."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

from portal.accounts import services
from portal.accounts.forms import ActionForm, DecisionForm, EditOrganisationForm, InviteMemberForm
from portal.accounts.limits import throttled
from portal.accounts.models import Membership, Organisation, OrganisationStatus
from portal.accounts.permissions import (
    can_edit_organisation,
    can_invite_member,
    can_leave_organisation,
    can_verify_organisation,
    can_view_organisation,
)
from portal.accounts.views import bp
from portal.core.actions import attempt
from portal.core.permissions import require
from portal.extensions import db


def _load(organisation_id: int) -> Organisation:
    organisation = db.session.scalar(
        select(Organisation)
        .where(Organisation.id == organisation_id)
        .options(selectinload(Organisation.memberships).joinedload(Membership.user))
    )
    # Whether an organisation B exists is none of organisation A's business: 404.
    if organisation is None or not can_view_organisation(current_user, organisation):
        abort(404)
    return organisation


def _page(organisation: Organisation, **forms: Any) -> str:
    forms.setdefault("invite_form", InviteMemberForm())
    forms.setdefault("decision_form", DecisionForm())
    return render_template(
        "accounts/organisation.html",
        organisation=organisation,
        action_form=ActionForm(),
        title=organisation.name,
        **forms,
    )


@bp.get("/traeger/<int:organisation_id>")
@login_required
def organisation(organisation_id: int) -> str:
    return _page(_load(organisation_id))


@bp.route("/traeger/<int:organisation_id>/bearbeiten", methods=["GET", "POST"])
@login_required
def edit_organisation(organisation_id: int) -> Any:
    organisation = _load(organisation_id)
    require(can_edit_organisation(current_user, organisation), hide=True)
    form = EditOrganisationForm(obj=organisation)
    if form.validate_on_submit():
        data = {f.name: f.data for f in form if f.name != "csrf_token"}
        if done := attempt(form, lambda: services.update_organisation(organisation, by=current_user, **data),
                           success=_("Die Angaben des Trägers sind gespeichert."),
                           redirect_to=url_for(".organisation", organisation_id=organisation.id), code=302):
            return done
    return render_template("accounts/organisation_edit.html", form=form, organisation=organisation,
                           title=_("Angaben des Trägers ändern"))


@bp.post("/traeger/<int:organisation_id>/einladen")
@login_required
@throttled
def invite_member(organisation_id: int) -> Any:
    organisation = _load(organisation_id)
    require(can_invite_member(current_user, organisation), hide=True)
    form = InviteMemberForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.invite_member(organisation, form.email.data or "", by=current_user),
        success=_("Die Einladung ist verschickt."), redirect_to=url_for(".organisation", organisation_id=organisation.id),
        code=302,
    )):
        return done
    return _page(organisation, invite_form=form)


@bp.post("/traeger/<int:organisation_id>/austreten")
@login_required
def leave_organisation(organisation_id: int) -> Any:
    organisation = _load(organisation_id)
    require(can_leave_organisation(current_user, organisation), hide=True)
    form = ActionForm()
    if form.validate_on_submit():
        # Refused: back to the organisation's page, with the reason.
        return attempt(
            None, lambda: services.leave_organisation(organisation, by=current_user),
            success=_("Sie sind aus dem Träger ausgetreten."), redirect_to=url_for(".account"), code=302,
        ) or redirect(url_for(".organisation", organisation_id=organisation.id))
    return redirect(url_for(".account"))


@bp.get("/verwaltung/traeger")
@login_required
def review_organisations() -> str:
    require(can_verify_organisation(current_user))
    pending_first = case((Organisation.status == OrganisationStatus.PENDING, 0), else_=1)
    organisations = db.session.scalars(
        select(Organisation)
        .options(selectinload(Organisation.memberships).joinedload(Membership.user))
        .order_by(pending_first, Organisation.created_at.desc())
    ).all()
    return render_template("accounts/organisations_review.html", organisations=organisations, title=_("Träger prüfen"))


@bp.post("/verwaltung/traeger/<int:organisation_id>/entscheiden")
@login_required
def decide_organisation(organisation_id: int) -> Any:
    require(can_verify_organisation(current_user))
    organisation = _load(organisation_id)
    form = DecisionForm()
    if form.validate_on_submit():
        if form.decision.data == "verify":
            decide: Callable[[], Any] = lambda: services.verify_organisation(organisation, by=current_user)
        else:
            decide = lambda: services.reject_organisation(organisation, by=current_user, reason=form.reason.data or "")
        if done := attempt(form, decide, success=_("Die Entscheidung ist gespeichert; der Träger wurde per E-Mail informiert."),
                           redirect_to=url_for(".review_organisations"), code=302):
            return done
    return _page(organisation, decision_form=form)
