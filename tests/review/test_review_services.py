"""The review services: panel, declarations, eligibility, scoring, consolidation, and every bad input."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.bids.permissions import can_read_bid_contents
from portal.bids.sealed import SealedAccessRefused, read_version
from portal.calls.models import CallState
from portal.core.errors import NotPermitted, Refused
from portal.extensions import db
from portal.review import services
from portal.review.models import Score
from portal.review.permissions import can_score, can_see_scores
from portal.review.queries import scored_criteria
from tests.factories_review import (
    JUSTIFICATION,
    declare_all,
    decide_all,
    make_opened_call,
    make_reviewer,
    score_all,
    set_up_panel,
)

ORGS = ("Anker e. V.", "Brücke gGmbH")
POINTS = {"Anker e. V.": {"K1": 4, "K2": 3, "K3": 5, "K4": 2, "K5": 3},
          "Brücke gGmbH": {"K1": 5, "K2": 2, "K3": 3, "K4": 4, "K5": 4}}


@pytest.fixture
def opened(officer: Any, officer2: Any, clock: Any) -> Any:
    return make_opened_call(clock, officer, officer2, organisations=ORGS)


@pytest.fixture
def lot(opened: Any) -> Any:
    return opened[0].lots[0]


@pytest.fixture
def bids(opened: Any) -> Any:
    return opened[1]


@pytest.fixture
def panel(lot: Any, officer: Any, reviewer: Any, reviewer2: Any, chair: Any) -> Any:
    set_up_panel(lot, officer, [reviewer, reviewer2], chair)
    return lot


def events(action: str) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
    return [json.loads(e.data_json) | {"_public": e.public, "_actor": e.actor_id} for e in rows]


def entries(lot: Any, points: dict[str, int], text: str = JUSTIFICATION) -> dict[int, tuple[Any, str]]:
    return {c.id: (points[c.code], text) for c in scored_criteria(lot)}


# --------------------------------------------------------------------------
# Panel
# --------------------------------------------------------------------------


def test_panel_assignment_moves_the_call_into_review_and_is_recorded(lot: Any, officer: Any, reviewer: Any, chair: Any) -> None:
    assert lot.call.state == CallState.OPENED
    services.assign_reviewer(lot, reviewer, by=officer)
    services.name_chair(lot.call, chair, by=officer)
    db.session.commit()
    assert lot.call.state == CallState.IN_REVIEW
    [assigned] = events("review.reviewer_assigned")
    assert assigned["reviewer"] == reviewer.id and assigned["lot"] == 1 and not assigned["_public"]
    assert events("review.chair_named")[0]["chair"] == chair.id
    assert events("call.state_changed")[-1]["to"] == "in_review"


def test_panel_rules(lot: Any, officer: Any, reviewer: Any, reviewer2: Any, chair: Any, observer: Any, bids: Any) -> None:
    with pytest.raises(NotPermitted):
        services.assign_reviewer(lot, reviewer, by=reviewer2)
    with pytest.raises(Refused, match="Rolle Gutachter"):
        services.assign_reviewer(lot, observer, by=officer)
    assignment = services.assign_reviewer(lot, reviewer, by=officer)
    with pytest.raises(Refused, match="bereits beauftragt"):
        services.assign_reviewer(lot, reviewer, by=officer)
    services.remove_reviewer(assignment, by=officer)
    assert events("review.reviewer_removed")[0]["reviewer"] == reviewer.id
    set_up_panel(lot, officer, [reviewer, reviewer2], chair)
    declare_all(lot, reviewer)
    score_all(lot, reviewer, POINTS, submit=False)
    # Scoring started on the lot: the panel of that lot is fixed.
    with pytest.raises(Refused, match="bereits bewertet"):
        services.assign_reviewer(lot, make_reviewer("Neu"), by=officer)
    with pytest.raises(Refused, match="bereits bewertet"):
        services.remove_reviewer(services.reviewer_assignment(reviewer2, lot), by=officer)
    # ... but the other lot is still open.
    services.assign_reviewer(lot.call.lots[1], reviewer2, by=officer)


def test_chair_can_change_until_the_first_decision(panel: Any, officer: Any, reviewer2: Any, chair: Any, bids: Any) -> None:
    with pytest.raises(Refused, match="hat den Vorsitz bereits"):
        services.name_chair(panel.call, chair, by=officer)
    declare_all(panel, chair)
    decide_all(panel, chair, bids.values())
    with pytest.raises(Refused, match="bereits entschieden"):
        services.name_chair(panel.call, reviewer2, by=officer)


# --------------------------------------------------------------------------
# Declarations and access to bids
# --------------------------------------------------------------------------


def test_declarations_gate_reading(panel: Any, officer: Any, reviewer: Any, reviewer2: Any, bids: Any) -> None:
    anker, bruecke = bids["Anker e. V."], bids["Brücke gGmbH"]
    assert not can_read_bid_contents(reviewer, anker)  # nothing before declaring
    with pytest.raises(SealedAccessRefused):
        read_version(anker.latest_version, user=reviewer)
    db.session.commit()
    assert events("bid.access_refused")[-1]["bid"] == anker.id
    declare_all(panel, reviewer, conflicts=["Anker e. V."])
    assert not can_read_bid_contents(reviewer, anker)
    assert can_read_bid_contents(reviewer, bruecke)
    assert json.loads(read_version(bruecke.latest_version, user=reviewer))["organisation"] == "Brücke gGmbH"
    [conflict] = [e for e in events("review.conflict_declared") if e["conflict"]]
    assert conflict["kind"] == "membership" and conflict["reason"] and conflict["organisation"] == anker.organisation_id
    assert len(events("review.conflict_declared")) == 2


def test_conflict_excludes_even_an_officer_who_reviews(panel: Any, officer: Any, bids: Any) -> None:
    from portal.accounts.models import Role, UserRole

    anker = bids["Anker e. V."]
    officer.roles.append(UserRole(role=Role.REVIEWER))
    db.session.commit()
    services.assign_reviewer(panel, officer, by=officer)
    assert can_read_bid_contents(officer, anker)  # officer rule after the opening
    declare_all(panel, officer, conflicts=["Anker e. V."])
    assert not can_read_bid_contents(officer, anker)


def test_reviewer_of_lot_one_cannot_read_or_score_a_bid_of_lot_two(officer: Any, officer2: Any, reviewer: Any,
                                                                   reviewer2: Any, chair: Any, clock: Any) -> None:
    call, bids = make_opened_call(clock, officer, officer2, organisations=["Zweites Los e. V."], lot_number=2)
    set_up_panel(call.lots[0], officer, [reviewer], chair)
    other = bids["Zweites Los e. V."]
    assert not can_read_bid_contents(reviewer, other)
    with pytest.raises(NotPermitted, match="Los 2 nicht"):
        services.declare(other.lot, other.organisation, by=reviewer, conflict=False)
    with pytest.raises(NotPermitted, match="Los 2 nicht"):
        services.save_scores(other, entries(other.lot, POINTS["Anker e. V."]), by=reviewer)


def test_declaration_input_rules(panel: Any, reviewer: Any, bids: Any) -> None:
    anker = bids["Anker e. V."].organisation
    with pytest.raises(Refused, match="Art der Befangenheit") as kind:
        services.declare(panel, anker, by=reviewer, conflict=True, reason="Vorstand")
    assert kind.value.field == "kind"
    with pytest.raises(Refused, match="worin") as reason:
        services.declare(panel, anker, by=reviewer, conflict=True, kind="family", reason="  ")
    assert reason.value.field == "reason"
    services.declare(panel, anker, by=reviewer, conflict=True, kind="family", reason="Meine Schwester leitet den Verein.")
    with pytest.raises(Refused, match="endgültig"):
        services.declare(panel, anker, by=reviewer, conflict=False)


def test_later_conflict_withdraws_the_scores_for_that_bid(panel: Any, reviewer: Any, bids: Any) -> None:
    declare_all(panel, reviewer)
    score_all(panel, reviewer, POINTS, submit=False)
    anker = bids["Anker e. V."]
    services.declare(panel, anker.organisation, by=reviewer, conflict=True, kind="employment",
                     reason="Ich habe erfahren, dass mein Arbeitgeber den Träger berät.")
    db.session.commit()
    left = db.session.scalars(select(Score).where(Score.reviewer_id == reviewer.id)).all()
    assert {s.bid_id for s in left} == {bids["Brücke gGmbH"].id}
    revised = events("review.conflict_declared")[-1]
    assert revised["revised"] and [w["points"] for w in revised["withdrawn_scores"]] == [4, 3, 5, 2, 3]
    assert not can_score(reviewer, anker)


# --------------------------------------------------------------------------
# Scoring: bad input
# --------------------------------------------------------------------------


def test_score_outside_the_scale_and_missing_justification(panel: Any, reviewer: Any, bids: Any) -> None:
    declare_all(panel, reviewer)
    bid = bids["Anker e. V."]
    k1, k2, *_ = scored_criteria(panel)
    with pytest.raises(services.InvalidEntries) as bad:
        services.save_scores(bid, {k1.id: (6, JUSTIFICATION), k2.id: ("-1", JUSTIFICATION)}, by=reviewer)
    assert set(bad.value.problems) == {f"points_{k1.id}", f"points_{k2.id}"}
    assert "zwischen 0 und 5" in str(bad.value.problems[f"points_{k1.id}"])
    with pytest.raises(services.InvalidEntries) as missing:
        services.save_scores(bid, {k1.id: (3, ""), k2.id: (3, "zu kurz")}, by=reviewer)
    assert set(missing.value.problems) == {f"justification_{k1.id}", f"justification_{k2.id}"}
    assert "mindestens 30 Zeichen, bisher 7" in str(missing.value.problems[f"justification_{k2.id}"])
    with pytest.raises(services.InvalidEntries) as no_points:
        services.save_scores(bid, {k1.id: ("", JUSTIFICATION)}, by=reviewer)
    assert list(no_points.value.problems) == [f"points_{k1.id}"]
    assert db.session.scalars(select(Score)).all() == []  # nothing saved from a bad form


def test_scoring_before_declaring_and_with_a_conflict(panel: Any, reviewer: Any, bids: Any) -> None:
    anker = bids["Anker e. V."]
    with pytest.raises(Refused, match="zuerst Ihre Befangenheitserklärung"):
        services.save_scores(anker, entries(panel, POINTS["Anker e. V."]), by=reviewer)
    declare_all(panel, reviewer, conflicts=["Anker e. V."])
    with pytest.raises(NotPermitted, match="Befangenheit erklärt"):
        services.save_scores(anker, entries(panel, POINTS["Anker e. V."]), by=reviewer)


def test_submit_needs_every_score_and_hides_others_until_then(panel: Any, reviewer: Any, reviewer2: Any, bids: Any) -> None:
    declare_all(panel, reviewer)
    declare_all(panel, reviewer2)
    bid = bids["Anker e. V."]
    services.save_scores(bid, entries(panel, POINTS["Anker e. V."]), by=reviewer)
    assert services.review_progress(services.reviewer_assignment(reviewer, panel)) == services.Progress(5, 10)
    with pytest.raises(Refused, match="fehlen noch 5 von 10"):
        services.submit_review(panel, by=reviewer)
    score_all(panel, reviewer2, POINTS)
    assert can_see_scores(reviewer2, panel) and not can_see_scores(reviewer, panel)
    score_all(panel, reviewer, POINTS)
    assert can_see_scores(reviewer, panel)
    [first, second] = events("review.submitted")
    assert first["_actor"] == reviewer2.id and len(second["scores"]) == 10
    assert second["scores"][0] == {"bid": bid.id, "criterion": "K1", "points": 4, "justification": f"K1: {JUSTIFICATION}"}
    with pytest.raises(Refused, match="wieder"):
        services.save_scores(bid, entries(panel, POINTS["Brücke gGmbH"]), by=reviewer)


def test_reopen_needs_a_reason_and_is_recorded(panel: Any, reviewer: Any, bids: Any) -> None:
    declare_all(panel, reviewer)
    score_all(panel, reviewer, POINTS)
    with pytest.raises(Refused, match="begründen") as refusal:
        services.reopen_review(panel, by=reviewer, reason="")
    assert refusal.value.field == "reason"
    services.reopen_review(panel, by=reviewer, reason="Anlage zu K3 übersehen.")
    db.session.commit()
    assert not can_see_scores(reviewer, panel)
    assert events("review.reopened")[0]["reason"] == "Anlage zu K3 übersehen."
    services.save_scores(bids["Anker e. V."], entries(panel, POINTS["Brücke gGmbH"]), by=reviewer)


# --------------------------------------------------------------------------
# Eligibility and consolidation
# --------------------------------------------------------------------------


def test_eligibility_by_the_chair_only_and_exclusion(panel: Any, reviewer: Any, chair: Any, bids: Any) -> None:
    anker = bids["Anker e. V."]
    [e1, _e2] = [c for c in panel.call.criteria_for(panel) if c.kind == "eligibility"]
    with pytest.raises(NotPermitted):
        services.decide_eligibility(anker, e1, met=True, reason="ok", by=reviewer)
    with pytest.raises(NotPermitted, match="nicht befangen"):
        services.decide_eligibility(anker, e1, met=True, reason="ok", by=chair)
    declare_all(panel, chair)
    with pytest.raises(Refused, match="begründen"):
        services.decide_eligibility(anker, e1, met=False, reason="", by=chair)
    services.decide_eligibility(anker, e1, met=False, reason="Kein Nachweis der Gemeinnützigkeit.", by=chair)
    db.session.commit()
    assert services.is_excluded(anker)
    assert events("review.eligibility_decided")[0] | {"_actor": None} == {
        "call": panel.call.reference, "lot": 1, "bid": anker.id, "organisation": anker.organisation_id,
        "criterion": "E1", "met": False, "reason": "Kein Nachweis der Gemeinnützigkeit.", "previous": None,
        "_public": False, "_actor": None}
    declare_all(panel, reviewer)
    assert [b.organisation.name for b in services.bids_to_score(services.reviewer_assignment(reviewer, panel))] == ["Brücke gGmbH"]


def test_consolidating_before_all_reviews_are_in(panel: Any, reviewer: Any, chair: Any, bids: Any) -> None:
    declare_all(panel, chair)
    declare_all(panel, reviewer)
    score_all(panel, reviewer, POINTS)
    bid = bids["Anker e. V."]
    with pytest.raises(Refused, match="erst möglich, wenn alle Bewertungen vorliegen.*Ralf Gutachter"):
        services.consolidate_bid(bid, entries(panel, POINTS["Anker e. V."], ""), by=chair)


def test_consolidation_median_reason_close_and_no_change_afterwards(panel: Any, reviewer: Any, reviewer2: Any,
                                                                   chair: Any, bids: Any) -> None:
    for user in (reviewer, reviewer2, chair):
        declare_all(panel, user)
    decide_all(panel, chair, bids.values())
    score_all(panel, reviewer, POINTS)
    other = {name: {**values, "K1": values["K1"] - 1} for name, values in POINTS.items()}
    score_all(panel, reviewer2, other)
    anker = bids["Anker e. V."]
    k1 = scored_criteria(panel)[0]
    stats = services.submitted_scores(panel)[(anker.id, k1.id)]
    assert (stats.points, stats.mean, stats.median, stats.spread) == ([3, 4], Decimal("3.5"), Decimal("3.5"), 1)
    # K1: median 3.5, so 4 differs and needs a reason; other criteria agree (median = points).
    with pytest.raises(services.InvalidEntries) as refusal:
        services.consolidate_bid(anker, entries(panel, POINTS["Anker e. V."], ""), by=chair)
    assert list(refusal.value.problems) == [f"reason_{k1.id}"]
    assert "Median der Gutachten (3,5)" in str(refusal.value.problems[f"reason_{k1.id}"])
    with pytest.raises(services.InvalidEntries) as scale:
        services.consolidate_bid(anker, {k1.id: (9, "weil")}, by=chair)
    assert list(scale.value.problems) == [f"points_{k1.id}"]
    with pytest.raises(Refused, match="noch nicht abgeschlossen werden.*Brücke gGmbH"):
        services.close_consolidation(panel, by=chair)
    for name, bid in bids.items():
        values = {c.id: (POINTS[name][c.code], "Konzept überzeugt im Gespräch." if c.code == "K1" else "")
                  for c in scored_criteria(panel)}
        services.consolidate_bid(bid, values, by=chair)
    db.session.commit()
    assert events("review.score_consolidated")[0]["median"] == "3.5"
    with pytest.raises(NotPermitted):
        services.close_consolidation(panel, by=reviewer)
    services.close_consolidation(panel, by=chair)
    db.session.commit()
    assert [e["lot"] for e in events("review.consolidation_closed")] == [1]
    fixed = events("review.ranking_fixed")[0]
    assert [(e["organisation"], e["rank"], e["total"]) for e in fixed["entries"]] == [
        (bids["Brücke gGmbH"].organisation_id, 1, "72.00"), (anker.organisation_id, 2, "71.00")]
    with pytest.raises(Refused, match="abgeschlossen; es kann nichts mehr geändert werden"):
        services.consolidate_bid(anker, {k1.id: (5, "Nachträglich")}, by=chair)
    with pytest.raises(Refused, match="abgeschlossen"):
        services.reopen_review(panel, by=reviewer, reason="zu spät")
    with pytest.raises(Refused, match="abgeschlossen"):
        services.decide_eligibility(anker, panel.call.criteria_for(panel)[0], met=False, reason="zu spät", by=chair)


def test_a_chair_who_reviews_sees_scores_only_after_submitting(panel: Any, officer: Any, chair: Any,
                                                               reviewer: Any, bids: Any) -> None:
    from portal.review.permissions import can_consolidate

    services.assign_reviewer(panel, chair, by=officer)
    declare_all(panel, reviewer)
    score_all(panel, reviewer, POINTS)
    assert not can_consolidate(chair, panel) and not can_see_scores(chair, panel)
    declare_all(panel, chair)
    score_all(panel, chair, POINTS)
    assert can_consolidate(chair, panel) and can_see_scores(chair, panel)
