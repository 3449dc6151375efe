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
}


def action_label(action: str) -> str:
    try:
        label = LABELS.get(AuditAction(action))
    except ValueError:
        label = None
    return str(label) if label is not None else action
