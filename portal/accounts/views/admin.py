"""Administration: staff invitations, roles, deactivation, failed e-mails."""
from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts import services
from portal.accounts.forms import ActionForm, InviteStaffForm, RolesForm
from portal.accounts.limits import throttled
from portal.accounts.models import Invitation, InvitationKind, Role, User
from portal.accounts.permissions import can_manage_accounts, can_view_failed_mails
from portal.accounts.views import bp
from portal.core.actions import attempt
from portal.core.permissions import require
from portal.core.time import now
from portal.extensions import db
from portal.mail.services import failed_mails


def _users_page(form: InviteStaffForm | None = None) -> str:
    users = db.session.scalars(
        select(User).options(selectinload(User.roles), selectinload(User.memberships)).order_by(User.name, User.id)
    ).all()
    invitations = db.session.scalars(
        select(Invitation)
        .where(Invitation.kind == InvitationKind.STAFF, Invitation.accepted_at.is_(None), Invitation.expires_at > now())
        .order_by(Invitation.created_at.desc())
    ).all()
    return render_template(
        "accounts/users.html", users=users, invitations=invitations, form=form or InviteStaffForm(),
        title=_("Konten und Rollen"),
    )


@bp.get("/verwaltung/konten")
@login_required
def users() -> str:
    require(can_manage_accounts(current_user))
    return _users_page()


@bp.post("/verwaltung/konten/einladen")
@login_required
@throttled
def invite_staff() -> Any:
    require(can_manage_accounts(current_user))
    form = InviteStaffForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.invite_staff(form.email.data or "", {Role(r) for r in form.roles.data or []}, by=current_user),
        success=_("Die Einladung ist verschickt."), redirect_to=url_for(".users"), code=302,
    )):
        return done
    return _users_page(form)


@bp.route("/verwaltung/konten/<int:user_id>", methods=["GET", "POST"])
@login_required
def edit_user(user_id: int) -> Any:
    require(can_manage_accounts(current_user))
    user = db.session.get(User, user_id) or abort(404)
    form = RolesForm(data={"roles": [r.value for r in user.role_set]} if request.method == "GET" else None)
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.change_roles(user, {Role(r) for r in form.roles.data or []}, by=current_user),
        success=_("Die Rollen sind gespeichert. Die Person muss sich neu anmelden."),
        redirect_to=url_for(".edit_user", user_id=user.id), code=302,
    )):
        return done
    return render_template("accounts/user_edit.html", user=user, form=form, action_form=ActionForm(),
                           title=_("Konto von %(name)s", name=user.name))


@bp.post("/verwaltung/konten/<int:user_id>/aktiv")
@login_required
def set_user_active(user_id: int) -> Any:
    require(can_manage_accounts(current_user))
    user = db.session.get(User, user_id) or abort(404)
    form = ActionForm()
    back = url_for(".edit_user", user_id=user.id)
    if form.validate_on_submit():
        active = request.form.get("active") == "1"
        if done := attempt(
            None, lambda: services.set_user_active(user, active, by=current_user), redirect_to=back, code=302,
            success=_("Das Konto ist wieder aktiv.") if active else _("Das Konto ist deaktiviert; alle Sitzungen sind beendet."),
        ):
            return done
    return redirect(back)


@bp.get("/verwaltung/e-mails")
@login_required
def failed_mail_list() -> str:
    require(can_view_failed_mails(current_user))
    return render_template("accounts/failed_mails.html", mails=failed_mails(), title=_("Nicht zugestellte E-Mails"))
