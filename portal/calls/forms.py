"""Forms for officers (calls, lots, criteria, documents, amendments) and bidders (questions).

Deadlines are typed as Europe/Berlin wall-clock time and turned into UTC by
`BerlinDateTimeField`, which refuses times that do not exist or exist twice
on the days the clocks change. Decimals accept the German comma.
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms.fields.choices import SelectChoice
from wtforms import DateField, Field, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from portal.calls.models import TIE_BREAK_LOT, Call, CriterionKind
from portal.core.time import AmbiguousLocalTime, NonexistentLocalTime, from_berlin, to_berlin

LOT_WORDS = {"los", "lot", "losentscheid"}


def lot_choices(call: Call, everything: Any) -> list[SelectChoice]:
    """'' for the whole call, then one choice per lot."""
    return [SelectChoice("", str(everything))] + [
        SelectChoice(str(lot.id), str(_l("Los %(n)s: %(title)s", n=lot.number, title=lot.title))) for lot in call.lots
    ]


def required(message: Any) -> DataRequired:
    return DataRequired(message=message)


class BerlinDateTimeField(Field):
    """`<input type="datetime-local">` in Europe/Berlin; `data` is aware UTC."""

    widget_type = "datetime-local"
    FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M")

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        from wtforms.widgets import DateTimeLocalInput

        super().__init__(label, validators, widget=DateTimeLocalInput(), **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        return to_berlin(self.data).strftime("%Y-%m-%dT%H:%M") if self.data else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            self.data = None
            return
        for fmt in self.FORMATS:
            try:
                local = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            self.data = None
            raise ValueError(_l("Bitte geben Sie Datum und Uhrzeit an, z. B. 05.08.2026 12:00."))
        try:
            self.data = from_berlin(local)
        except NonexistentLocalTime as exc:
            self.data = None
            raise ValueError(_l("Diese Uhrzeit gibt es am %(day)s wegen der Umstellung auf Sommerzeit nicht. "
                                "Bitte wählen Sie eine andere Uhrzeit, z. B. 12:00.", day=local.strftime("%d.%m.%Y"))) from exc
        except AmbiguousLocalTime as exc:
            self.data = None
            raise ValueError(_l("Diese Uhrzeit gibt es am %(day)s wegen der Umstellung auf Winterzeit zweimal. "
                                "Bitte wählen Sie eine eindeutige Uhrzeit.", day=local.strftime("%d.%m.%Y"))) from exc


class GermanDecimalField(StringField):
    """A decimal number that accepts "1,5" as well as "1.5"."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data.normalize():f}".replace(".", ",") if self.data is not None else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        text = (valuelist[0] if valuelist else "").strip().replace(" ", "")
        if not text:
            self.data = None
            return
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            self.data = Decimal(text)
        except InvalidOperation as exc:
            self.data = None
            raise ValueError(_l("Bitte geben Sie eine Zahl an, z. B. 1,5.")) from exc
        if not self.data.is_finite() or self.data.as_tuple().exponent < -2:  # type: ignore[operator]
            self.data = None
            raise ValueError(_l("Bitte geben Sie eine Zahl mit höchstens zwei Nachkommastellen an."))


