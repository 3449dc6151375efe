"""Forms for sign-in, registration, invitations and the account page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.accounts.models import OrganisationStatus, Role
from portal.accounts.passwords import MAX_LENGTH

ROLE_LABELS = {
    Role.ADMIN: _l("Administration"),
    Role.OFFICER: _l("Verwaltung / Vergabestelle"),
    Role.REVIEWER: _l("Gutachter:in"),
    Role.OBSERVER: _l("Kreistag / Fraktion"),
}

STATUS_LABELS = {
    OrganisationStatus.PENDING: _l("in Prüfung"),
    OrganisationStatus.VERIFIED: _l("freigeschaltet"),
    OrganisationStatus.REJECTED: _l("abgelehnt"),
}


def _required(message: object = None) -> DataRequired:
    return DataRequired(message=message or _l("Bitte füllen Sie dieses Feld aus."))


def _max(n: int) -> Length:
    return Length(max=n, message=_l("Höchstens %(max)d Zeichen erlaubt.", max=n))


def _email_field(label: object = None) -> EmailField:
    return EmailField(
        label or _l("E-Mail-Adresse"),
        validators=[_required(), _max(254), Email(message=_l("Bitte geben Sie eine gültige E-Mail-Adresse an, z. B. name@beispiel.de."))],
        render_kw={"autocomplete": "email"},
    )


def _password_field(label: object, autocomplete: str = "new-password") -> PasswordField:
    return PasswordField(label, validators=[InputRequired(message=_l("Bitte geben Sie ein Passwort ein.")), _max(MAX_LENGTH)],
                         render_kw={"autocomplete": autocomplete})


def _repeat_field(of: str) -> PasswordField:
    return PasswordField(
        _l("Passwort wiederholen"),
        validators=[InputRequired(message=_l("Bitte wiederholen Sie das Passwort.")),
                    EqualTo(of, message=_l("Die beiden Passwörter stimmen nicht überein."))],
        render_kw={"autocomplete": "new-password"},
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class LoginForm(FlaskForm):
    email = _email_field()
    password = _password_field(_l("Passwort"), "current-password")


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[_required(_l("Bitte geben Sie den Code ein.")), _max(20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"},
    )


class ForgotPasswordForm(FlaskForm):
    email = _email_field()


class NewPasswordForm(FlaskForm):
    password = _password_field(_l("Neues Passwort"))
    password_repeat = _repeat_field("password")


class AcceptInvitationForm(NewPasswordForm):
    name = StringField(_l("Ihr Name"), validators=[_required(), _max(200)], render_kw={"autocomplete": "name"})


class RegisterOrganisationForm(FlaskForm):
    name = StringField(_l("Name des Trägers"), validators=[_required(), _max(200)], render_kw={"autocomplete": "organization"})
    legal_form = StringField(_l("Rechtsform"), validators=[_required(), _max(100)])
    street = StringField(_l("Straße und Hausnummer"), validators=[_required(), _max(200)], render_kw={"autocomplete": "street-address"})
    postcode = StringField(_l("Postleitzahl"), validators=[_required(), _max(10)], render_kw={"autocomplete": "postal-code"})
    city = StringField(_l("Ort"), validators=[_required(), _max(100)], render_kw={"autocomplete": "address-level2"})
    contact_email = _email_field(_l("E-Mail-Adresse des Trägers"))
    phone = StringField(_l("Telefon (freiwillig)"), validators=[Optional(), _max(50)], render_kw={"autocomplete": "tel"})
    register_number = StringField(_l("Registernummer (freiwillig)"), validators=[Optional(), _max(100)])
    migration_work = TextAreaField(_l("Bisherige Arbeit in der Migrationsberatung"), validators=[_required(), _max(5000)])
    person_name = StringField(_l("Ihr Name"), validators=[_required(), _max(200)], render_kw={"autocomplete": "name"})
    email = _email_field(_l("Ihre E-Mail-Adresse (für die Anmeldung)"))
    password = _password_field(_l("Passwort"))
    password_repeat = _repeat_field("password")


class EditOrganisationForm(FlaskForm):
    street = RegisterOrganisationForm.street
    postcode = RegisterOrganisationForm.postcode
    city = RegisterOrganisationForm.city
    contact_email = RegisterOrganisationForm.contact_email
    phone = RegisterOrganisationForm.phone
    register_number = RegisterOrganisationForm.register_number
    migration_work = RegisterOrganisationForm.migration_work


class InviteMemberForm(FlaskForm):
    email = _email_field(_l("E-Mail-Adresse der Kollegin oder des Kollegen"))


class InviteStaffForm(FlaskForm):
    email = _email_field()
    roles = MultiCheckboxField(_l("Rollen"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()])


class RolesForm(FlaskForm):
    roles = MultiCheckboxField(_l("Rollen"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()])


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Entscheidung"),
        choices=[SelectChoice("verify", _l("Freischalten")), SelectChoice("reject", _l("Ablehnen"))],
        validators=[InputRequired(message=_l("Bitte wählen Sie eine Entscheidung."))],
    )
    reason = TextAreaField(_l("Begründung (bei Ablehnung Pflicht, der Träger sieht sie)"), validators=[Optional(), _max(2000)])


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Sprache der Oberfläche und der E-Mails"), choices=[SelectChoice("de", "Deutsch"), SelectChoice("en", "English")])
    notify_by_email = BooleanField(_l("E-Mails zu neuen Aufrufen, Änderungen und Antworten auf Fragen erhalten"))


class ReauthenticateForm(FlaskForm):
    password = _password_field(_l("Passwort"), "current-password")
    code = StringField(_l("Code aus der Authenticator-App oder Wiederherstellungscode"), validators=[Optional(), _max(20)],
                       render_kw={"autocomplete": "one-time-code"})


class ChangePasswordForm(FlaskForm):
    new_password = _password_field(_l("Neues Passwort"))
    password_repeat = _repeat_field("new_password")


class ChangeEmailForm(FlaskForm):
    email = _email_field(_l("Neue E-Mail-Adresse"))
