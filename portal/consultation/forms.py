"""Forms of the consultation pages. Business rules live in the services;
the forms only turn input into values (and Berlin wall-clock times into UTC)."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from portal.consultation.models import COMMENT_MAX_LENGTH, HIDE_REASON_LABELS, RESPONSE_STATE_LABELS
from portal.core.time import AmbiguousLocalTime, NonexistentLocalTime, from_berlin


class BerlinDateTimeField(DateTimeLocalField):
    """A date and time entered as Europe/Berlin wall-clock time; `.utc` holds the instant."""

    utc: datetime | None = None

    def pre_validate(self, form: FlaskForm) -> None:
        self.utc = None
        if self.data is None:
            return
        try:
            self.utc = from_berlin(self.data)
        except NonexistentLocalTime:
            raise ValidationError(_l("Diese Uhrzeit gibt es wegen der Umstellung auf Sommerzeit an diesem Tag nicht. Bitte wählen Sie eine andere Uhrzeit.")) from None
        except AmbiguousLocalTime:
            raise ValidationError(_l("Diese Uhrzeit gibt es wegen der Umstellung auf Winterzeit an diesem Tag zweimal. Bitte wählen Sie eine andere Uhrzeit.")) from None


_DATE_MESSAGE = _l("Bitte geben Sie Datum und Uhrzeit an (TT.MM.JJJJ, HH:MM).")


class ConsultationForm(FlaskForm):
    title = StringField(_l("Titel"), validators=[InputRequired(_l("Bitte geben Sie einen Titel ein."))])
    summary = TextAreaField(_l("Kurzbeschreibung"))
    source = TextAreaField(_l("Entwurf (Markdown)"), validators=[InputRequired(_l("Bitte fügen Sie den Entwurf ein."))])
    opens_at = BerlinDateTimeField(_l("Beginn der Frist"), validators=[InputRequired(_DATE_MESSAGE)])
    closes_at = BerlinDateTimeField(_l("Ende der Frist"), validators=[InputRequired(_DATE_MESSAGE)])
    allow_organisations = BooleanField(_l("Bestätigte Träger und Organisationen"), default=True)
    allow_council_groups = BooleanField(_l("Kreistagsfraktionen"), default=True)
    allow_public = BooleanField(_l("Alle registrierten Personen"))


class DocumentForm(FlaskForm):
    document = FileField(_l("PDF-Dokument"))


class CommentForm(FlaskForm):
    section = SelectField(_l("Worauf bezieht sich Ihre Stellungnahme?"), choices=[], validate_choice=False)
    author = RadioField(_l("Sie nehmen Stellung als"), choices=[], validate_choice=False)
    council_group = StringField(_l("Name der Fraktion"))
    show_name = BooleanField(_l("Meinen Namen öffentlich anzeigen (sonst erscheint „Privatperson“)"))
    body = TextAreaField(_l("Ihre Stellungnahme"))
    attachment = FileField(_l("PDF-Anlage (freiwillig)"))

    max_length = COMMENT_MAX_LENGTH


class EditCommentForm(FlaskForm):
    body = TextAreaField(_l("Ihre Stellungnahme"))
    max_length = COMMENT_MAX_LENGTH


class HideForm(FlaskForm):
    reason = RadioField(_l("Grund"), choices=[SelectChoice(k.value, v) for k, v in HIDE_REASON_LABELS.items()], validate_choice=False)
    note = TextAreaField(_l("Erläuterung (wird veröffentlicht)"))


class UnhideForm(FlaskForm):
    reason = TextAreaField(_l("Begründung (wird veröffentlicht)"))


class ResponseForm(FlaskForm):
    state = RadioField(_l("Ergebnis der Abwägung"), choices=[SelectChoice(k.value, v) for k, v in RESPONSE_STATE_LABELS.items()], validate_choice=False)
    reason = TextAreaField(_l("Begründung"))
    changed_section = SelectField(_l("Geänderter Abschnitt der überarbeiteten Fassung (freiwillig)"), choices=[], validate_choice=False, validators=[Optional()])


class VersionForm(FlaskForm):
    source = TextAreaField(_l("Überarbeiteter Entwurf (Markdown)"))
    note = TextAreaField(_l("Was hat sich geändert?"))
