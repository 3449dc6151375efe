"""Award pages: the authorisation matrix of every route, the officer forms, letters, objections, the public notice."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from portal.awards import services
from portal.audit.models import AuditEvent
from portal.awards.models import AwardDecision, DecisionState, InformationLetter, Objection
from portal.calls.models import CallState, Criterion
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


def _error_summary(html: str) -> str:
    start = html.index('class="error-summary" role="alert"')
    return html[start:html.index("</div>", start)]


def test_an_approval_after_the_ranking_changed_is_refused_with_the_changes(app, client, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    from portal.review.models import ConsolidatedScore

    call, bids = reviewed_call(clock, officer, officer2)
    reference, lot = call.reference, call.lots[0]
    login(client, officer)
    response = client.post(f"/verwaltung/vergabe/{reference}/lose/1/vorschlag", data={f"lot{lot.id}-outcome": "ranking"})
    assert response.status_code == 303
    decision = db.session.scalar(select(AwardDecision))
    assert [w.organisation.name for w in decision.winners] == [CARITAS]
    # The review services change nothing of a closed lot; the approval checks the ranking all the same, against a
    # change made outside them (here a correction in the database: Caritas K1 5 → 1 points, 81 → 57 in total).
    k1 = db.session.scalar(select(ConsolidatedScore).join(Criterion, ConsolidatedScore.criterion_id == Criterion.id)
                           .where(ConsolidatedScore.bid_id == bids[CARITAS].id, Criterion.code == "K1"))
    k1.points = 1
    db.session.commit()

    login(client, officer2)
    response = client.post(f"/verwaltung/vergabe/{reference}/entscheidungen/{decision.id}/freigabe")
    assert response.status_code == 409
    summary = _error_summary(response.text)
    assert "Die Aktion wurde nicht ausgeführt" in summary
    assert "Die Rangfolge von Los 1 hat sich seit dem Vorschlag geändert" in summary
    assert f"{CARITAS}: Rang 1 → 3, 81,00 → 57,00 Punkte, K1: 5 → 1." in summary
    assert f"{DIAKONIE}: Rang 2 → 1." in summary and f"{AWO}: Rang 3 → 2." in summary
    assert "Nichts wurde freigegeben" in summary and "Bitte geben Sie den Vorschlag zurück" in summary
    # Nothing is approved: the proposal is still open, the call in review, no approval event, no letters.
    db.session.expire_all()
    assert db.session.get(AwardDecision, decision.id).state == DecisionState.PROPOSED
    assert call.state == CallState.IN_REVIEW
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "award.approved")) is None
    assert db.session.scalar(select(InformationLetter)) is None
    # The officer gives it back; a new proposal follows the new ranking and can be approved.
    response = client.post(f"/verwaltung/vergabe/{reference}/entscheidungen/{decision.id}/rueckgabe",
                           data={f"return{decision.id}-reason": "Die Rangfolge hat sich geändert."})
    assert response.status_code == 303
    login(client, officer)
    client.post(f"/verwaltung/vergabe/{reference}/lose/1/vorschlag", data={f"lot{lot.id}-outcome": "ranking"})
    renewed = db.session.scalar(select(AwardDecision).where(AwardDecision.state == DecisionState.PROPOSED))
    assert [w.organisation.name for w in renewed.winners] == [DIAKONIE]
    login(client, officer2)
    assert client.post(f"/verwaltung/vergabe/{reference}/entscheidungen/{renewed.id}/freigabe").status_code == 303
    db.session.expire_all()
    assert call.state == CallState.STANDSTILL


def test_a_revision_without_an_objection_through_the_forms(app, client, clock, standstill, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    # docs/awards.md: during the standstill an officer may revise a lot with a reason; no objection is needed.
    call, bids, reference = standstill["call"], standstill["bids"], standstill["reference"]
    lot = call.lots[0]
    first = services.current_round(call)
    in_force = services.current_decisions(call)[lot.id]
    assert services.objections_of(call) == []
    login(client, officer2)
    page = client.get(f"/verwaltung/vergabe/{reference}")
    assert "Entscheidung überarbeiten" in page.text
    fields = {f"lot{lot.id}-outcome": "choice", f"lot{lot.id}-winners": str(bids[DIAKONIE].id),
              f"lot{lot.id}-deviation_reason": "Caritas hat die Trägerschaft nach der Information zurückgegeben."}
    response = client.post(f"/verwaltung/vergabe/{reference}/lose/1/vorschlag", data=fields)
    assert response.status_code == 422 and "warum die Entscheidung über Los 1 überarbeitet wird" in response.text
    assert "Caritas hat die Trägerschaft nach der Information zurückgegeben." in response.text  # the input is kept
    assert services.pending_proposals(call) == {}
    reason = "Caritas kann die Stellen nicht besetzen und hat schriftlich verzichtet."
    response = client.post(f"/verwaltung/vergabe/{reference}/lose/1/vorschlag",
                           data={**fields, f"lot{lot.id}-revision_reason": reason})
    assert response.status_code == 303
    revision = services.pending_proposals(call)[lot.id]
    assert revision.revises_id == in_force.id and revision.revision_reason == reason
    login(client, officer)
    assert client.post(f"/verwaltung/vergabe/{reference}/entscheidungen/{revision.id}/freigabe").status_code == 303
    db.session.expire_all()
    second = services.current_round(call)
    assert second.number == 2 and second.reason == reason and first.superseded_at is not None
    assert db.session.get(AwardDecision, in_force.id).state == DecisionState.SUPERSEDED
    letters = db.session.scalars(select(InformationLetter).where(InformationLetter.round_id == second.id)).all()
    assert len(letters) == 3 and {letter.content["revision_reason"] for letter in letters} == {reason}
    login(client, bids[DIAKONIE].organisation.active_members[0])
    own = next(letter for letter in letters if letter.organisation.name == DIAKONIE)
    assert f"Grund der Überarbeitung:</strong> {reason}" in client.get(f"/mitteilungen/{own.id}").text
    clock.set(second.standstill_ends_at)
    assert services.finalise_due_awards() == [call]
    db.session.commit()
    assert services.notice_for(call).data["lots"][0]["winners"][0]["organisation"] == DIAKONIE


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
