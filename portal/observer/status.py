"""The status of every procedure and consultation, computed once for the page and the PDF.

`build_status(user)` gathers everything in a fixed number of queries (calls
with lots and amendments, openings, bid counts, consultations, comment and
response counts, plus one per registered figure provider), so the dashboard
and the council report can never disagree and stay cheap however many
procedures there are.

What it never contains: bid contents, scores, names of bidding
organisations; the number of bids only after the submission deadline
(`can_view_bid_counts`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.bids.models import Opening
from portal.bids.permissions import can_view_bid_counts
from portal.calls.models import FINAL_STATES, Call, CallState
from portal.calls.state import STATE_LABELS, effective_state
from portal.consultation.models import Comment, Consultation, ConsultationState, Response
from portal.core.time import now
from portal.extensions import db
from portal.observer.figures import Figure, figures_for
from portal.public.ocds import prefetch_bids


@dataclass
class Step:
    label: str
    when: datetime | date
    done: bool


@dataclass
class LotStatus:
    number: int
    title: str
    positions: Decimal
    #: None while the number must not be shown (before the deadline)
    bids: int | None


@dataclass
class CallStatus:
    call: Call
    state: CallState
    state_label: str
    timeline: list[Step]
    next_deadline: Step | None
    lots: list[LotStatus]
    counts_visible: bool
    sections: list[tuple[str, list[Figure]]] = field(default_factory=list)

    @property
    def total_bids(self) -> int | None:
        return sum(lot.bids or 0 for lot in self.lots) if self.counts_visible else None


@dataclass
class ConsultationStatus:
    consultation: Consultation
    state_label: str
    timeline: list[Step]
    next_deadline: Step | None
    comments: int
    answered: int
    report_public: bool


@dataclass
class Status:
    generated_at: datetime
    calls: list[CallStatus]
    consultations: list[ConsultationStatus]


def _is_past(when: datetime | date, at: datetime) -> bool:
    if isinstance(when, datetime):
        return when <= at
    return when < at.date()


def _call_timeline(call: Call, opening: Opening | None, at: datetime) -> list[Step]:
    steps: list[tuple[Any, datetime | date | None]] = [
        (_l("Veröffentlicht"), call.published_at),
        *((_l("Änderungsbekanntmachung Nr. %(number)s", number=a.number), a.published_at) for a in call.amendments),
        (_l("Frist für Fragen"), call.question_deadline),
        (_l("Frist für Interessenbekundungen"), call.submission_deadline),
        (_l("Öffnung durch zwei Personen bestätigt"), opening.confirmed_at if opening else None),
        (_l("Entscheidung geplant"), call.decision_planned_on if call.state not in FINAL_STATES else None),
        (_l("Aufgehoben"), call.cancelled_at),
    ]
    timeline = [Step(str(label), when, _is_past(when, at)) for label, when in steps if when is not None]
    return sorted(timeline, key=lambda s: _as_datetime(s.when, at))


def _as_datetime(when: datetime | date, at: datetime) -> datetime:
    """A planned date sorts at the start of its day."""
    return when if isinstance(when, datetime) else datetime.combine(when, datetime.min.time(), tzinfo=at.tzinfo)


def _next_deadline(call: Call, at: datetime) -> Step | None:
    if call.state in FINAL_STATES:
        return None
    candidates = [
        (_l("Frist für Fragen"), call.question_deadline),
        (_l("Frist für Interessenbekundungen"), call.submission_deadline),
    ]
    upcoming = [Step(str(label), when, False) for label, when in candidates if when is not None and when > at]
    if upcoming:
        return min(upcoming, key=lambda s: s.when)  # type: ignore[arg-type, return-value]
    if call.decision_planned_on is not None and call.decision_planned_on >= at.date():
        return Step(str(_l("Entscheidung geplant")), call.decision_planned_on, False)
    return None


def _call_statuses(user: Any, at: datetime) -> list[CallStatus]:
    calls = list(db.session.scalars(
        select(Call).where(Call.state != CallState.DRAFT)
        .options(selectinload(Call.lots), selectinload(Call.amendments))
        .order_by(Call.submission_deadline.desc(), Call.id.desc())
    ))
    openings = {o.call_id: o for o in db.session.scalars(select(Opening).where(Opening.call_id.in_([c.id for c in calls])))} if calls else {}
    bids = prefetch_bids(calls, include=lambda call: can_view_bid_counts(user, call, at)).bids
    figures = figures_for(calls)
    statuses = []
    for call in calls:
        visible = can_view_bid_counts(user, call, at)
        per_call = bids.get(call.id, [])
        lots = [
            LotStatus(lot.number, lot.title, lot.positions,
                      sum(1 for lot_id, _org, _t in per_call if lot_id == lot.id) if visible else None)
            for lot in call.lots
        ]
        state = effective_state(call, at)
        statuses.append(CallStatus(
            call=call, state=state, state_label=str(STATE_LABELS[state]),
            timeline=_call_timeline(call, openings.get(call.id), at), next_deadline=_next_deadline(call, at),
            lots=lots, counts_visible=visible, sections=figures.get(call.id, []),
        ))
    return statuses


def _consultation_statuses(at: datetime) -> list[ConsultationStatus]:
    consultations = list(db.session.scalars(
        select(Consultation).where(Consultation.state != ConsultationState.DRAFT).order_by(Consultation.opens_at.desc())
    ))
    ids = [c.id for c in consultations]
    visible = Comment.withdrawn_at.is_(None) & Comment.hidden_at.is_(None)
    comments: dict[int, int] = {}
    answered: dict[int, int] = {}
    if ids:
        comments = dict(db.session.execute(  # type: ignore[arg-type]
            select(Comment.consultation_id, func.count()).where(Comment.consultation_id.in_(ids), visible)
            .group_by(Comment.consultation_id)
        ).all())
        answered = dict(db.session.execute(  # type: ignore[arg-type]
            select(Comment.consultation_id, func.count()).join(Response, Response.comment_id == Comment.id)
            .where(Comment.consultation_id.in_(ids), visible).group_by(Comment.consultation_id)
        ).all())
    statuses = []
    for consultation in consultations:
        steps = [
            (_l("Beginn der Beteiligung"), consultation.opens_at),
            (_l("Ende der Beteiligung"), consultation.closes_at),
            (_l("Abwägung veröffentlicht"), consultation.evaluated_at),
            (_l("Bericht veröffentlicht"), consultation.report_published_at),
        ]
        timeline = [Step(str(label), when, when <= at) for label, when in steps if when is not None]
        upcoming = [s for s in timeline[:2] if not s.done and consultation.state in {ConsultationState.OPEN}]
        statuses.append(ConsultationStatus(
            consultation=consultation, state_label=consultation.state.label, timeline=timeline,
            next_deadline=upcoming[0] if upcoming else None,
            comments=comments.get(consultation.id, 0), answered=answered.get(consultation.id, 0),
            report_public=consultation.state == ConsultationState.REPORT_PUBLISHED,
        ))
    return statuses


def build_status(user: Any) -> Status:
    at = now()
    return Status(generated_at=at, calls=_call_statuses(user, at), consultations=_consultation_statuses(at))
