"""Demo awards: a KIM call that went all the way to the public award notice.

An earlier procedure runs through the real services with the clock set back:
Caritas and Diakonie bid for lot 1, Caritas alone for lot 2; two officers
open the bids; Rita Gutachterin and Ralf Gutachter review both lots, Oksana
Zweitprüferin chairs, consolidates and closes. Olaf Vergabe proposes the
awards, Oksana approves them (four eyes); the information letters go out
(kept with PDF, mailed to the members); Diakonie objects during the
standstill and the objection is rejected with reasons; when the standstill
has ended the clock publishes the award notice. So the notice, the letters
(log in as Clara Caritas or Dirk Diakonie) and the procurement record (as an
officer) can be seen right after `make run`.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app

from portal.awards import services as awards
from portal.bids.opening import confirm_opening, start_opening
from portal.demo import DemoContext, replayed
from portal.demo.bids import _bid, _call
from portal.review import services as review
from portal.review.queries import eligibility_criteria, scored_criteria

#: Consolidated points per organisation key and lot number (both reviewers gave the same).
POINTS = {
    ("caritas", 1): {"K1": 4, "K2": 4, "K3": 3, "K4": 4, "K5": 3},
    ("diakonie", 1): {"K1": 3, "K2": 4, "K3": 4, "K4": 3, "K5": 4},
    ("caritas", 2): {"K1": 4, "K2": 3, "K3": 4, "K4": 4, "K5": 4},
}
REASONS = {
    4: "Das Konzept geht über die Mindestanforderungen hinaus und ist mit Beispielen belegt.",
    3: "Die Anforderungen sind erfüllt; einzelne Punkte bleiben allgemein beschrieben.",
}


def load(ctx: DemoContext) -> None:
    with replayed(days_ago=120) as clock, current_app.test_request_context("/"):
        _load(ctx, clock, deadline=clock() + timedelta(days=30))


def _load(ctx: DemoContext, clock: Any, *, deadline: Any) -> None:
    officer, officer2 = ctx.objects["officer"], ctx.objects["officer2"]
    rita, ralf = ctx.objects["reviewer1"], ctx.objects["reviewer2"]
    call = _call(ctx, officer, deadline=deadline, suffix="VERGEBEN",
                 title="Kommunales Integrationsmanagement – vergeben (Demo)",
                 summary="Demo: ein abgeschlossenes Verfahren mit Vergabebekanntmachung, Informationsschreiben, Rüge "
                         "und Vergabevermerk.")
    lot1, lot2 = call.lots[0], call.lots[1]
    caritas, diakonie = ctx.objects["caritas"], ctx.objects["diakonie"]
    clara, dirk = ctx.objects["caritas_member"], ctx.objects["diakonie_member"]
    clock.advance(days=4)
    bids = {
        ("caritas", 1): _bid(call, lot1, caritas, clara, clock),
        ("diakonie", 1): _bid(call, lot1, diakonie, dirk, clock),
        ("caritas", 2): _bid(call, lot2, caritas, clara, clock),
    }
    clock.set(deadline + timedelta(days=1))
    confirm_opening(start_opening(call, by=officer), by=officer2)

    clock.advance(days=1)
    review.name_chair(call, officer2, by=officer)
    for lot in (lot1, lot2):
        review.assign_reviewer(lot, rita, by=officer)
        review.assign_reviewer(lot, ralf, by=officer)
    clock.advance(days=1)
    for (org_key, number), bid in bids.items():
        lot = lot1 if number == 1 else lot2
        for user in (rita, ralf, officer2):
            if ctx.objects[org_key] in review.undeclared_organisations(user, lot):
                review.declare(lot, ctx.objects[org_key], by=user, conflict=False)
        for criterion in eligibility_criteria(lot):
            review.decide_eligibility(bid, criterion, met=True, by=officer2, reason="Der Nachweis liegt vollständig vor.")
    clock.advance(days=3)
    for lot in (lot1, lot2):
        for user in (rita, ralf):
            for (org_key, number), bid in bids.items():
                if number == lot.number:
                    points = POINTS[(org_key, number)]
                    review.save_scores(bid, {c.id: (points[c.code], f"{c.code}: {REASONS[points[c.code]]}")
                                             for c in scored_criteria(lot)}, by=user)
            review.submit_review(lot, by=user)
    clock.advance(days=1)
    for (org_key, number), bid in bids.items():
        lot = lot1 if number == 1 else lot2
        points = POINTS[(org_key, number)]
        review.consolidate_bid(bid, {c.id: (points[c.code], "") for c in scored_criteria(lot)}, by=officer2)
    for lot in (lot1, lot2):
        review.close_consolidation(lot, by=officer2)

    clock.advance(days=2)
    proposals = [awards.propose_award(lot, by=officer) for lot in (lot1, lot2)]
    clock.advance(hours=3)
    for proposal in proposals:
        awards.approve_award(proposal, by=officer2)  # the last approval sends the letters and starts the standstill
    clock.advance(days=2)
    objection = awards.lodge_objection(
        call, organisation=diakonie, by=dirk,
        text="Unter K1 wurde unser trägerübergreifendes Fallmanagement nicht berücksichtigt; wir bitten um erneute Prüfung.",
    )
    clock.advance(days=2)
    awards.answer_objection(objection, upheld=False, by=officer, answer=(
        "Das trägerübergreifende Fallmanagement ist unter K2 (Vernetzung) bewertet und dort mit 4 Punkten berücksichtigt; "
        "unter K1 war die Methodik des Case Managements zu beschreiben."))
    award_round = awards.current_round(call)
    assert award_round is not None
    clock.set(award_round.standstill_ends_at + timedelta(minutes=5))
    awards.finalise_due_awards()
    ctx.objects["awarded_call"] = call
    ctx.say(f"Aufruf {call.reference} vergeben: Bekanntmachung unter /vergaben/{call.reference}, Schreiben unter "
            f"/mitteilungen (Clara Caritas, Dirk Diakonie), Vergabevermerk unter /verwaltung/vergabe/{call.reference}.")
