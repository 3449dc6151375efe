"""Forms for proposing, approving and returning awards, the policy, objections and answers."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.accounts.forms import MultiCheckboxField


class ProposalForm(FlaskForm):
    outcome = RadioField(_l("Entscheidung"), choices=[SelectChoice("ranking", _l("Nach der Rangfolge vergeben")),
                                                     SelectChoice("choice", _l("An die unten gewählte(n) Interessenbekundung(en) vergeben")),
                                                     SelectChoice("no_award", _l("Los nicht vergeben"))],
                         default="ranking", validators=[InputRequired(message=_l("Bitte wählen Sie eine Entscheidung."))])
    winners = MultiCheckboxField(_l("Interessenbekundung(en)"), coerce=int, choices=[], validate_choice=False)
    deviation_reason = TextAreaField(_l("Begründung einer Abweichung von der Rangfolge (wird veröffentlicht)"),
                                     validators=[Optional(), Length(max=5000)])
    no_award_reason = TextAreaField(_l("Begründung, wenn das Los nicht vergeben wird (wird veröffentlicht)"),
                                    validators=[Optional(), Length(max=5000)])
    revision_reason = TextAreaField(_l("Grund der Überarbeitung (nur während der Stillhaltefrist)"),
                                    validators=[Optional(), Length(max=5000)])


class ApprovalForm(FlaskForm):
    pass


class ReturnForm(FlaskForm):
    reason = TextAreaField(_l("Begründung der Rückgabe"),
                           validators=[DataRequired(message=_l("Bitte begründen Sie die Rückgabe.")), Length(max=5000)])


class PolicyForm(FlaskForm):
    several_winners = BooleanField(_l("Ein Los mit mehreren Stellen geht an so viele Träger, wie es ganze Stellen hat"))
    publish_other_bids = BooleanField(_l("In der Bekanntmachung auch die übrigen zugelassenen Interessenbekundungen "
                                         "anonymisiert („Bewerbung B“, „C“ …) mit ihren Punkten zeigen"))


class ObjectionForm(FlaskForm):
    organisation_id = SelectField(_l("Im Namen von"), coerce=int, validators=[InputRequired()])
    text = TextAreaField(_l("Ihre Rüge mit Begründung"),
                         validators=[DataRequired(message=_l("Bitte begründen Sie Ihre Rüge.")), Length(max=20000)])


class AnswerForm(FlaskForm):
    verdict = RadioField(_l("Ergebnis"), choices=[SelectChoice("rejected", _l("Rüge zurückweisen")),
                                                  SelectChoice("upheld", _l("Rüge abhelfen (Vergabe wird überarbeitet)"))],
                         validators=[InputRequired(message=_l("Bitte wählen Sie ein Ergebnis."))])
    answer = TextAreaField(_l("Begründung (wird dem Träger geschickt)"),
                           validators=[DataRequired(message=_l("Bitte begründen Sie die Antwort.")), Length(max=20000)])
