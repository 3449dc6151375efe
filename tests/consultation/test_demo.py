"""The demo data: the KIM consultation evaluated with its report, plus one open consultation."""
from __future__ import annotations

from sqlalchemy import select

from portal.audit.services import verify_chain
from portal.calls.models import Call
from portal.consultation.services import calls_shaped_by
from portal.consultation.models import AuthorKind, Consultation, ConsultationState, ResponseState
from portal.extensions import db


def test_demo_loads_kim_consultation_and_an_open_one(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    consultations = db.session.scalars(select(Consultation).order_by(Consultation.id)).all()
    kim, current = consultations
    assert kim.state == ConsultationState.REPORT_PUBLISHED and len(kim.versions) == 2
    assert {c.response.state for c in kim.comments if c.response} == set(ResponseState)
    assert {c.author_kind for c in kim.comments} >= {AuthorKind.ORGANISATION, AuthorKind.COUNCIL_GROUP}
    assert len({c.organisation_id for c in kim.comments if c.organisation_id}) >= 2
    assert any(c.is_withdrawn for c in kim.comments) and any(c.is_hidden for c in kim.comments)
    assert current.state == ConsultationState.OPEN
    kim_call = db.session.scalar(select(Call).where(Call.reference.like("KIM-%")))
    assert kim_call is not None and kim_call.consultation_id == kim.id
    assert calls_shaped_by(kim) == [kim_call]
    assert verify_chain().ok
