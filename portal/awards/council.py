"""Award decisions for the council view (`portal.observer.figures`, section "decisions").

Per lot only decisions approved by the second officer: award or no award and
the date of approval; during the standstill its end. The winner's name and
total appear only once the award notice is public (they are public then);
before that no name and no score.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.awards.models import AwardDecision, AwardNotice, AwardRound, DecisionOutcome, DecisionState
from portal.calls.models import CallState
from portal.core.i18n import date_berlin, datetime_berlin
from portal.extensions import db
from portal.observer.figures import Figure, register_figures
from portal.review.services import format_decimal


def decision_figures(calls: Sequence[Any]) -> dict[int, list[Figure]]:
    ids = [c.id for c in calls]
    if not ids:
        return {}
    decisions: dict[int, dict[int, AwardDecision]] = {}
    for decision in db.session.scalars(
        select(AwardDecision).where(AwardDecision.call_id.in_(ids), AwardDecision.state == DecisionState.APPROVED)
        .order_by(AwardDecision.id)
    ):
        decisions.setdefault(decision.call_id, {})[decision.lot_id] = decision
    if not decisions:
        return {}
    deciding = list(decisions)
    notices = {n.call_id: n for n in db.session.scalars(select(AwardNotice).where(AwardNotice.call_id.in_(deciding)))}
    rounds: dict[int, AwardRound] = {}
    for award_round in db.session.scalars(select(AwardRound).where(AwardRound.call_id.in_(deciding)).order_by(AwardRound.number)):
        rounds[award_round.call_id] = award_round
    result: dict[int, list[Figure]] = {}
    for call in calls:
        per_lot = decisions.get(call.id)
        if not per_lot:
            continue
        notice = notices.get(call.id) if call.state == CallState.AWARDED else None
        published = {lot["number"]: lot for lot in notice.data["lots"]} if notice else {}
        figures = []
        for lot in call.lots:
            decision = per_lot.get(lot.id)
            if decision is None:
                continue
            outcome = _l("Vergabe") if decision.outcome == DecisionOutcome.AWARD else _l("keine Vergabe")
            figures.append(Figure(str(_l("Entscheidung")), str(_l("%(outcome)s, freigegeben am %(date)s", outcome=outcome,
                                                                   date=date_berlin(decision.approved_at))), lot.number))
            if decision.deviates:
                figures.append(Figure(str(_l("Abweichung von der Rangfolge")), str(_l("ja")), lot.number))
            for winner in published.get(lot.number, {}).get("winners", []):
                figures.append(Figure(str(_l("Zuschlag an")), str(_l("%(name)s (%(total)s Punkte)", name=winner["organisation"],
                                                                     total=format_decimal(Decimal(winner["total"])))), lot.number))
        award_round = rounds.get(call.id)
        if notice is not None:
            figures.append(Figure(str(_l("Vergabebekanntmachung")), datetime_berlin(notice.published_at)))
        elif award_round is not None and call.state == CallState.STANDSTILL:
            figures.append(Figure(str(_l("Stillhaltefrist bis")), datetime_berlin(award_round.standstill_ends_at)))
        result[call.id] = figures
    return result


def register() -> None:
    register_figures("decisions", decision_figures)
