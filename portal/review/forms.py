"""Forms of the review pages. Per-criterion forms are built for the lot's criteria.

Range and length rules live in the services (the one place that decides);
the forms only collect, so that a refused form keeps everything typed.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.review.models import ConflictKind

KIND_LABELS = {
    ConflictKind.MEMBERSHIP: _l("Mitgliedschaft (z. B. im Vorstand oder Verein)"),
    ConflictKind.EMPLOYMENT: _l("Beschäftigung oder Beratung (auch früher oder in Aussicht)"),
    ConflictKind.FAMILY: _l("familiäre oder persönliche Nähe"),
    ConflictKind.OTHER: _l("anderer Grund"),
}


def _kind_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("– bitte wählen –"))] + [SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()]


def scale_choices(call: Any) -> list[SelectChoice]:
    labels = call.scale_labels or {}
    return [
        SelectChoice(str(p), f"{p} – {labels[str(p)]}" if labels.get(str(p)) else str(p))
        for p in range(call.scale_min, call.scale_max + 1)
    ]


def declaration_form_class(organisations: list[Any]) -> type[FlaskForm]:
    """One "conflict / no conflict" choice, kind and reason per bidding organisation."""
    fields: dict[str, Any] = {}
    for organisation in organisations:
        fields[f"decision_{organisation.id}"] = RadioField(
            organisation.name,
            choices=[SelectChoice("none", _l("Ich bin nicht befangen.")), SelectChoice("conflict", _l("Ich bin befangen."))],
            validators=[InputRequired(message=_l("Bitte erklären Sie, ob Sie befangen sind."))],
        )
        fields[f"kind_{organisation.id}"] = SelectField(_l("Art der Befangenheit"), choices=_kind_choices(),
                                                        validators=[Optional()])
        fields[f"reason_{organisation.id}"] = TextAreaField(_l("Worin besteht die Befangenheit?"),
                                                            validators=[Optional(), Length(max=2000)])
    fields["confirm"] = BooleanField(
        _l("Ich versichere, dass meine Angaben vollständig und richtig sind. Stelle ich später eine Befangenheit "
           "fest, erkläre ich sie sofort."),
        validators=[DataRequired(message=_l("Bitte bestätigen Sie Ihre Erklärung."))],
    )
    return type("DeclarationForm", (FlaskForm,), fields)


class LaterConflictForm(FlaskForm):
    organisation = SelectField(_l("Träger"), coerce=int,
                               validators=[InputRequired(message=_l("Bitte wählen Sie den Träger."))])
    kind = SelectField(_l("Art der Befangenheit"), validators=[Optional()])
    reason = TextAreaField(_l("Worin besteht die Befangenheit?"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = _kind_choices()


def score_form_class(call: Any, criteria: list[Any]) -> type[FlaskForm]:
    """Points on the published scale and a justification per scored criterion."""
    fields: dict[str, Any] = {}
    for criterion in criteria:
        fields[f"points_{criterion.id}"] = RadioField(
            _l("Punkte für %(code)s", code=criterion.code), choices=scale_choices(call), validate_choice=False,
        )
        fields[f"justification_{criterion.id}"] = TextAreaField(_l("Begründung zu %(code)s", code=criterion.code))
    return type("ScoreForm", (FlaskForm,), fields)


def eligibility_form_class(criteria: list[Any]) -> type[FlaskForm]:
    fields: dict[str, Any] = {}
    for criterion in criteria:
        fields[f"met_{criterion.id}"] = RadioField(
            f"{criterion.code} – {criterion.title}",
            choices=[SelectChoice("met", _l("erfüllt")), SelectChoice("not_met", _l("nicht erfüllt"))],
            validators=[InputRequired(message=_l("Bitte stellen Sie fest, ob das Kriterium erfüllt ist."))],
        )
        fields[f"reason_{criterion.id}"] = TextAreaField(_l("Begründung zu %(code)s", code=criterion.code))
    return type("EligibilityForm", (FlaskForm,), fields)


def consolidation_form_class(call: Any, criteria: list[Any]) -> type[FlaskForm]:
    fields: dict[str, Any] = {}
    for criterion in criteria:
        fields[f"points_{criterion.id}"] = SelectField(
            _l("Konsolidierte Punkte für %(code)s", code=criterion.code),
            choices=[SelectChoice("", _l("– bitte wählen –")), *scale_choices(call)], validate_choice=False,
        )
        fields[f"reason_{criterion.id}"] = TextAreaField(_l("Begründung zu %(code)s", code=criterion.code))
    return type("ConsolidationForm", (FlaskForm,), fields)


class ConfirmForm(FlaskForm):
    """Submit a review, close a consolidation: one confirmation checkbox."""

    confirm = BooleanField(validators=[DataRequired(message=_l("Bitte bestätigen Sie diesen Schritt."))])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Begründung"), validators=[Optional(), Length(max=2000)])


class PanelForm(FlaskForm):
    lot = SelectField(_l("Los"), coerce=int, validators=[InputRequired(message=_l("Bitte wählen Sie ein Los."))])
    user_id = SelectField(_l("Gutachter:in"), coerce=int,
                          validators=[InputRequired(message=_l("Bitte wählen Sie eine Person."))])


class ChairForm(FlaskForm):
    user_id = SelectField(_l("Vorsitz"), coerce=int,
                          validators=[InputRequired(message=_l("Bitte wählen Sie eine Person."))])


class EmptyForm(FlaskForm):
    """A button that only needs the CSRF token."""


def draw_form_class(size: int) -> type[FlaskForm]:
    fields: dict[str, Any] = {
        f"place_{i}": SelectField(_l("Platz %(n)s nach der Ziehung", n=i), coerce=int)
        for i in range(1, size + 1)
    }
    fields["witness"] = StringField(_l("Anwesend bei der Ziehung (Name, Funktion)"),
                                    validators=[Optional(), Length(max=200)])
    return type("DrawForm", (FlaskForm,), fields)
