"""German names of audit actions for timelines and the administrator view.

Domains add the labels of their public actions here next to their section in
`portal.audit.actions`; an action without a label is shown by its code.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.actions import AuditAction

LABELS = {
    AuditAction.DEMO_LOADED: _l("Demodaten geladen"),
    AuditAction.ADMIN_CREATED: _l("Administrationskonto angelegt"),
    AuditAction.USER_CREATED: _l("Konto angelegt"),
    AuditAction.ORGANISATION_REGISTERED: _l("Träger registriert"),
    AuditAction.ORGANISATION_VERIFIED: _l("Träger bestätigt"),
    AuditAction.AUDIT_LOG_EXPORTED: _l("Protokoll exportiert"),
    # calls: the public steps of a call's trail
    AuditAction.CALL_PUBLISHED: _l("Aufruf veröffentlicht"),
    AuditAction.CALL_AMENDED: _l("Änderungsbekanntmachung veröffentlicht"),
    AuditAction.CALL_SUBMISSION_CLOSED: _l("Frist für Interessenbekundungen abgelaufen"),
    AuditAction.CALL_STATE_CHANGED: _l("Verfahrensschritt des Aufrufs"),
    AuditAction.CALL_CANCELLED: _l("Aufruf aufgehoben"),
    AuditAction.CALL_DOCUMENT_ADDED: _l("Dokument veröffentlicht"),
    AuditAction.CALL_DOCUMENT_REPLACED: _l("Dokument ersetzt"),
    AuditAction.QUESTION_ANSWERED: _l("Frage mit Antwort veröffentlicht"),
    # consultation: the public steps of a consultation's trail
    AuditAction.CONSULTATION_DOCUMENT_ADDED: _l("Dokument zur Beteiligung veröffentlicht"),
    AuditAction.CONSULTATION_OPENED: _l("Beteiligung eröffnet"),
    AuditAction.CONSULTATION_CLOSED: _l("Frist für Stellungnahmen beendet"),
    AuditAction.CONSULTATION_EVALUATED: _l("Abwägung veröffentlicht"),
    AuditAction.CONSULTATION_REPORT_PUBLISHED: _l("Beteiligungsbericht veröffentlicht"),
    AuditAction.CONSULTATION_VERSION_PUBLISHED: _l("Überarbeiteter Entwurf veröffentlicht"),
    AuditAction.COMMENT_HIDDEN: _l("Stellungnahme ausgeblendet"),
    AuditAction.COMMENT_UNHIDDEN: _l("Stellungnahme wieder eingeblendet"),
    # awards: the public steps of the outcome
    AuditAction.AWARD_POLICY_CHANGED: _l("Einstellungen zur Vergabe geändert"),
    AuditAction.AWARD_PROPOSED: _l("Vergabe vorgeschlagen"),
    AuditAction.AWARD_RETURNED: _l("Vergabevorschlag zurückgegeben"),
    AuditAction.AWARD_APPROVED: _l("Vergabeentscheidung für ein Los freigegeben"),
    AuditAction.AWARD_LETTERS_SENT: _l("Informationsschreiben versandt, Stillhaltefrist begonnen"),
    AuditAction.AWARD_LETTER_READ: _l("Schreiben im Portal gelesen"),
    AuditAction.AWARD_STANDSTILL_ENDED: _l("Stillhaltefrist abgelaufen"),
    AuditAction.AWARD_NOTICE_PUBLISHED: _l("Vergabebekanntmachung veröffentlicht"),
    AuditAction.CANCELLATION_LETTERS_SENT: _l("Schreiben zur Aufhebung versandt"),
    AuditAction.OBJECTION_LODGED: _l("Rüge erhoben"),
    AuditAction.OBJECTION_ANSWERED: _l("Rüge beantwortet"),
}


def action_label(action: str) -> str:
    try:
        label = LABELS.get(AuditAction(action))
    except ValueError:
        label = None
    return str(label) if label is not None else action