class CallForm(FlaskForm):
    reference = StringField(_l("Aktenzeichen"), validators=[
        required(_l("Bitte geben Sie das Aktenzeichen an.")), Length(max=40),
        Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", message=_l("Bitte nur Buchstaben ohne Umlaute, Ziffern, Punkt, Binde- und Unterstrich verwenden (z. B. KIM-2026-01).")),
    ])
    title = StringField(_l("Titel"), validators=[required(_l("Bitte geben Sie einen Titel an.")), Length(max=300)])
    summary = TextAreaField(_l("Kurzbeschreibung"), validators=[Length(max=2000)])
    description = TextAreaField(_l("Beschreibung"), validators=[Length(max=50000)])
    funding_note = TextAreaField(_l("Förderung"), validators=[Length(max=5000)])
    contact = TextAreaField(_l("Kontakt"), validators=[Length(max=2000)])
    question_deadline = BerlinDateTimeField(_l("Frist für Fragen"), validators=[Optional()])
    submission_deadline = BerlinDateTimeField(_l("Frist für Interessenbekundungen"), validators=[Optional()])
    decision_planned_on = DateField(_l("Geplante Entscheidung"), validators=[Optional()])
    standstill_days = IntegerField(_l("Stillhaltefrist in Kalendertagen"), default=10, validators=[
        InputRequired(_l("Bitte geben Sie die Stillhaltefrist an.")), NumberRange(min=0, max=60, message=_l("Bitte 0 bis 60 Tage angeben."))])
    scale_min = IntegerField(_l("Niedrigster Punktwert"), default=0, validators=[InputRequired(_l("Bitte angeben.")), NumberRange(min=0, max=100)])
    scale_max = IntegerField(_l("Höchster Punktwert"), default=5, validators=[InputRequired(_l("Bitte angeben.")), NumberRange(min=1, max=100)])
    scale_labels = TextAreaField(_l("Beschreibung der Punktwerte"))
    formula_text = TextAreaField(_l("Formel in Worten"))
    tie_break_text = TextAreaField(_l("Regel bei Gleichstand in Worten"))
    tie_break = StringField(_l("Reihenfolge bei Gleichstand"))
    consultation_id = SelectField(_l("Vorausgegangene Beteiligung"), coerce=str, choices=[], default="")

    def set_consultations(self, consultations: Any) -> None:
        """Offer every consultation (drafts too: the call is a draft as well)."""
        self.consultation_id.choices = [SelectChoice("", str(_l("keine")))] + [
            SelectChoice(str(c.id), f"{c.title} ({c.state.label})") for c in consultations
        ]

    def validate_scale_labels(self, field: Field) -> None:
        parse_scale_labels(field.data or "")

    def validate_scale_max(self, field: Field) -> None:
        if self.scale_min.data is not None and field.data is not None and field.data <= self.scale_min.data:
            raise ValueError(_l("Die Skala braucht mindestens zwei Punkte: der höchste Wert muss größer als der niedrigste sein."))

    def fill_from(self, call: Call) -> None:
        self.scale_labels.data = "\n".join(f"{k} = {v}" for k, v in sorted((call.scale_labels or {}).items(), key=lambda kv: int(kv[0])))
        self.tie_break.data = ", ".join("Los" if s == TIE_BREAK_LOT else s for s in call.tie_break or [])
        self.consultation_id.data = str(call.consultation_id) if call.consultation_id else ""

    def values(self) -> dict[str, Any]:
        return {
            "reference": self.reference.data.strip(),
            "title": self.title.data.strip(),
            **{k: (getattr(self, k).data or "").strip() for k in ("summary", "description", "funding_note", "contact", "formula_text", "tie_break_text")},
            "question_deadline": self.question_deadline.data,
            "submission_deadline": self.submission_deadline.data,
            "decision_planned_on": self.decision_planned_on.data,
            "standstill_days": self.standstill_days.data,
            "scale_min": self.scale_min.data,
            "scale_max": self.scale_max.data,
            "scale_labels": parse_scale_labels(self.scale_labels.data or ""),
            "tie_break": parse_tie_break(self.tie_break.data or ""),
            "consultation_id": int(self.consultation_id.data) if self.consultation_id.data else None,
        }


def parse_scale_labels(text: str) -> dict[str, str]:
    """'0 = nicht erfüllt' per line -> {"0": "nicht erfüllt"}."""
    labels: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = re.match(r"^\s*(\d+)\s*[=:]\s*(.+?)\s*$", line)
        if not match:
            raise ValueError(_l("Zeile %(n)s: bitte in der Form „3 = erfüllt“ schreiben.", n=number))
        labels[str(int(match.group(1)))] = match.group(2)
    return labels


def parse_tie_break(text: str) -> list[str]:
    steps = [s.strip() for s in re.split(r"[,;\n]", text) if s.strip()]
    return [TIE_BREAK_LOT if s.lower() in LOT_WORDS else s for s in steps]


class LotForm(FlaskForm):
    number = IntegerField(_l("Nummer"), validators=[InputRequired(_l("Bitte geben Sie die Nummer des Loses an.")), NumberRange(min=1, max=999)])
    title = StringField(_l("Titel"), validators=[required(_l("Bitte geben Sie einen Titel an.")), Length(max=200)])
    region = StringField(_l("Region"), validators=[Length(max=200)])
    municipalities = TextAreaField(_l("Kommunen"))
    positions = GermanDecimalField(_l("Stellen (Vollzeitäquivalente)"), validators=[InputRequired(_l("Bitte geben Sie die Zahl der Stellen an."))])
    budget = GermanDecimalField(_l("Budget in Euro (optional)"), validators=[Optional()])
    description = TextAreaField(_l("Beschreibung"), validators=[Length(max=20000)])

    def validate_positions(self, field: Field) -> None:
        if field.data is not None and field.data <= 0:
            raise ValueError(_l("Die Zahl der Stellen muss größer als 0 sein."))

    def validate_budget(self, field: Field) -> None:
        if field.data is not None and field.data < 0:
            raise ValueError(_l("Das Budget darf nicht negativ sein."))

    def values(self) -> dict[str, Any]:
        return {
            "number": self.number.data,
            "title": self.title.data.strip(),
            "region": (self.region.data or "").strip(),
            "municipalities": split_list(self.municipalities.data or ""),
            "positions": self.positions.data,
            "budget": self.budget.data,
            "description": (self.description.data or "").strip(),
        }


def split_list(text: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]


