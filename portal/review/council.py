"""Review progress for the council view (`portal.observer.figures`, section "review").

Figures only, per lot: reviewers assigned, conflict declarations made (and how
many declared a conflict), reviews submitted and outstanding, whether the
consolidation is closed. Never scores, reasons, names or bid contents.
Four grouped queries for all calls shown.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from portal.extensions import db
from portal.observer.figures import Figure, register_figures
from portal.review.models import ConflictDeclaration, LotReview, PanelRole, ReviewAssignment


def review_figures(calls: Sequence[Any]) -> dict[int, list[Figure]]:
    ids = [c.id for c in calls]
    if not ids:
        return {}
    assigned = {lot_id: (total, submitted) for lot_id, total, submitted in db.session.execute(
        select(ReviewAssignment.lot_id, func.count(), func.count(ReviewAssignment.submitted_at))
        .where(ReviewAssignment.call_id.in_(ids), ReviewAssignment.role == PanelRole.REVIEWER)
        .group_by(ReviewAssignment.lot_id)
    )}
    if not assigned:
        return {}
    declared = {lot_id: (total, conflicts) for lot_id, total, conflicts in db.session.execute(
        select(ConflictDeclaration.lot_id, func.count(), func.sum(case((ConflictDeclaration.conflict, 1), else_=0)))
        .where(ConflictDeclaration.call_id.in_(ids))
        .group_by(ConflictDeclaration.lot_id)
    )}
    closed = set(db.session.scalars(
        select(LotReview.lot_id).where(LotReview.call_id.in_(ids), LotReview.closed_at.is_not(None))
    ))
    result: dict[int, list[Figure]] = {}
    for call in calls:
        figures = []
        for lot in call.lots:
            if lot.id not in assigned:
                continue
            total, submitted = assigned[lot.id]
            declarations, conflicts = declared.get(lot.id, (0, 0))
            figures += [
                Figure(str(_l("Gutachterinnen und Gutachter")), total, lot.number),
                Figure(str(_l("Erklärungen zur Befangenheit")), str(_l("%(n)s, davon %(c)s mit Befangenheit",
                                                                       n=declarations, c=int(conflicts or 0))), lot.number),
                Figure(str(_l("Bewertungen abgegeben")), str(_l("%(done)s von %(total)s (offen: %(open)s)", done=submitted,
                                                                total=total, open=total - submitted)), lot.number),
                Figure(str(_l("Konsolidierung")), str(_l("abgeschlossen") if lot.id in closed else _l("offen")), lot.number),
            ]
        if figures:
            result[call.id] = figures
    return result


def register() -> None:
    register_figures("review", review_figures)
