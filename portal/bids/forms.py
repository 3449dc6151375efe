"""Forms for drafting, submitting, withdrawing and opening bids."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional


class DraftFormBase(FlaskForm):
    contact_name = StringField(_l("Name der Ansprechperson"), validators=[Optional(), Length(max=200)])
    contact_email = StringField(
        _l("E-Mail-Adresse der Ansprechperson"),
        validators=[Optional(), Email(message=_l("Bitte geben Sie eine gültige E-Mail-Adresse an, z. B. name@traeger.de."), check_deliverability=False)],
    )
    contact_phone = StringField(_l("Telefon der Ansprechperson (freiwillig)"), validators=[Optional(), Length(max=50)])
    attachment = FileField(_l("Weiterer Anhang (PDF)"))
    attachment_title = StringField(_l("Titel des Anhangs"), validators=[Optional(), Length(max=200)])


def draft_form_class(scored: list[Any], eligible: list[Any]) -> type[DraftFormBase]:
    """A form with one answer per scored criterion and a declaration and evidence per eligibility criterion."""
    fields: dict[str, Any] = {}
    for criterion in scored:
        fields[f"answer_{criterion.id}"] = TextAreaField(criterion.title, validators=[Optional()])
    for criterion in eligible:
        fields[f"declaration_{criterion.id}"] = BooleanField(
            _l("Ich erkläre, dass unser Träger dieses Kriterium erfüllt: %(title)s", title=criterion.title)
        )
        fields[f"evidence_{criterion.id}"] = FileField(_l("Nachweis zu „%(title)s“ (PDF)", title=criterion.title))
    return type("DraftForm", (DraftFormBase,), fields)


class StartForm(FlaskForm):
    lot = SelectField(_l("Los"), coerce=int, validators=[InputRequired(message=_l("Bitte wählen Sie ein Los."))])
    organisation = SelectField(_l("Träger"), coerce=int, validators=[InputRequired(message=_l("Bitte wählen Sie den Träger."))])


class CopyForm(FlaskForm):
    source = SelectField(_l("Übernehmen aus"), coerce=int)


class SubmitForm(FlaskForm):
    fingerprint = HiddenField()
    confirm = BooleanField(
        _l("Ich habe die Zusammenfassung geprüft und reiche die Interessenbekundung verbindlich ein."),
        validators=[DataRequired(message=_l("Bitte bestätigen Sie, dass Sie die Zusammenfassung geprüft haben."))],
    )


class WithdrawForm(FlaskForm):
    confirm = BooleanField(
        _l("Ich ziehe die Interessenbekundung verbindlich zurück."),
        validators=[DataRequired(message=_l("Bitte bestätigen Sie die Rücknahme."))],
    )


class OpeningForm(FlaskForm):
    confirm = BooleanField(
        _l("Ich bestätige, dass die Frist abgelaufen ist und die Interessenbekundungen geöffnet werden."),
        validators=[DataRequired(message=_l("Bitte bestätigen Sie die Öffnung."))],
    )
