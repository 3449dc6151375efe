"""German names of the review's audit actions for the administrator's log view."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.actions import AuditAction

LABELS = {
    AuditAction.REVIEWER_ASSIGNED: _l("Gutachter:in beauftragt"),
    AuditAction.REVIEWER_REMOVED: _l("Gutachter:in entfernt"),
    AuditAction.REVIEW_CHAIR_NAMED: _l("Vorsitz des Gremiums benannt"),
    AuditAction.CONFLICT_DECLARED: _l("Befangenheitserklärung abgegeben"),
    AuditAction.ELIGIBILITY_DECIDED: _l("Eignung festgestellt"),
    AuditAction.REVIEW_SUBMITTED: _l("Bewertung abgeschlossen"),
    AuditAction.REVIEW_REOPENED: _l("Bewertung wieder geöffnet"),
    AuditAction.SCORE_CONSOLIDATED: _l("Bewertung konsolidiert"),
    AuditAction.CONSOLIDATION_CLOSED: _l("Konsolidierung abgeschlossen"),
    AuditAction.RANKING_FIXED: _l("Rangfolge festgehalten"),
    AuditAction.TIE_DRAW_RECORDED: _l("Losentscheid festgehalten"),
    AuditAction.REVIEW_ACCESS_REFUSED: _l("Zugriff auf Bewertungen verweigert"),
    AuditAction.SCORES_EXPORTED: _l("Bewertungen exportiert"),
}


def register() -> None:
    from portal.audit import labels

    for action, label in LABELS.items():
        labels.LABELS.setdefault(action, label)
