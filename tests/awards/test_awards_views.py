"""Award pages: the authorisation matrix of every route, the officer forms, letters, objections, the public notice."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from portal.awards import services
from portal.awards.models import AwardDecision, DecisionState, InformationLetter, Objection
from portal.calls.models import CallState
from portal.extensions import db
from tests.conftest import login
from tests.factories_awards import ORGANISATIONS, decided_call, reviewed_call

CARITAS, DIAKONIE, AWO = ORGANISATIONS
ROLES = ["anonymous", "own_bidder", "other_bidder", "stranger_bidder", "officer", "reviewer", "observer", "admin"]


@pytest.fixture
def standstill(app, clock, officer, officer2) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    call, bids = decided_call(clock, officer, officer2)
    letters = {letter.organisation.name: letter for letter in
               db.session.scalars(select(InformationLetter).where(InformationLetter.call_id == call.id))}
    return {"call": call, "bids": bids, "letters": letters, "reference": call.reference}


def _user(role: str, request: pytest.FixtureRequest, world: dict[str, Any]) -> Any:
    if role == "anonymous":
        return None
    if role == "own_bidder":
        return world["bids"][DIAKONIE].organisation.active_members[0]
    if role == "other_bidder":
        return world["bids"][AWO].organisation.active_members[0]
    if role == "stranger_bidder":
        return request.getfixturevalue("bidder")
    return request.getfixturevalue(role)


def _status(client: Any, role: str, request: pytest.FixtureRequest, world: dict[str, Any], method: str, url: str) -> int:
    user = _user(role, request, world)
    if user is not None:
        login(client, user)
    response = client.open(url, method=method, data={})
    return response.status_code


# Expected status per role: anonymous, own bidder (Diakonie), other bidder of the call (AWO), bidder of no bid,
# officer, reviewer, observer, admin. Empty POSTs reach the officer's form: 422 (a field is missing), 409 (the
# decision is already approved), 303 (the policy form has only check boxes).
MATRIX = [
    ("GET", "/verwaltung/vergabe/", [302, 403, 403, 403, 200, 403, 403, 403]),
    ("GET", "/verwaltung/vergabe/{ref}", [302, 403, 403, 403, 200, 403, 403, 403]),
    ("GET", "/verwaltung/vergabe/{ref}/vergabevermerk", [302, 403, 403, 403, 200, 403, 403, 403]),
    ("GET", "/verwaltung/vergabe/{ref}/vergabevermerk.pdf", [302, 403, 403, 403, 200, 403, 403, 403]),
    ("POST", "/verwaltung/vergabe/{ref}/lose/1/vorschlag", [302, 403, 403, 403, 422, 403, 403, 403]),
    ("POST", "/verwaltung/vergabe/{ref}/entscheidungen/{decision}/freigabe", [302, 403, 403, 403, 409, 403, 403, 403]),
    ("POST", "/verwaltung/vergabe/{ref}/entscheidungen/{decision}/rueckgabe", [302, 403, 403, 403, 422, 403, 403, 403]),
    ("POST", "/verwaltung/vergabe/{ref}/einstellungen", [302, 403, 403, 403, 303, 403, 403, 403]),
    ("POST", "/verwaltung/vergabe/{ref}/ruegen/{objection}/antwort", [302, 403, 403, 403, 422, 403, 403, 403]),
    ("GET", "/mitteilungen/", [302, 200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/mitteilungen/{letter}", [302, 200, 404, 404, 200, 404, 404, 404]),
    ("GET", "/mitteilungen/{letter}.pdf", [302, 200, 404, 404, 200, 404, 404, 404]),
    ("GET", "/mitteilungen/ruege/{ref}", [302, 200, 200, 403, 403, 403, 403, 403]),
    ("POST", "/mitteilungen/ruege/{ref}", [302, 422, 422, 403, 403, 403, 403, 403]),
    ("GET", "/vergaben/", [200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/vergaben/feed.atom", [200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET", "/vergaben/{ref}", [404, 404, 404, 404, 404, 404, 404, 404]),  # no notice during the standstill
    ("GET", "/vergaben/{ref}.json", [404, 404, 404, 404, 404, 404, 404, 404]),
]


def test_authorisation_matrix_during_the_standstill(app, request, standstill, officer) -> None:  # type: ignore[no-untyped-def]
    call = standstill["call"]
    objection = services.lodge_objection(call, organisation=standstill["bids"][AWO].organisation,
                                         by=standstill["bids"][AWO].organisation.active_members[0],
                                         text="Wir rügen die Bewertung von K1 mit ausführlicher Begründung.")
    decision = db.session.scalar(select(AwardDecision))
    db.session.commit()
    values = {"ref": standstill["reference"], "letter": standstill["letters"][DIAKONIE].id, "decision": decision.id,
              "objection": objection.id}
    failures = []
    for role in ROLES:
        client = app.test_client()
        for method, pattern, expected in MATRIX:
            url = pattern.format(**values)
            status = _status(client, role, request, standstill, method, url)
            if status != expected[ROLES.index(role)]:
                failures.append(f"{role}: {method} {url}: {status}, expected {expected[ROLES.index(role)]}")
    assert not failures, "\n".join(failures)


def test_another_bidders_letter_and_the_record_are_refused_by_url(app, client, standstill, observer) -> None:  # type: ignore[no-untyped-def]
    awo = standstill["bids"][AWO].organisation.active_members[0]
    login(client, awo)
    caritas_letter = standstill["letters"][CARITAS]
    assert client.get(f"/mitteilungen/{caritas_letter.id}").status_code == 404
    assert client.get(f"/mitteilungen/{caritas_letter.id}.pdf").status_code == 404
    assert client.get(f"/verwaltung/vergabe/{standstill['reference']}/vergabevermerk").status_code == 403
    login(client, observer)
    assert client.get(f"/verwaltung/vergabe/{standstill['reference']}/vergabevermerk.pdf").status_code == 403
    assert client.get(f"/mitteilungen/{caritas_letter.id}").status_code == 404


def test_officers_propose_and_approve_through_the_forms(app, client, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, bids = reviewed_call(clock, officer, officer2)
    reference = call.reference
    login(client, officer)
    page = client.get(f"/verwaltung/vergabe/{reference}")
    assert page.status_code == 200 and "Vergabe vorschlagen" in page.text and "81,00" in page.text
    # A deviation without a reason: refused next to the field, the choice is kept.
    lot = call.lots[0]
    response = client.post(f"/verwaltung/vergabe/{reference}/lose/1/vorschlag",
                           data={f"lot{lot.id}-outcome": "choice", f"lot{lot.id}-winners": str(bids[AWO].id)})
    assert response.status_code == 422 and "weicht von der Rangfolge ab" in response.text
    # Without the second factor in this session the accounts gate sends the officer to it; nothing is decided.
    login(client, officer, two_factor=False)
    response = client.post(f"/verwaltung/vergabe/{reference}/lose/1/vorschlag", data={f"lot{lot.id}-outcome": "ranking"})
    assert response.status_code == 302 and "/vergabe/" not in response.headers["Location"]
    assert db.session.scalar(select(AwardDecision)) is None
    login(client, officer)
    response = client.post(f"/verwaltung/vergabe/{reference}/lose/1/vorschlag", data={f"lot{lot.id}-outcome": "ranking"})
    assert response.status_code == 303
    decision = db.session.scalar(select(AwardDecision))
    # The proposer sees no approval button, and a crafted approval is refused.
    page = client.get(f"/verwaltung/vergabe/{reference}")
    assert "Vergabe freigeben" not in page.text and "eine zweite Person der Vergabestelle muss ihn freigeben" in page.text
    response = client.post(f"/verwaltung/vergabe/{reference}/entscheidungen/{decision.id}/freigabe")
    assert response.status_code == 409 and "Vier-Augen-Prinzip" in response.text
    assert db.session.get(AwardDecision, decision.id).state == DecisionState.PROPOSED
    login(client, officer2)
    assert "Vergabe freigeben" in client.get(f"/verwaltung/vergabe/{reference}").text
    response = client.post(f"/verwaltung/vergabe/{reference}/entscheidungen/{decision.id}/freigabe")
    assert response.status_code == 303
    db.session.expire_all()
    assert call.state == CallState.STANDSTILL


def test_bidder_reads_own_letter_and_lodges_an_objection(app, client, standstill) -> None:  # type: ignore[no-untyped-def]
    diakonie = standstill["bids"][DIAKONIE].organisation
    member = diakonie.active_members[0]
    login(client, member)
    letter = standstill["letters"][DIAKONIE]
    assert client.get("/mitteilungen/").text.count("(neu)") == 1
    page = client.get(f"/mitteilungen/{letter.id}")
    assert "Ihre Interessenbekundung kann nicht berücksichtigt werden" in page.text and "2 von 3" in page.text
    assert "Rüge zu dieser Vergabe erheben" in page.text
    db.session.expire_all()
    assert letter.first_read_at is not None
    pdf = client.get(f"/mitteilungen/{letter.id}.pdf")
    assert pdf.data.startswith(b"%PDF") and pdf.headers["X-Content-SHA256"] == letter.pdf_sha256
    url = f"/mitteilungen/ruege/{standstill['reference']}"
    response = client.post(url, data={"organisation_id": diakonie.id, "text": "kurz"})
    assert response.status_code == 422 and "mindestens 20 Zeichen" in response.text and "kurz" in response.text
    response = client.post(url, data={"organisation_id": diakonie.id, "text": "Die Bewertung von K3 übersieht unser Konzept."})
    assert response.status_code == 303
    assert db.session.scalar(select(Objection)).organisation_id == diakonie.id


def test_public_notice_on_call_page_list_json_and_feeds(app, client, clock, standstill) -> None:  # type: ignore[no-untyped-def]
    call = standstill["call"]
    reference = call.reference
    assert "Vergabebekanntmachung" not in client.get(f"/aufrufe/{reference}").text
    clock.set(services.current_round(call).standstill_ends_at + timedelta(minutes=1))
    services.finalise_due_awards()
    db.session.commit()
    page = client.get(f"/aufrufe/{reference}")
    assert "Vergabebekanntmachung" in page.text and CARITAS in page.text and DIAKONIE not in page.text
    notice = client.get(f"/vergaben/{reference}")
    assert notice.status_code == 200
    for text in ("Eingegangene Interessenbekundungen", "davon ausgeschlossen", "Datum der Entscheidung",
                 "Abweichung von der Rangfolge", "30 × 5 / 5 = 30,00", "81,00"):
        assert text in notice.text
    listing = client.get("/vergaben/")
    assert reference in listing.text and CARITAS in listing.text
    data = client.get(f"/vergaben/{reference}.json")
    assert data.is_json and data.json["lots"][0]["winners"][0]["organisation"] == CARITAS
    import hashlib

    assert hashlib.sha256(data.data).hexdigest() == data.headers["X-Content-SHA256"]
    for feed in ("/vergaben/feed.atom", f"/aufrufe/{reference}/feed.atom", "/aufrufe/feed.atom"):
        body = client.get(feed).text
        assert f"Vergabebekanntmachung zu {reference}" in body, feed
    assert "Neuer Aufruf" not in client.get("/vergaben/feed.atom").text  # only award notices
