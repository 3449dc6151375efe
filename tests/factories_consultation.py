"""Factories for consultations: a consultation in any state, comments, responses."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.accounts.models import User
from portal.consultation import services
from portal.consultation.models import Comment, Consultation, ConsultationState, Response, ResponseState
from portal.core.time import now
from portal.extensions import db

DRAFT_MARKDOWN = """Vorbemerkung zum Entwurf.

# 1 Ziele und Zielgruppe
Das KIM soll die Zusammenarbeit fördern.

# 2 Strategischer Overhead
Vier Planstellen koordinieren das KIM.

## 2.1 Steuerung
Eine Lenkungsgruppe tagt vierteljährlich.

# 3 Case Management in den Kommunen
Sechs Case Manager beraten in den Kommunen.
"""


def make_consultation(
    officer: User,
    *,
    state: ConsultationState = ConsultationState.OPEN,
    source: str = DRAFT_MARKDOWN,
    opens_in: timedelta = timedelta(days=-1),
    closes_in: timedelta = timedelta(days=7),
    **overrides: Any,
) -> Consultation:
    fields: dict[str, Any] = dict(
        title="Konzeptentwurf KIM", summary="Entwurf zur Beteiligung.", source=source,
        opens_at=now() + opens_in, closes_at=now() + closes_in,
        allow_organisations=True, allow_council_groups=True, allow_public=False,
    )
    fields.update(overrides)
    consultation = services.create_consultation(by=officer, **fields)
    consultation.state = state
    db.session.commit()
    return consultation


def make_comment(consultation: Consultation, author: User, *, section: str | None = "1", body: str = "Bitte ergänzen.", **kwargs: Any) -> Comment:
    """Post through the service (the period must be running)."""
    comment = services.post_comment(consultation, by=author, body=body, section_number=section, **kwargs)
    db.session.commit()
    return comment


def make_response(comment: Comment, officer: User, state: ResponseState = ResponseState.NOTED, reason: str = "Wird berücksichtigt.") -> Response:
    response = Response(comment=comment, state=state, reason=reason, drafted_by_id=officer.id)
    db.session.add(response)
    db.session.commit()
    return response