class CriterionForm(FlaskForm):
    kind = RadioField(_l("Art"), choices=[SelectChoice(CriterionKind.SCORED.value, _l("Bewertungskriterium (mit Gewicht)")),
                                          SelectChoice(CriterionKind.ELIGIBILITY.value, _l("Eignungskriterium (erfüllt / nicht erfüllt)"))],
                      default=CriterionKind.SCORED.value, validators=[InputRequired(_l("Bitte wählen Sie die Art."))])
    lot_id = SelectField(_l("Gilt für"), coerce=str, choices=[])
    code = StringField(_l("Kürzel"), validators=[required(_l("Bitte geben Sie ein Kürzel an, z. B. K1.")), Length(max=20)])
    title = StringField(_l("Titel"), validators=[required(_l("Bitte geben Sie einen Titel an.")), Length(max=200)])
    description = TextAreaField(_l("Beschreibung"), validators=[Length(max=5000)])
    evidence = TextAreaField(_l("Verlangter Nachweis (Eignungskriterien)"), validators=[Length(max=5000)])
    weight = GermanDecimalField(_l("Gewicht in Prozent (Bewertungskriterien)"), validators=[Optional()])

    def set_lots(self, call: Call) -> None:
        self.lot_id.choices = lot_choices(call, _l("alle Lose"))

    def validate_weight(self, field: Field) -> None:
        if self.kind.data == CriterionKind.SCORED.value and field.data is None:
            raise ValueError(_l("Bitte geben Sie das Gewicht in Prozent an."))

    def values(self) -> dict[str, Any]:
        kind = CriterionKind(self.kind.data)
        return {
            "kind": kind,
            "lot_id": int(self.lot_id.data) if self.lot_id.data else None,
            "code": self.code.data.strip(),
            "title": self.title.data.strip(),
            "description": (self.description.data or "").strip(),
            "evidence": (self.evidence.data or "").strip(),
            "weight": self.weight.data if kind == CriterionKind.SCORED else None,
        }


class DocumentForm(FlaskForm):
    title = StringField(_l("Bezeichnung"), validators=[required(_l("Bitte geben Sie eine Bezeichnung an.")), Length(max=200)])
    lot_id = SelectField(_l("Gehört zu"), coerce=str, choices=[])
    file = FileField(_l("PDF-Datei"), validators=[FileRequired(_l("Bitte wählen Sie eine PDF-Datei aus."))])


class ReplaceDocumentForm(FlaskForm):
    file = FileField(_l("Neue Fassung (PDF)"), validators=[FileRequired(_l("Bitte wählen Sie eine PDF-Datei aus."))])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Begründung (wird veröffentlicht)"), validators=[required(_l("Bitte geben Sie eine Begründung an.")), Length(max=5000)])


class QuestionForm(FlaskForm):
    organisation_id = SelectField(_l("Im Namen von"), coerce=int, choices=[])
    text = TextAreaField(_l("Ihre Frage"), validators=[required(_l("Bitte geben Sie Ihre Frage ein.")), Length(max=5000)])


class AnswerForm(FlaskForm):
    public_text = TextAreaField(_l("Frage in der veröffentlichten Fassung"), validators=[required(_l("Die veröffentlichte Fassung der Frage darf nicht leer sein."))])
    answer = TextAreaField(_l("Antwort"), validators=[Optional()])


class MergeForm(FlaskForm):
    into = SelectField(_l("Doppelt zu Frage"), coerce=int, choices=[])


class FollowForm(FlaskForm):
    """Only the CSRF token: following and unfollowing are plain buttons."""


def _amendment_field(kind: str, label: str) -> Field:
    if kind == "datetime":
        return BerlinDateTimeField(label, validators=[Optional()])
    if kind == "date":
        return DateField(label, validators=[Optional()])
    if kind == "int":
        return IntegerField(label, validators=[InputRequired(_l("Bitte angeben.")), NumberRange(min=0, max=60)])
    if kind in {"decimal", "decimal_optional"}:
        return GermanDecimalField(label, validators=[Optional()] if kind == "decimal_optional" else [InputRequired(_l("Bitte angeben."))])
    if kind == "line":
        return StringField(label, validators=[Length(max=300)])
    return TextAreaField(label)


def amendment_field_name(path: str) -> str:
    return path.replace(".", "__")


def amendment_form(fields: list[Any], **kwargs: Any) -> FlaskForm:
    """A form with one input per amendable field, prefilled with today's values, and the reason."""

    class AmendmentForm(FlaskForm):
        reason = TextAreaField(_l("Begründung der Änderung (wird veröffentlicht)"),
                               validators=[required(_l("Bitte begründen Sie die Änderung; die Begründung wird veröffentlicht.")), Length(max=5000)])

    data = {}
    for field in fields:
        setattr(AmendmentForm, amendment_field_name(field.path), _amendment_field(field.kind, field.label))
        value = field.value
        data[amendment_field_name(field.path)] = "\n".join(value) if field.kind == "list" else value
    return AmendmentForm(data=data, **kwargs)


def amendment_changes(form: FlaskForm, fields: list[Any]) -> dict[str, Any]:
    changes = {}
    for field in fields:
        value = form[amendment_field_name(field.path)].data
        if field.kind == "list":
            value = split_list(value or "")
        elif field.kind in {"line", "text"}:
            value = (value or "").strip()
        changes[field.path] = value
    return changes
