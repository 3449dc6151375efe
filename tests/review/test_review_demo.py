"""The demo leaves a call in review: a conflict, submitted reviews, a lot ready to consolidate."""
from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from portal.calls.models import Call, CallState
from portal.demo import load_demo
from portal.extensions import db
from portal.review import services
from portal.review.models import ConflictDeclaration
from tests.conftest import login


def test_demo_call_is_in_review(app: Any, client: Any) -> None:
    with force_locale("de"):
        ctx = load_demo()
    call = db.session.scalar(select(Call).where(Call.reference.like("KIM-%-BEWERTUNG")))
    assert call.state == CallState.IN_REVIEW
    lot1, lot2 = call.lots
    conflicts = db.session.scalars(select(ConflictDeclaration).where(ConflictDeclaration.conflict.is_(True))).all()
    assert [(c.user.email, c.organisation.name) for c in conflicts] == [
        ("gutachten1@demo.ibv-portal.de", "Diakonisches Werk im Ev. Kirchenkreis Siegen-Wittgenstein gGmbH")]
    assert services.consolidation_blockers(lot1) == []
    assert services.consolidation_blockers(lot2) == ["Die Bewertung von Ralf Gutachter ist noch nicht abgeschlossen."]
    # the opening demo call stays untouched
    assert db.session.scalar(select(Call).where(Call.reference.like("KIM-%-VORLAUF"))).state == CallState.PUBLISHED
    chair = ctx.objects["officer2"]
    login(client, chair)
    base = f"/verwaltung/aufrufe/{call.reference}/begutachtung"
    assert "Caritasverband" in client.get(f"{base}/lose/1/konsolidierung").get_data(as_text=True)
    login(client, ctx.objects["reviewer2"])
    assert "1 von 5 Bewertungen" in client.get("/begutachtung").get_data(as_text=True)
