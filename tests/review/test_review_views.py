"""Review pages: the authorisation matrix over every new route, refused looks recorded, bad input by URL."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from portal.audit.actions import AuditAction
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.review import services
from portal.review.queries import scored_criteria
from tests.conftest import login
from tests.factories_review import JUSTIFICATION, declare_all, make_opened_call, score_all, set_up_panel

ORGS = ("Anker e. V.", "Brücke gGmbH")
POINTS = {"Anker e. V.": {"K1": 4, "K2": 3, "K3": 5, "K4": 2, "K5": 3},
          "Brücke gGmbH": {"K1": 5, "K2": 2, "K3": 3, "K4": 4, "K5": 4}}


@pytest.fixture
def scene(officer: Any, officer2: Any, reviewer: Any, reviewer2: Any, chair: Any, clock: Any) -> dict[str, Any]:
    """Lot 1: Anker and Brücke, reviewers `reviewer` (conflict for Brücke) and `reviewer2` (not declared yet)."""
    call, bids = make_opened_call(clock, officer, officer2, organisations=ORGS)
    lot1, lot2 = call.lots
    set_up_panel(lot1, officer, [reviewer, reviewer2], chair)
    declare_all(lot1, reviewer, conflicts=["Brücke gGmbH"])
    declare_all(lot1, chair)
    anker = bids["Anker e. V."]
    bidder = anker.organisation.active_members[0]
    return {"call": call, "lot1": lot1, "lot2": lot2, "anker": anker, "bruecke": bids["Brücke gGmbH"],
            "bidder": bidder, "attachment": anker.latest_submission.attachments[0]}


ROLES = ["anonymous", "bidder", "officer", "reviewer", "observer", "admin", "chair"]


def _routes(s: dict[str, Any]) -> list[tuple[str, str, dict[str, int]]]:
    ref, lot1, anker, bruecke = s["call"].reference, s["lot1"], s["anker"], s["bruecke"]
    base = f"/verwaltung/aufrufe/{ref}/begutachtung"
    d = {"anonymous": 302, "bidder": 403, "officer": 403, "reviewer": 403, "observer": 403, "admin": 403, "chair": 403}
    bid_denied = {**d, "bidder": 404}  # a refused look at a bid or scores: 404 for non-staff
    return [
        ("GET", "/begutachtung", {**d, "officer": 200, "reviewer": 200, "observer": 200, "chair": 200}),
        ("GET", f"/begutachtung/lose/{lot1.id}", {**d, "reviewer": 200, "chair": 200}),
        ("GET", f"/begutachtung/lose/{lot1.id}/erklaerung", {**d, "reviewer": 302, "chair": 302}),
        ("POST", f"/begutachtung/lose/{lot1.id}/erklaerung", {**d, "reviewer": 302, "chair": 302}),
        ("POST", f"/begutachtung/lose/{lot1.id}/befangenheit", {**d, "reviewer": 422, "chair": 422}),
        ("POST", f"/begutachtung/lose/{lot1.id}/abschliessen", {**d, "reviewer": 422}),
        ("POST", f"/begutachtung/lose/{lot1.id}/wieder-oeffnen", {**d, "reviewer": 422}),
        ("GET", f"/begutachtung/interessenbekundungen/{anker.id}", {**bid_denied, "reviewer": 200, "chair": 200}),
        ("POST", f"/begutachtung/interessenbekundungen/{anker.id}", {**bid_denied, "reviewer": 302, "chair": 403}),
        ("GET", f"/begutachtung/interessenbekundungen/{bruecke.id}", {**bid_denied, "chair": 200}),
        ("GET", f"/begutachtung/interessenbekundungen/{anker.id}/anhaenge/{s['attachment'].id}",
         {**bid_denied, "reviewer": 200, "chair": 200}),
        ("GET", f"/begutachtung/lose/{lot1.id}/bewertungen", {**bid_denied, "officer": 200, "chair": 200}),
        ("GET", base, {**d, "officer": 200, "observer": 200, "chair": 200}),
        ("GET", f"{base}/gremium", {**d, "officer": 200}),
        ("POST", f"{base}/gremium/gutachter", {**d, "officer": 422}),
        ("POST", f"{base}/gremium/vorsitz", {**d, "officer": 422}),
        ("POST", f"{base}/gremium/999999/entfernen", {**d, "officer": 404}),
        ("GET", f"{base}/lose/1/eignung/{anker.id}", {**d, "chair": 200}),
        ("POST", f"{base}/lose/1/eignung/{anker.id}", {**d, "chair": 422}),
        ("GET", f"{base}/lose/1/konsolidierung", {**d, "chair": 200}),
        ("GET", f"{base}/lose/1/konsolidierung/{anker.id}", {**d, "chair": 200}),
        ("POST", f"{base}/lose/1/konsolidierung/{anker.id}", {**d, "chair": 422}),
        ("POST", f"{base}/lose/1/abschliessen", {**d, "chair": 422}),
        ("GET", f"{base}/lose/1/rangfolge", {**bid_denied, "officer": 200, "chair": 200}),
        ("POST", f"{base}/lose/1/losentscheid/0", d),
        ("GET", f"{base}/bewertungen.csv", {**d, "officer": 200, "chair": 200}),
    ]


def _user(role: str, s: dict[str, Any], request: pytest.FixtureRequest) -> Any:
    if role == "bidder":
        return s["bidder"]
    return request.getfixturevalue(role)


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(client: Any, scene: dict[str, Any], role: str, request: pytest.FixtureRequest) -> None:
    if role != "anonymous":
        login(client, _user(role, scene, request))
    got, want = {}, {}
    for method, url, expected in _routes(scene):
        data = {}
        if method == "POST" and role == "reviewer" and url.endswith(f"/interessenbekundungen/{scene['anker'].id}"):
            data = {f"points_{c.id}": "3" for c in scored_criteria(scene["lot1"])} | {
                f"justification_{c.id}": JUSTIFICATION for c in scored_criteria(scene["lot1"])}
        response = client.open(url, method=method, data=data)
        got[f"{method} {url}"] = response.status_code
        want[f"{method} {url}"] = expected[role]
    assert got == want


def test_every_new_route_is_in_the_matrix(app: Any, scene: dict[str, Any]) -> None:
    covered = set()
    for method, url, _expected in _routes(scene):
        adapter = app.url_map.bind("localhost")
        endpoint, _args = adapter.match(url, method=method)
        covered.add((endpoint, method))
    rules = {(r.endpoint, m) for r in app.url_map.iter_rules() if r.endpoint.startswith("review")
             for m in (r.methods or set()) - {"HEAD", "OPTIONS"}}
    assert rules <= covered, rules - covered


def refused_events() -> list[dict[str, Any]]:
    rows = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(["bid.access_refused", "review.access_refused"])).order_by(AuditEvent.seq))
    return [json.loads(e.data_json) | {"action": e.action, "actor": e.actor_id, "public": e.public} for e in rows]


def test_refused_looks_are_recorded(client: Any, scene: dict[str, Any], reviewer: Any, observer: Any) -> None:
    login(client, reviewer)
    # a bid with a declared conflict, by URL
    assert client.get(f"/begutachtung/interessenbekundungen/{scene['bruecke'].id}").status_code == 403
    # scoring it by URL
    assert client.post(f"/begutachtung/interessenbekundungen/{scene['bruecke'].id}", data={}).status_code == 403
    # the other reviewers' scores before finishing one's own
    assert client.get(f"/begutachtung/lose/{scene['lot1'].id}/bewertungen").status_code == 403
    login(client, observer)
    assert client.get(f"/begutachtung/interessenbekundungen/{scene['anker'].id}").status_code == 403
    events = refused_events()
    assert [(e["action"], e["what"], e.get("reason"), e["actor"]) for e in events] == [
        ("bid.access_refused", "bid_review", "conflict", reviewer.id),
        ("bid.access_refused", "bid_review", "conflict", reviewer.id),
        ("review.access_refused", "scores", None, reviewer.id),
        ("bid.access_refused", "bid_review", "not_panel", observer.id),
    ]
    assert not any(e["public"] for e in events)


def test_reviewer_of_lot_one_cannot_open_a_bid_of_lot_two(officer: Any, officer2: Any, reviewer: Any, chair: Any,
                                                           client: Any, clock: Any) -> None:
    call, bids = make_opened_call(clock, officer, officer2, organisations=["Zweites Los e. V."], lot_number=2)
    set_up_panel(call.lots[0], officer, [reviewer], chair)
    login(client, reviewer)
    other = bids["Zweites Los e. V."]
    assert client.get(f"/begutachtung/interessenbekundungen/{other.id}").status_code == 403
    assert client.get(f"/interessenbekundungen/{other.id}/anhaenge/{other.latest_submission.attachments[0].id}").status_code == 403
    assert refused_events()[0]["reason"] == "not_panel"


def test_scoring_before_declaring_is_refused_with_a_link_to_the_declaration(scene: dict[str, Any], reviewer2: Any,
                                                                            client: Any) -> None:
    login(client, reviewer2)
    page = client.get(f"/begutachtung/interessenbekundungen/{scene['anker'].id}")
    assert page.status_code == 403  # nothing of the bid before declaring
    lot_page = client.get(f"/begutachtung/lose/{scene['lot1'].id}").get_data(as_text=True)
    assert "Befangenheitserklärung abgeben" in lot_page and "Anker e. V." in lot_page


def test_declaration_form_keeps_input_and_explains(scene: dict[str, Any], reviewer2: Any, client: Any) -> None:
    login(client, reviewer2)
    url = f"/begutachtung/lose/{scene['lot1'].id}/erklaerung"
    anker, bruecke = scene["anker"].organisation_id, scene["bruecke"].organisation_id
    response = client.post(url, data={f"decision_{anker}": "none", f"decision_{bruecke}": "conflict",
                                      f"reason_{bruecke}": "Meine Frau ist dort Geschäftsführerin.", "confirm": "y"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Bitte wählen Sie die Art der Befangenheit." in html
    assert "Meine Frau ist dort Geschäftsführerin." in html  # nothing typed is lost
    assert services.undeclared_organisations(reviewer2, scene["lot1"])  # nothing saved
    response = client.post(url, data={f"decision_{anker}": "none", f"decision_{bruecke}": "conflict",
                                      f"kind_{bruecke}": "family",
                                      f"reason_{bruecke}": "Meine Frau ist dort Geschäftsführerin.", "confirm": "y"})
    assert response.status_code == 302
    assert not services.undeclared_organisations(reviewer2, scene["lot1"])


def test_scoring_form_bad_input_stays_in_the_form(scene: dict[str, Any], reviewer: Any, client: Any) -> None:
    login(client, reviewer)
    k1, k2, *_ = scored_criteria(scene["lot1"])
    url = f"/begutachtung/interessenbekundungen/{scene['anker'].id}"
    response = client.post(url, data={f"points_{k1.id}": "7", f"justification_{k1.id}": JUSTIFICATION,
                                      f"points_{k2.id}": "3", f"justification_{k2.id}": "kurz"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "zwischen 0 und 5" in html and "mindestens 30 Zeichen, bisher 4" in html
    assert JUSTIFICATION in html and "kurz</textarea>" in html
    page = client.get(url).get_data(as_text=True)
    assert "Antwort des Trägers" in page and "Unser Konzept" in page and "sehr gut erfüllt" in page


def test_scores_visible_after_submitting_and_consolidation_flow(scene: dict[str, Any], reviewer: Any, reviewer2: Any,
                                                                 chair: Any, client: Any) -> None:
    lot = scene["lot1"]
    declare_all(lot, reviewer2)
    score_all(lot, reviewer, POINTS)
    login(client, chair)
    base = f"/verwaltung/aufrufe/{scene['call'].reference}/begutachtung"
    consolidate = client.post(f"{base}/lose/1/konsolidierung/{scene['anker'].id}",
                              data={f"points_{c.id}": "3" for c in scored_criteria(lot)})
    assert consolidate.status_code == 422  # consolidating before all reviews are in
    assert "erst möglich, wenn alle Bewertungen vorliegen" in consolidate.get_data(as_text=True)
    score_all(lot, reviewer2, POINTS)
    login(client, reviewer)
    scores = client.get(f"/begutachtung/lose/{lot.id}/bewertungen")
    assert scores.status_code == 200
    html = scores.get_data(as_text=True)
    assert "Ralf Gutachter: 4" in html and "Brücke gGmbH" not in html  # conflict: not even the scores


def test_csv_export_anonymised(scene: dict[str, Any], reviewer: Any, officer: Any, client: Any) -> None:
    score_all(scene["lot1"], reviewer, POINTS, submit=False)
    login(client, officer)
    base = f"/verwaltung/aufrufe/{scene['call'].reference}/begutachtung"
    named = client.get(f"{base}/bewertungen.csv").get_data(as_text=True)
    anonymous = client.get(f"{base}/bewertungen.csv?anonym=1").get_data(as_text=True)
    assert "Rita Gutachterin" in named and "Rita Gutachterin" not in anonymous
    assert "Gutachter:in 1" in anonymous and JUSTIFICATION in anonymous and "Entwurf" in anonymous
    assert named.startswith("\ufeffAufruf,Los,Träger,Kriterium")


def test_links_follow_the_predicates(scene: dict[str, Any], reviewer: Any, observer: Any, client: Any) -> None:
    login(client, reviewer)
    html = client.get(f"/begutachtung/lose/{scene['lot1'].id}").get_data(as_text=True)
    assert f"/begutachtung/interessenbekundungen/{scene['anker'].id}\"" in html
    assert f"/begutachtung/interessenbekundungen/{scene['bruecke'].id}\"" not in html  # conflict: no link
    assert "/bewertungen\"" not in html  # scores hidden before submitting
    login(client, observer)
    overview = client.get(f"/verwaltung/aufrufe/{scene['call'].reference}/begutachtung").get_data(as_text=True)
    assert "Abgeschlossene Bewertungen" in overview and "0 von 2" in overview
    assert "Rita Gutachterin" not in overview and "bewertungen.csv" not in overview and "rangfolge" not in overview


def test_officer_records_a_draw_on_the_ranking_page(officer: Any, officer2: Any, reviewer: Any, chair: Any,
                                                    client: Any, clock: Any) -> None:
    from tests.factories_review import review_lot

    points = {"Anker e. V.": {"K1": 4, "K2": 4, "K3": 3, "K4": 3, "K5": 3},
              "Brücke gGmbH": {"K1": 4, "K2": 4, "K3": 3, "K4": 3, "K5": 3}}
    call, bids = make_opened_call(clock, officer, officer2, organisations=points)
    review_lot(call.lots[0], officer, [reviewer], chair, bids, points)
    anker, bruecke = bids["Anker e. V."].id, bids["Brücke gGmbH"].id
    url = f"/verwaltung/aufrufe/{call.reference}/begutachtung/lose/1"
    login(client, officer)
    page = client.get(f"{url}/rangfolge").get_data(as_text=True)
    assert "Los: noch nicht gezogen" in page and "Losentscheid festhalten" in page
    missing = client.post(f"{url}/losentscheid/0", data={"draw0-place_1": bruecke, "draw0-place_2": anker})
    assert missing.status_code == 422 and "bei der Ziehung anwesend" in missing.get_data(as_text=True)
    same = client.post(f"{url}/losentscheid/0", data={"draw0-place_1": anker, "draw0-place_2": anker,
                                                       "draw0-witness": "Petra Zeugin"})
    assert same.status_code == 422 and "offenen Gleichstands" in same.get_data(as_text=True)
    done = client.post(f"{url}/losentscheid/0", data={"draw0-place_1": bruecke, "draw0-place_2": anker,
                                                       "draw0-witness": "Petra Zeugin, Rechnungsprüfung"})
    assert done.status_code == 302
    page = client.get(f"{url}/rangfolge").get_data(as_text=True)
    assert "Los: gezogen am" in page and "Petra Zeugin, Rechnungsprüfung" in page
    assert page.index("Brücke gGmbH") < page.index("Anker e. V.")
    assert services.lot_is_decidable(call.lots[0])


def test_removing_a_reviewer_after_scoring_started_is_refused_and_changes_nothing(
        scene: dict[str, Any], reviewer: Any, officer: Any, client: Any) -> None:
    lot = scene["lot1"]
    score_all(lot, reviewer, POINTS, submit=False)
    assignment = services.reviewer_assignment(reviewer, lot)
    login(client, officer)
    response = client.post(f"/verwaltung/aufrufe/{scene['call'].reference}/begutachtung/gremium/{assignment.id}/entfernen")
    assert response.status_code == 409
    assert "Für Los 1 wurde bereits bewertet; die Besetzung kann nicht mehr geändert werden." in response.get_data(as_text=True)
    assert services.reviewer_assignment(reviewer, lot) is not None
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.REVIEWER_REMOVED)).all()
