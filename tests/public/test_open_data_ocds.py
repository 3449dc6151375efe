"""OCDS 1.1 packages: valid against the official schema, embargo kept, builders pluggable, cheap."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.public import ocds
from tests.factories_bids import close_call
from tests.ocds_validation import codelist, validation_errors

PACKAGE_URLS = ["/open-data/ocds/releases.json", "/open-data/ocds/records.json"]


def _get(client: Any, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.content_type == "application/json; charset=utf-8"
    return json.loads(response.get_data(as_text=True))


def _kind(url: str) -> str:
    return "record" if url.endswith(("records.json", "record.json")) else "release"


def _all_urls(procedures: dict[str, Any]) -> list[str]:
    urls = list(PACKAGE_URLS)
    for key in ("open_call", "bid_call", "cancelled"):
        reference = procedures[key].reference
        urls += [f"/open-data/ocds/{reference}/releases.json", f"/open-data/ocds/{reference}/record.json"]
    return urls


def _assert_valid(client: Any, urls: list[str]) -> list[dict[str, Any]]:
    packages = []
    for url in urls:
        package = _get(client, url)
        assert validation_errors(package, _kind(url)) == [], url
        assert package["extensions"] == ocds.EXTENSIONS
        packages.append(package)
    return packages


def _releases(package: dict[str, Any], reference: str) -> list[dict[str, Any]]:
    return [r for r in package["releases"] if r["ocid"].endswith(f"-{reference}")]


def test_every_package_validates_before_and_after_the_deadline(client, procedures, clock) -> None:  # type: ignore[no-untyped-def]
    urls = _all_urls(procedures)
    _assert_valid(client, urls)
    close_call(procedures["bid_call"], clock)
    packages = _assert_valid(client, urls)
    assert any("bids" in r for r in packages[0]["releases"])


def test_the_validator_finds_errors(client, procedures) -> None:  # type: ignore[no-untyped-def]
    """The check can fail: a wrong status, a bad date and a missing field are each reported."""
    package = _get(client, PACKAGE_URLS[0])
    package["releases"][0]["tender"]["status"] = "offen"
    package["releases"][0]["date"] = "gestern"
    del package["publisher"]
    errors = validation_errors(package)
    assert len(errors) == 3, errors
    assert any("date" in e for e in errors) and any("offen" in e for e in errors)


def test_stages_of_an_open_call(client, procedures) -> None:  # type: ignore[no-untyped-def]
    call = procedures["open_call"]
    package = _get(client, f"/open-data/ocds/{call.reference}/releases.json")
    tags = [r["tag"][0] for r in package["releases"]]
    assert tags == ["planning", "tender", "tenderAmendment"]
    planning, tender, amendment = package["releases"]
    assert "Konzeptentwurf Integration" in planning["planning"]["rationale"]
    assert planning["planning"]["budget"]["amount"] == {"amount": 200000.5, "currency": "EUR"}
    data = tender["tender"]
    assert data["id"] == call.reference and data["status"] == "active"
    assert [lot["id"] for lot in data["lots"]] == ["1", "2"]
    assert data["lots"][0]["value"] == {"amount": 120000.5, "currency": "EUR"}
    weights = [c["numbers"][0]["number"] for c in data["lots"][0]["awardCriteria"]["criteria"]]
    assert weights == [30, 25, 20, 15, 10] and sum(weights) == 100
    assert data["items"][1]["quantity"] == 1.5 and data["items"][1]["relatedLot"] == "2"
    assert data["hasEnquiries"] is True
    assert {d["documentType"] for d in data["documents"]} == {"tenderNotice", "biddingDocuments"}
    assert "E1 Eignung 1" in data["eligibilityCriteria"]
    change = amendment["tender"]["amendments"][0]
    assert change["rationale"] == "Mehr Stellen in Los 2." and "→" in change["description"]
    assert change["amendsReleaseID"] == tender["id"] and change["releaseID"] == amendment["id"]
    assert "bids" not in json.dumps(package)


def test_nothing_about_bids_before_the_deadline_then_counts_only(client, procedures, clock) -> None:  # type: ignore[no-untyped-def]
    call = procedures["bid_call"]
    url = f"/open-data/ocds/{call.reference}/record.json"
    before = json.dumps(_get(client, url))
    assert '"bids"' not in before and "tenderUpdate" not in before and "numberOfTenderers" not in before
    close_call(call, clock)
    text = json.dumps(_get(client, url), ensure_ascii=False)
    for organisation in procedures["organisations"]:
        assert organisation.name not in text
    for user in procedures["bidders"]:
        assert user.email not in text
    record = json.loads(text)["records"][0]
    bids = record["compiledRelease"]["bids"]
    per_lot = {s["relatedLot"]: s["value"] for s in bids["statistics"] if "relatedLot" in s}
    assert per_lot == {"1": 2, "2": 1}  # the withdrawn bid does not count
    assert [s["value"] for s in bids["statistics"] if "relatedLot" not in s] == [3]
    assert {d["submissionType"] for d in bids["details"]} == {"expressionOfInterest"}
    assert all("tenderers" not in d for d in bids["details"])
    assert [d["id"] for d in bids["details"]] == ["lot-1-bid-1", "lot-1-bid-2", "lot-2-bid-1"]
    assert record["compiledRelease"]["tender"]["numberOfTenderers"] == 2


def test_cancelled_call_and_drafts(client, procedures) -> None:  # type: ignore[no-untyped-def]
    package = _get(client, PACKAGE_URLS[1])
    references = {r["compiledRelease"]["tender"]["id"] for r in package["records"]}
    assert procedures["draft"].reference not in references
    assert "Geheimer Entwurf" not in json.dumps(package, ensure_ascii=False)
    cancelled = next(r for r in package["records"] if r["compiledRelease"]["tender"]["id"] == procedures["cancelled"].reference)
    compiled = cancelled["compiledRelease"]
    assert compiled["tag"] == ["compiled"] and compiled["tender"]["status"] == "cancelled"
    notice = next(d for d in compiled["tender"]["documents"] if d["documentType"] == "cancellationDetails")
    assert notice["description"] == "Der Bedarf ist entfallen."
    assert client.get(f"/open-data/ocds/{procedures['draft'].reference}/releases.json").status_code == 404
    assert client.get("/open-data/ocds/GIBT-ES-NICHT/record.json").status_code == 404


def test_open_codelist_values_come_from_the_codelists(client, procedures, clock) -> None:  # type: ignore[no-untyped-def]
    close_call(procedures["bid_call"], clock)
    package = _get(client, PACKAGE_URLS[0])
    for release in package["releases"]:
        assert set(release["tag"]) <= codelist("releaseTag")
        assert release["initiationType"] in codelist("initiationType")
        for party in release["parties"]:
            assert set(party["roles"]) <= codelist("partyRole")
        tender = release.get("tender", {})
        documents = tender.get("documents", []) + release.get("planning", {}).get("documents", [])
        assert {d["documentType"] for d in documents} <= codelist("documentType")
        if "awardCriteria" in tender:
            assert tender["awardCriteria"] in codelist("awardCriteria")
            assert set(tender["submissionMethod"]) <= codelist("submissionMethod")
            assert tender["procurementMethod"] in codelist("method")
            assert tender["mainProcurementCategory"] in codelist("procurementCategory")


def test_same_data_gives_the_same_bytes(client, procedures) -> None:  # type: ignore[no-untyped-def]
    first = client.get(PACKAGE_URLS[0]).get_data()
    assert client.get(PACKAGE_URLS[0]).get_data() == first


@pytest.fixture
def award_builder() -> Iterator[list[Any]]:
    """An award stage as the awards domain will register it (real registry, removed afterwards)."""
    seen: list[Any] = []

    def prefetch(calls: Any) -> dict[int, str]:
        seen.append(len(calls))
        return {c.id: "Gewinner e. V." for c in calls}

    def build(call: Any, winners: dict[int, str]) -> list[ocds.StageRelease]:
        if call.submission_deadline is None:
            return []
        award = {"id": f"{call.reference}-1", "status": "active", "date": ocds.iso(call.submission_deadline),
                 "relatedLots": ["1"], "suppliers": [{"id": "org-1", "name": winners[call.id]}]}
        return [ocds.StageRelease("award", call.submission_deadline, {"awards": [award]})]

    previous = ocds._builders.get("award")  # the awards domain's real builder
    ocds.register_release_builder("award", build, prefetch=prefetch)
    yield seen
    ocds.unregister_release_builder("award")
    if previous is not None:
        ocds.register_release_builder("award", previous.build, prefetch=previous.prefetch)


def test_a_registered_award_builder_is_part_of_every_package(client, procedures, award_builder) -> None:  # type: ignore[no-untyped-def]
    package = _get(client, PACKAGE_URLS[1])
    assert validation_errors(package, "record") == []
    assert award_builder == [3]  # prefetched once for all three public calls
    record = next(r for r in package["records"] if r["compiledRelease"]["tender"]["id"] == procedures["open_call"].reference)
    assert [r["tag"] for r in record["releases"]][-1] == ["award"]
    assert record["compiledRelease"]["awards"][0]["suppliers"][0]["name"] == "Gewinner e. V."
    csv_text = client.get("/open-data/awards.csv").get_data(as_text=True)
    assert f"{procedures['open_call'].reference},ocds-" in csv_text and "Gewinner e. V." in csv_text


def _count_queries(client: Any, url: str) -> int:
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("x")

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_packages_need_a_fixed_number_of_queries(client, procedures, clock, officer) -> None:  # type: ignore[no-untyped-def]
    from tests.factories_bids import make_open_call, make_submitted_bid

    close_call(procedures["bid_call"], clock)
    few = {url: _count_queries(client, url) for url in PACKAGE_URLS + ["/open-data/lots.csv"]}
    for _ in range(3):
        call = make_open_call(lots=3)
        make_submitted_bid(call, call.lots[0], procedures["bidders"][0])
    assert {url: _count_queries(client, url) for url in few} == few


def test_a_call_cancelled_before_its_deadline_keeps_its_bids_secret_until_then(client, procedures, clock, officer) -> None:  # type: ignore[no-untyped-def]
    """Counts become public at the deadline time, as the public audit log lifts its embargo then."""
    from portal.calls.services import cancel_call

    call = procedures["bid_call"]
    cancel_call(call, by=officer, reason="Das Land hat die Förderung gestrichen.")
    db.session.commit()
    url = f"/open-data/ocds/{call.reference}/record.json"
    compiled = _get(client, url)["records"][0]["compiledRelease"]
    assert compiled["tender"]["status"] == "cancelled" and "bids" not in compiled
    lots = client.get("/open-data/lots.csv").get_data(as_text=True)
    assert f"{call.reference},1,Region 1,,,1,,," in lots
    close_call(call, clock)
    compiled = _get(client, url)["records"][0]["compiledRelease"]
    assert [s["value"] for s in compiled["bids"]["statistics"]] == [3, 2, 1]


def test_the_awards_domain_registers_the_award_stage(app) -> None:  # type: ignore[no-untyped-def]
    from portal.awards import ocds as award_ocds

    assert ocds._builders["award"].build is award_ocds.build


def test_an_awarded_call_validates_with_its_award_only_after_the_standstill(client, app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    from portal.awards import services
    from tests.factories_awards import ORGANISATIONS, decided_call

    call, _bids = decided_call(clock, officer, officer2)
    urls = PACKAGE_URLS + [f"/open-data/ocds/{call.reference}/releases.json", f"/open-data/ocds/{call.reference}/record.json"]
    record_url = urls[-1]
    # During the standstill: no award, no winner, no supplier anywhere.
    for package in _assert_valid(client, urls):
        body = json.dumps(package, ensure_ascii=False)
        assert '"award"' not in body and "supplier" not in body
        assert not any(name in body for name in ORGANISATIONS)
    assert client.get("/open-data/awards.csv").get_data(as_text=True).count("\r\n") == 1  # header only
    award_round = services.current_round(call)
    clock.set(award_round.standstill_ends_at)
    assert services.finalise_due_awards() == [call]
    db.session.commit()
    _assert_valid(client, urls)
    record = _get(client, record_url)["records"][0]
    assert record["releases"][-1]["tag"] == ["award"]
    compiled = record["compiledRelease"]
    decision = services.current_decisions(call)[call.lots[0].id]
    winner = decision.winners[0]
    (award,) = compiled["awards"]
    assert award["status"] == "active"
    assert award["relatedLots"] == ["1"]
    assert award["date"] == ocds.iso(decision.approved_at)
    assert award["suppliers"] == [{"id": f"supplier-{winner.organisation_id}", "name": "Caritasverband Siegen e. V."}]
    assert "Gesamtpunktzahl 81" in award["description"]
    assert award["documents"][0]["documentType"] == "awardNotice"
    roles = {p["id"]: p["roles"] for p in compiled["parties"]}
    assert roles == {"buyer": ["buyer", "procuringEntity"], f"supplier-{winner.organisation_id}": ["supplier"]}
    assert compiled["tender"]["status"] == "complete"
    assert compiled["tender"]["lots"][0]["status"] == "complete"
    statuses = {d["id"]: d["status"] for d in compiled["bids"]["details"]}
    assert sorted(statuses.values()) == ["valid", "valid", "valid"]
    assert award["relatedBids"][0] in statuses
    body = json.dumps(record, ensure_ascii=False)
    assert ORGANISATIONS[1] not in body and ORGANISATIONS[2] not in body  # losing organisations never
    assert set(codelist("awardStatus")) >= {award["status"]}
    csv_text = client.get("/open-data/awards.csv").get_data(as_text=True)
    assert "award-lot-1" in csv_text and "Caritasverband Siegen e. V." in csv_text


def test_a_lot_without_award_is_unsuccessful(client, app, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    from portal.awards import services
    from tests.factories_awards import decide, reviewed_call

    call, _bids = reviewed_call(clock, officer, officer2)
    decide(call, officer, officer2, no_award=True, no_award_reason="Keine der Bewerbungen deckt den Bedarf im Sozialraum.",
           deviation_reason="Der Kreistag hat die Mittel für diesen Sozialraum gestrichen.")
    clock.set(services.current_round(call).standstill_ends_at)
    services.finalise_due_awards()
    db.session.commit()
    url = f"/open-data/ocds/{call.reference}/record.json"
    _assert_valid(client, [url])
    compiled = _get(client, url)["records"][0]["compiledRelease"]
    (award,) = compiled["awards"]
    assert award["status"] == "unsuccessful" and "suppliers" not in award
    assert "Keine der Bewerbungen" in award["description"]
    assert compiled["tender"]["status"] == "unsuccessful"
