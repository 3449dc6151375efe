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
#: Each reviewer's own justification per bid and criterion: (Rita Gutachterin, Ralf Gutachter). The chair
#: keeps the reviewers' points without a reason of her own, so the notice shows both, joined by " | ".
JUSTIFICATIONS = {
    ("caritas", 1): {
        "K1": ("Der Ablauf von der Erstberatung bis zur Übergabe an Regeldienste ist klar beschrieben; "
               "Qualitätsstandards und Dokumentation sind mit Beispielen belegt.",
               "Die Fallbeispiele zeigen eine rechtskreisübergreifende Beratung; die Kriterien für den Fallabschluss "
               "bleiben etwas knapp."),
        "K2": ("Der Träger ist in Bad Berleburg und Bad Laasphe mit eigenen Beratungsstellen vertreten; die "
               "Kooperation mit den Kommunen ist durch Vereinbarungen belegt.",
               "Gute Einbindung der Integrationslotsen und des Ehrenamts; für Erndtebrück ist eine regelmäßige "
               "Sprechstunde im Rathaus zugesagt."),
        "K3": ("Die Qualifikation der vorgesehenen Fachkraft ist nachgewiesen; zu Einarbeitung und Vertretung "
               "gibt es nur allgemeine Aussagen.",
               "Sprachkenntnisse in Arabisch und Türkisch sind vorhanden; die Vertretung im Urlaub ist nur mit "
               "einem Satz geregelt."),
        "K4": ("Die Trennung von Beratung und eigenen Angeboten des Verbands ist schriftlich festgelegt; "
               "Ratsuchende werden über andere Träger informiert.",
               "Ein Beirat mit Vertreterinnen der Zielgruppe soll zweimal im Jahr tagen; das stärkt die "
               "anwaltschaftliche Rolle."),
        "K5": ("Die Abgrenzung zur Migrationsberatung für Erwachsene ist beschrieben, zur Jugendmigrationsdienst-"
               "Arbeit fehlt sie.",
               "Die Zusammenarbeit mit dem Kommunalen Integrationszentrum wird genannt, aber nicht mit festen "
               "Absprachen unterlegt."),
    },
    ("diakonie", 1): {
        "K1": ("Das Konzept beschreibt Case Management vor allem als Einzelfallhilfe; Qualitätsstandards sind "
               "genannt, der Ablauf bleibt allgemein.",
               "Die Dokumentation ist gut geregelt, die Steuerung über mehrere Rechtskreise wird aber nur an einem "
               "Beispiel gezeigt."),
        "K2": ("Langjährige Präsenz in Bad Laasphe und enge Zusammenarbeit mit den Kirchengemeinden; "
               "Kooperationen mit den Kommunen sind belegt.",
               "Das Netz aus Ehrenamtlichen ist beeindruckend; mit den Integrationslotsen der Kommunen gibt es "
               "feste Treffen."),
        "K3": ("Zwei Fachkräfte mit Abschluss in Sozialer Arbeit und Erfahrung im Case Management; Einarbeitung "
               "nach einem festen Plan.",
               "Vertretung durch ein Team von drei Beraterinnen ist gesichert; Sprachkompetenzen in Farsi und "
               "Russisch sind belegt."),
        "K4": ("Die Unabhängigkeit der Fallbeurteilung wird zugesichert, aber nicht durch Verfahren abgesichert.",
               "Die Beteiligung der Zielgruppe ist vorgesehen, bleibt jedoch ohne konkretes Format."),
        "K5": ("Klare Absprachen mit der Migrationsberatung und dem Jugendmigrationsdienst verhindern "
               "Doppelberatung; Fallkonferenzen sind geplant.",
               "Die Zusammenarbeit mit dem Kommunalen Integrationszentrum ist in einem Kooperationsentwurf "
               "schriftlich geregelt."),
    },
    ("caritas", 2): {
        "K1": ("Der Ablauf des Case Managements ist für Burbach, Neunkirchen und Wilnsdorf einheitlich "
               "beschrieben und mit Qualitätsstandards hinterlegt.",
               "Überzeugendes Fallbeispiel zur Arbeitsmarktintegration über mehrere Rechtskreise; die Dokumentation "
               "folgt einem festen Schema."),
        "K2": ("Im südlichen Siegerland ist der Träger bisher nur mit einer Sprechstunde in Wilnsdorf vertreten; "
               "Kooperationen sind erst geplant.",
               "Die Vernetzung mit den Kommunen wird angekündigt, Ehrenamt und Integrationslotsen werden noch "
               "nicht konkret eingebunden."),
        "K3": ("Die vorgesehene Fachkraft hat langjährige Erfahrung in der Migrationsberatung; die Einarbeitung "
               "ist mit Hospitationen geplant.",
               "Vertretung durch das Team in Siegen ist zugesagt; Sprachkenntnisse in Polnisch und Rumänisch "
               "passen zur Zielgruppe der Region."),
        "K4": ("Die Beratung bleibt von eigenen Angeboten des Verbands getrennt; die Regeln dafür sind "
               "schriftlich festgelegt.",
               "Ratsuchende können eine zweite Meinung einholen; Rückmeldungen der Zielgruppe fließen in die "
               "jährliche Auswertung ein."),
        "K5": ("Die Abgrenzung zu den bestehenden Beratungsdiensten in Burbach und Neunkirchen ist mit Namen und "
               "Zuständigkeiten beschrieben.",
               "Feste monatliche Abstimmung mit dem Kommunalen Integrationszentrum; Doppelberatung wird über eine "
               "gemeinsame Fallübersicht vermieden."),
    },
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
        for index, user in enumerate((rita, ralf)):
            for (org_key, number), bid in bids.items():
                if number == lot.number:
                    points, texts = POINTS[(org_key, number)], JUSTIFICATIONS[(org_key, number)]
                    review.save_scores(bid, {c.id: (points[c.code], texts[c.code][index])
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
