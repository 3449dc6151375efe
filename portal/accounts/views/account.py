"""The signed-in user's own account: overview, preferences, export, security settings."""
from __future__ import annotations

import json
from functools import wraps
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.accounts import services, totp
from portal.accounts.forms import ActionForm, ChangeEmailForm, ChangePasswordForm, CodeForm, PreferencesForm, ReauthenticateForm
from portal.accounts.gate import mark_reauthenticated, recently_authenticated
from portal.accounts.limits import throttled
from portal.accounts.sessions import TWO_FACTOR_PASSED, start_session
from portal.accounts.views import bp
from portal.core.actions import attempt
from portal.core.errors import Refused, show_refusal
from portal.core.templating import safe_next
from portal.extensions import db

PENDING_SECRET = "totp_pending"


def reauthentication_required(view: Any) -> Any:
    """Sensitive changes need the password (and code) again within REAUTH_MINUTES."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not recently_authenticated():
            return redirect(url_for(".reauthenticate", next=request.path))
        return view(*args, **kwargs)

    return wrapper


@bp.get("/konto")
@login_required
def account() -> str:
    form = PreferencesForm(locale=current_user.locale, notify_by_email=current_user.notify_by_email)
    return render_template("accounts/account.html", form=form, action_form=ActionForm(), title=_("Mein Konto"))


@bp.post("/konto/einstellungen")
@login_required
def preferences() -> Any:
    form = PreferencesForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.update_preferences(current_user, locale=form.locale.data,
                                                  notify_by_email=bool(form.notify_by_email.data)),
        success=_("Ihre Einstellungen sind gespeichert."), redirect_to=url_for(".account"), code=302,
    )):
        session["lang"] = current_user.locale
        return done
    return render_template("accounts/account.html", form=form, action_form=ActionForm(), title=_("Mein Konto"))


@bp.post("/konto/daten")
@login_required
def export_data() -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for(".account"))
    data = services.export_personal_data(current_user)
    db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="ibv-portal-meine-daten.json"', "Cache-Control": "no-store"},
    )


@bp.route("/konto/bestaetigen", methods=["GET", "POST"])
@login_required
@throttled
def reauthenticate() -> Any:
    form = ReauthenticateForm()
    if form.validate_on_submit():
        ok = services.confirm_identity(current_user, form.password.data or "", form.code.data)
        db.session.commit()
        if ok:
            mark_reauthenticated()
            return redirect(safe_next(request.args.get("next"), url_for(".account")))
        form.form_errors.append(_("Passwort oder Code ist nicht richtig."))
    return render_template("accounts/reauthenticate.html", form=form, title=_("Identität bestätigen"))


@bp.route("/konto/passwort", methods=["GET", "POST"])
@login_required
@reauthentication_required
def change_password() -> Any:
    form = ChangePasswordForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.change_password(current_user, form.new_password.data or "", by=current_user),
        success=None, redirect_to=url_for(".account"), code=302,
    )):
        # Every other session ended with the new version; this one continues (in a fresh session,
        # so the message is flashed into that one).
        start_session(current_user._get_current_object(), two_factor_passed=True)
        mark_reauthenticated()
        flash(_("Ihr Passwort wurde geändert. Andere Sitzungen wurden beendet."), "success")
        return done
    return render_template("accounts/change_password.html", form=form, title=_("Passwort ändern"))


@bp.route("/konto/e-mail", methods=["GET", "POST"])
@login_required
@reauthentication_required
def change_email() -> Any:
    form = ChangeEmailForm()
    if form.validate_on_submit() and (done := attempt(
        form, lambda: services.request_email_change(current_user, form.email.data or ""),
        success=None, redirect_to=url_for(".account"), code=302,
    )):
        flash(_("Wir haben einen Bestätigungslink an die neue Adresse geschickt. Die Änderung gilt, sobald Sie ihn öffnen."), "info")
        return done
    return render_template("accounts/change_email.html", form=form, title=_("E-Mail-Adresse ändern"))


@bp.route("/konto/e-mail/<token>", methods=["GET", "POST"])
@login_required
def confirm_email_change(token: str) -> Any:
    form = ActionForm()
    if form.validate_on_submit():
        try:
            services.confirm_email_change(token, by=current_user)
        except Refused as refusal:
            db.session.rollback()
            return render_template("accounts/link_invalid.html", title=_("Link nicht gültig"), message=refusal.message), 400
        db.session.commit()
        flash(_("Ihre neue E-Mail-Adresse ist gespeichert."), "success")
        return redirect(url_for(".account"))
    return render_template(
        "accounts/confirm_link.html", form=form, title=_("Neue E-Mail-Adresse bestätigen"),
        text=_("Bitte bestätigen Sie, dass Sie diese neue E-Mail-Adresse für Ihr Konto verwenden möchten."),
        button=_("Neue Adresse übernehmen"),
    )


@bp.route("/konto/zwei-faktor", methods=["GET", "POST"])
@login_required
@reauthentication_required
def enrol_totp() -> Any:
    secret = session.get(PENDING_SECRET) or totp.new_secret()
    session[PENDING_SECRET] = secret
    form = CodeForm()
    if form.validate_on_submit():
        in_gate = not session.get(TWO_FACTOR_PASSED)
        try:
            codes = services.enable_totp(current_user, secret, form.code.data or "")
            if in_gate:
                services.complete_sign_in(current_user, second_factor="totp")
        except Refused as refusal:
            db.session.rollback()
            show_refusal(form, refusal)
        else:
            db.session.commit()
            session.pop(PENDING_SECRET, None)
            session[TWO_FACTOR_PASSED] = True
            return render_template("accounts/recovery_codes.html", codes=codes, title=_("Ihre Wiederherstellungscodes"))
    uri = totp.provisioning_uri(secret, email=current_user.email, issuer=f"IBV-Portal {current_app.config['DISTRICT_NAME']}")
    return render_template(
        "accounts/enrol_totp.html", form=form, secret=secret, qr=totp.qr_data_uri(uri), title=_("Zwei-Faktor-Anmeldung einrichten")
    )


@bp.post("/konto/zwei-faktor/aus")
@login_required
@reauthentication_required
def disable_totp() -> Any:
    form = ActionForm()
    if form.validate_on_submit() and (done := attempt(
        None, lambda: services.disable_totp(current_user, by=current_user),
        success=_("Die Zwei-Faktor-Anmeldung ist ausgeschaltet."), redirect_to=url_for(".account"), code=302,
    )):
        return done
    return redirect(url_for(".account"))
