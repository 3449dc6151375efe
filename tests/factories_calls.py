"""Factories for calls: `make_call(**overrides)`, `make_lot`, `make_criteria`, `make_question`.

They write through the models (fast, any state); tests of the services call
the services. Deadlines are relative to `now()`, so they work with the frozen
`clock` fixture too. `make_call(published=True)` gives an open call that the
bids and review tests can use directly.
"""
from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from portal.calls.models import TIE_BREAK_LOT, Call, CallState, Criterion, CriterionKind, Lot, Question, QuestionState
from portal.core.time import now
from portal.extensions import db

_counter = itertools.count(1)

KIM_WEIGHTS = (("K1", 30), ("K2", 25), ("K3", 20), ("K4", 15), ("K5", 10))
SCALE_0_5 = {"0": "nicht erfüllt", "1": "kaum erfüllt", "2": "teilweise erfüllt", "3": "erfüllt", "4": "gut erfüllt", "5": "sehr gut erfüllt"}


def make_call(*, lots: int = 2, criteria: bool = True, published: bool = False, **overrides: Any) -> Call:
    n = next(_counter)
    fields: dict[str, Any] = dict(
        reference=f"TEST-{n:04d}",
        title=f"Aufruf {n}: Case Management",
        summary="Kurzbeschreibung des Aufrufs.",
        description="Beschreibung mit **Markdown**.",
        funding_note="Landesmittel.",
        contact="Vergabestelle, vergabe@example.org",
        question_deadline=now() + timedelta(days=14),
        submission_deadline=now() + timedelta(days=28),
        decision_planned_on=(now() + timedelta(days=40)).date(),
        standstill_days=10,
        scale_min=0,
        scale_max=5,
        scale_labels=dict(SCALE_0_5),
        formula_text="Summe über die Kriterien (Gewicht × Punkte / 5).",
        tie_break_text="Höhere Punktzahl in K1, dann K2, dann das Los.",
        tie_break=["K1", "K2", TIE_BREAK_LOT],
    )
    if published:
        fields.update(state=CallState.PUBLISHED, published_at=now())
    fields.update(overrides)
    call = Call(**fields)
    db.session.add(call)
    db.session.flush()
    for number in range(1, lots + 1):
        make_lot(call, number=number)
    if criteria:
        make_criteria(call)
    db.session.commit()
    return call


def make_lot(call: Call, **overrides: Any) -> Lot:
    number = overrides.pop("number", len(call.lots) + 1)
    fields: dict[str, Any] = dict(
        number=number, title=f"Region {number}", region=f"Region {number}",
        municipalities=[f"Gemeinde {number}a", f"Gemeinde {number}b"], positions=Decimal("1.0"), budget=None, description="",
    )
    fields.update(overrides)
    lot = Lot(**fields)
    call.lots.append(lot)
    db.session.flush()
    return lot


def make_criteria(call: Call, *, lot: Lot | None = None, weights: tuple[tuple[str, int], ...] = KIM_WEIGHTS,
                  eligibility: int = 2) -> list[Criterion]:
    made = []
    for i in range(1, eligibility + 1):
        made.append(Criterion(kind=CriterionKind.ELIGIBILITY, code=f"E{i}", title=f"Eignung {i}", description="",
                              evidence="Nachweis als PDF", weight=None, position=i, lot_id=lot.id if lot else None))
    for i, (code, weight) in enumerate(weights, start=1):
        made.append(Criterion(kind=CriterionKind.SCORED, code=code, title=f"Kriterium {code}", description="",
                              evidence="", weight=Decimal(weight), position=i, lot_id=lot.id if lot else None))
    call.criteria.extend(made)
    db.session.flush()
    return made


def make_question(call: Call, organisation: Any, user: Any, *, text: str = "Wie viele Stellen hat Los 1?",
                  answer: str | None = None, **overrides: Any) -> Question:
    fields: dict[str, Any] = dict(call_id=call.id, organisation_id=organisation.id, asked_by_id=user.id,
                                  asked_at=now(), original_text=text, public_text=text)
    if answer is not None:
        number = max((q.number or 0 for q in call.questions), default=0) + 1
        fields.update(state=QuestionState.PUBLISHED, answer=answer, answered_at=now(), number=number)
    fields.update(overrides)
    question = Question(**fields)
    db.session.add(question)
    db.session.commit()
    return question
