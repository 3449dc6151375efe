"""Sign-in with the second factor, sign-out, password reset, registration, links from e-mails."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from portal.accounts import services
from portal.accounts.forms import (
    AcceptInvitationForm,
    ActionForm,
    CodeForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    RegisterOrganisationForm,
)
from portal.accounts.gate import mark_reauthenticated, second_factor_required, totp_relaxed_for
from portal.accounts.limits import throttled
from portal.accounts.models import InvitationKind
from portal.accounts.services.twofactor import WRONG_CODE
from portal.accounts.services.users import WRONG_CREDENTIALS, SignInOutcome, user_for_reset
from portal.accounts.sessions import TWO_FACTOR_PASSED, start_session
from portal.accounts.views import bp
from portal.core.actions import attempt
from portal.core.errors import Refused
from portal.core.i18n import current_language
from portal.core.templating import safe_next
from portal.extensions import db

AFTER_SIGN_IN = "accounts.next"


def _finish_sign_in() -> Any:
    target = session.pop(AFTER_SIGN_IN, None)
    return redirect(safe_next(target, url_for("accounts.account")))


def _link_invalid(refusal: Refused) -> tuple[str, int]:
    db.session.rollback()
    return render_template("accounts/link_invalid.html", title=_("Link nicht gültig"), message=refusal.message), 400


@bp.route("/anmelden", methods=["GET", "POST"])
@throttled
def login() -> Any:
    if current_user.is_authenticated and session.get(TWO_FACTOR_PASSED):
        return redirect(url_for(".account"))
    form = LoginForm()
    if form.validate_on_submit():
        result = services.attempt_sign_in(form.email.data or "", form.password.data or "")
        db.session.commit()
        user = result.user
        if result.outcome == SignInOutcome.OK and user is not None:
            target = safe_next(request.args.get("next"), "")
            if second_factor_required(user) and not totp_relaxed_for(user):
                start_session(user, two_factor_passed=False)
                session[AFTER_SIGN_IN] = target
                mark_reauthenticated()
                return redirect(url_for(".two_factor" if user.has_totp else ".enrol_totp"))
            services.complete_sign_in(user, second_factor="demo" if second_factor_required(user) else "none")
            db.session.commit()
            start_session(user, two_factor_passed=True)
            session[AFTER_SIGN_IN] = target
            mark_reauthenticated()
            return _finish_sign_in()
        if result.outcome == SignInOutcome.UNVERIFIED:
            form.form_errors.append(
                _("Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse. Wir haben Ihnen den Link noch einmal geschickt.")
            )
        else:
            form.form_errors.append(str(WRONG_CREDENTIALS))
    return render_template("accounts/login.html", form=form, title=_("Anmelden"))


@bp.route("/anmelden/code", methods=["GET", "POST"])
@login_required
@throttled
def two_factor() -> Any:
    if session.get(TWO_FACTOR_PASSED) or not second_factor_required(current_user):
        return redirect(url_for(".account"))
    if not current_user.has_totp:
        return redirect(url_for(".enrol_totp"))
    form = CodeForm()
    if form.validate_on_submit():
        method = services.check_second_factor(current_user, form.code.data or "")
        if method is not None:
            services.complete_sign_in(current_user, second_factor=method)
            db.session.commit()
            session[TWO_FACTOR_PASSED] = True
            if method == "recovery":
                flash(_("Sie haben einen Wiederherstellungscode verwendet. Noch %(n)s Codes übrig.", n=current_user.unused_recovery_codes), "warning")
            return _finish_sign_in()
        db.session.commit()
        form.code.errors = [str(WRONG_CODE)]
    return render_template("accounts/two_factor.html", form=form, title=_("Zweiter Faktor"))


@bp.post("/abmelden")
@login_required
def logout() -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    services.sign_out(current_user)
    db.session.commit()
    logout_user()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    flash(_("Sie sind abgemeldet."), "success")
    return redirect(url_for("core.index"))


@bp.route("/passwort-vergessen", methods=["GET", "POST"])
@throttled
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data or "")
        db.session.commit()
        flash(
            _("Wenn zu dieser Adresse ein Konto gehört, haben wir einen Link zum Zurücksetzen geschickt. Er ist %(n)s Minuten gültig.",
              n=_reset_minutes()),
            "info",
        )
        return redirect(url_for(".login"))
    return render_template("accounts/forgot_password.html", form=form, title=_("Passwort vergessen"))


def _reset_minutes() -> int:
    from flask import current_app

    return int(current_app.config["RESET_TOKEN_MINUTES"])


@bp.route("/passwort-neu/<token>", methods=["GET", "POST"])
@throttled
def reset_password(token: str) -> Any:
    try:
        user_for_reset(token)
    except Refused as refusal:
        return _link_invalid(refusal)
    form = NewPasswordForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.reset_password(token, form.password.data or ""),
        success=_("Ihr Passwort wurde geändert. Bitte melden Sie sich mit dem neuen Passwort an."),
        redirect_to=url_for(".login"), code=302,
    )):
        return done
    return render_template("accounts/reset_password.html", form=form, title=_("Neues Passwort festlegen"))


@bp.route("/registrieren", methods=["GET", "POST"])
@throttled
def register() -> Any:
    form = RegisterOrganisationForm()
    if form.validate_on_submit():
        data = {f.name: f.data for f in form if f.name not in {"csrf_token", "password_repeat"}}
        if done := attempt(form, lambda: services.register_organisation(locale=current_language(), **data),
                           success=None, redirect_to=url_for(".registered"), code=302):
            return done
    return render_template("accounts/register.html", form=form, title=_("Träger registrieren"))


@bp.get("/registrieren/danke")
def registered() -> str:
    return render_template("accounts/registered.html", title=_("Fast geschafft: Bitte bestätigen Sie Ihre E-Mail-Adresse"))


@bp.route("/e-mail-bestaetigen/<token>", methods=["GET", "POST"])
def verify_email(token: str) -> Any:
    # The link only shows a button: mail scanners that open links must not
    # confirm addresses on their own, and GET never changes state.
    form = ActionForm()
    if form.validate_on_submit():
        try:
            services.verify_email(token)
        except Refused as refusal:
            return _link_invalid(refusal)
        db.session.commit()
        flash(_("Ihre E-Mail-Adresse ist bestätigt. Sie können sich jetzt anmelden."), "success")
        return redirect(url_for(".login"))
    return render_template(
        "accounts/confirm_link.html", form=form, title=_("E-Mail-Adresse bestätigen"),
        text=_("Bitte bestätigen Sie, dass diese E-Mail-Adresse Ihnen gehört."), button=_("E-Mail-Adresse bestätigen"),
    )


@bp.route("/einladung/<token>", methods=["GET", "POST"])
@throttled
def accept_invitation(token: str) -> Any:
    try:
        invitation = services.find_invitation(token)
    except Refused as refusal:
        return _link_invalid(refusal)
    signed_in_as_invitee = (
        invitation.kind == InvitationKind.MEMBER
        and current_user.is_authenticated
        and services.normalise_email(current_user.email) == invitation.email
    )
    existing = None if signed_in_as_invitee else services.find_user_by_email(invitation.email)
    form = ActionForm() if signed_in_as_invitee else AcceptInvitationForm()
    if existing is None and form.validate_on_submit():

        def accept() -> None:
            if invitation.kind == InvitationKind.STAFF:
                services.accept_staff_invitation(invitation, name=form.name.data, password=form.password.data,
                                                 locale=current_language())
            elif signed_in_as_invitee:
                services.accept_member_invitation(invitation, user=current_user._get_current_object())
            else:
                services.accept_member_invitation(invitation, name=form.name.data, password=form.password.data,
                                                  locale=current_language())

        if signed_in_as_invitee:
            done = attempt(form, accept, success=_("Sie sind dem Träger beigetreten."), code=302,
                           redirect_to=url_for(".organisation", organisation_id=invitation.organisation_id))
        else:
            done = attempt(form, accept, success=_("Ihr Konto ist angelegt. Bitte melden Sie sich jetzt an."),
                           redirect_to=url_for(".login"), code=302)
        if done:
            return done
    return render_template(
        "accounts/accept_invitation.html", form=form, invitation=invitation, existing=existing,
        signed_in_as_invitee=signed_in_as_invitee, title=_("Einladung annehmen"),
    )
