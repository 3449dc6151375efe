from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from portal.bids import services as bid_services
from portal.calls.amendments import amend_call
from portal.calls.services import add_document, cancel_call
from portal.consultation.models import ConsultationState
from portal.extensions import db
from tests.factories import make_organisation
from tests.factories_bids import make_bidder, make_open_call, make_submitted_bid
from tests.factories_calls import make_call, make_question
from tests.factories_consultation import make_consultation
from tests.pdf_samples import valid_pdf


@pytest.fixture(autouse=True)
def german(app: Any) -> Iterator[None]:
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("de"):
        yield


@pytest.fixture
def procedures(app: Any, clock: Any, officer: Any) -> dict[str, Any]:
    """An open call shaped by a consultation (document, amendment, answer), a call with
    bids whose deadline is near, a cancelled call and a draft."""
    consultation = make_consultation(officer, title="Konzeptentwurf Integration", state=ConsultationState.OPEN)
    open_call = make_call(published=True, consultation_id=consultation.id, title="Case Management 2026")
    open_call.lots[0].budget = Decimal("120000.50")
    open_call.lots[1].budget = Decimal("80000")
    add_document(open_call, title="Konzept", filename="Konzept.pdf", data=valid_pdf(text="Konzept"), by=officer)
    caritas, diakonie = make_organisation(name="Caritas Geheim e. V."), make_organisation(name="Diakonie Verborgen e. V.")
    clara, dirk = make_bidder(caritas, name="Clara"), make_bidder(diakonie, name="Dirk")
    make_question(open_call, caritas, clara, answer="Ja, mehrere Lose sind möglich.")
    amend_call(open_call, by=officer, reason="Mehr Stellen in Los 2.",
               changes={f"lot.{open_call.lots[1].number}.positions": Decimal("1.5")})
    bid_call = make_open_call(lots=2, deadline_in=timedelta(days=3), title="Flüchtlingsberatung")
    lot1, lot2 = bid_call.lots
    make_submitted_bid(bid_call, lot1, clara)
    make_submitted_bid(bid_call, lot1, dirk)
    withdrawn, _version = make_submitted_bid(bid_call, lot2, dirk)
    bid_services.withdraw_bid(withdrawn, by=dirk)
    make_submitted_bid(bid_call, lot2, clara)
    cancelled = make_call(published=True, title="Sozialarbeit Unterkunft")
    cancel_call(cancelled, by=officer, reason="Der Bedarf ist entfallen.")
    draft = make_call(title="Geheimer Entwurf")
    db.session.commit()
    return dict(consultation=consultation, open_call=open_call, bid_call=bid_call, cancelled=cancelled, draft=draft,
                organisations=[caritas, diakonie], bidders=[clara, dirk])
