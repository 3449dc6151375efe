"""Demo review: a KIM call in review, so that every review screen can be tried after `make run`.

An earlier procedure is run through the real services with the clock set
back: Caritas and Diakonie bid for lot 1, Caritas for lot 2; the bids were
opened by two officers. Oksana Zweitprüferin chairs the panel; Rita
Gutachterin and Ralf Gutachter review lot 1, Ralf also lot 2. Rita declared a
conflict for Diakonie (membership). In lot 1 both reviews are submitted and
the eligibility is decided, so the chair can consolidate and close; in lot 2
Ralf has scored one criterion so far.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.bids.opening import confirm_opening, start_opening
from portal.demo import DemoContext, replayed
from portal.demo.bids import _bid, _call
from portal.review import services
from portal.review.queries import eligibility_criteria, scored_criteria

#: Points per organisation key and criterion code, one line per reviewer, each with the reviewer's own
#: justification (points, text).
SCORES = {
    "reviewer1": {"caritas": {
        "K1": (4, "Klarer Ablauf von der Erstberatung bis zur Übergabe an Regeldienste; Standards und Dokumentation "
                  "sind mit Beispielen belegt."),
        "K2": (4, "Eigene Beratungsstellen in Bad Berleburg und Bad Laasphe; die Zusammenarbeit mit den Kommunen ist "
                  "vertraglich geregelt."),
        "K3": (3, "Die Qualifikation der Fachkraft ist nachgewiesen; Einarbeitung und Vertretung sind nur allgemein "
                  "beschrieben."),
        "K4": (4, "Beratung und eigene Angebote des Verbands sind schriftlich getrennt; Ratsuchende erfahren von "
                  "anderen Trägern."),
        "K5": (3, "Die Abgrenzung zur Migrationsberatung ist beschrieben, zum Jugendmigrationsdienst fehlt sie."),
    }},
    "reviewer2": {
        "caritas": {
            "K1": (4, "Die Fallbeispiele zeigen eine Beratung über mehrere Rechtskreise; die Kriterien für den "
                      "Fallabschluss sind knapp."),
            "K2": (3, "Die Kooperationen bestehen vor allem in Bad Berleburg; für Erndtebrück bleibt das Angebot "
                      "unbestimmt."),
            "K3": (3, "Sprachkenntnisse in Arabisch und Türkisch sind vorhanden; die Urlaubsvertretung ist nur mit "
                      "einem Satz geregelt."),
            "K4": (4, "Ein Beirat mit Vertreterinnen der Zielgruppe soll zweimal im Jahr tagen; das stärkt die "
                      "anwaltschaftliche Rolle."),
            "K5": (4, "Feste Absprachen mit dem Kommunalen Integrationszentrum und eine gemeinsame Fallübersicht "
                      "vermeiden Doppelberatung."),
        },
        "diakonie": {
            "K1": (3, "Case Management wird vor allem als Einzelfallhilfe beschrieben; die Steuerung über mehrere "
                      "Rechtskreise bleibt allgemein."),
            "K2": (4, "Das Netz aus Ehrenamtlichen in Bad Laasphe ist beeindruckend; mit den Integrationslotsen gibt "
                      "es feste Treffen."),
            "K3": (4, "Zwei erfahrene Fachkräfte, Einarbeitung nach festem Plan; Sprachkompetenzen in Farsi und "
                      "Russisch sind belegt."),
            "K4": (3, "Die Unabhängigkeit wird zugesichert, aber nicht durch ein Verfahren abgesichert; die "
                      "Beteiligung bleibt ohne Format."),
            "K5": (4, "Klare Absprachen mit der Migrationsberatung und dem Jugendmigrationsdienst; Fallkonferenzen "
                      "sind geplant."),
        },
    },
}
#: Ralf's first score in lot 2 (in progress).
LOT2_FIRST = (3, "Der Ablauf ist für alle drei Kommunen beschrieben; Qualitätsstandards werden nur angekündigt.")


def load(ctx: DemoContext) -> None:
    with replayed(days_ago=60) as clock:
        _load(ctx, clock, deadline=clock() + timedelta(days=20))


def _load(ctx: DemoContext, clock: Any, *, deadline: Any) -> None:
    officer, officer2 = ctx.objects["officer"], ctx.objects["officer2"]
    rita, ralf = ctx.objects["reviewer1"], ctx.objects["reviewer2"]
    call = _call(ctx, officer, deadline=deadline, suffix="BEWERTUNG",
                 title="Kommunales Integrationsmanagement – Bewertung (Demo)",
                 summary="Demo: ein Verfahren in der Bewertung. Hier können Befangenheitserklärung, Bewertung, "
                         "Konsolidierung und Rangfolge erprobt werden.")
    lot1, lot2 = call.lots[0], call.lots[1]
    caritas, diakonie = ctx.objects["caritas"], ctx.objects["diakonie"]
    clara, dirk = ctx.objects["caritas_member"], ctx.objects["diakonie_member"]
    clock.advance(days=3)
    bids = {
        (1, "caritas"): _bid(call, lot1, caritas, clara, clock),
        (1, "diakonie"): _bid(call, lot1, diakonie, dirk, clock),
        (2, "caritas"): _bid(call, lot2, caritas, clara, clock),
    }
    clock.set(deadline + timedelta(days=1))
    confirm_opening(start_opening(call, by=officer), by=officer2)

    clock.advance(days=1)
    services.name_chair(call, officer2, by=officer)
    services.assign_reviewer(lot1, rita, by=officer)
    services.assign_reviewer(lot1, ralf, by=officer)
    services.assign_reviewer(lot2, ralf, by=officer)

    clock.advance(days=1)
    services.declare(lot1, caritas, by=rita, conflict=False)
    services.declare(lot1, diakonie, by=rita, conflict=True, kind="membership",
                     reason="Ich bin ehrenamtlich im Vorstand des Diakonischen Werks.")
    for lot, organisations in ((lot1, (caritas, diakonie)), (lot2, (caritas,))):
        for organisation in organisations:
            services.declare(lot, organisation, by=ralf, conflict=False)
            services.declare(lot, organisation, by=officer2, conflict=False)

    clock.advance(days=1)
    for bid in (bids[(1, "caritas")], bids[(1, "diakonie")]):
        for criterion in eligibility_criteria(lot1):
            services.decide_eligibility(bid, criterion, met=True, by=officer2,
                                        reason="Der Nachweis liegt vollständig vor.")

    clock.advance(days=2)
    for key, user in (("reviewer1", rita), ("reviewer2", ralf)):
        for org_key, scores in SCORES[key].items():
            bid = bids[(1, org_key)]
            services.save_scores(bid, {c.id: scores[c.code] for c in scored_criteria(lot1)}, by=user)
        services.submit_review(lot1, by=user)
    first = scored_criteria(lot2)[0]
    services.save_scores(bids[(2, "caritas")], {first.id: LOT2_FIRST}, by=ralf)
    ctx.objects["review_call"] = call
    ctx.say(f"Aufruf {call.reference} in der Bewertung: Los 1 bereit zur Konsolidierung (Vorsitz: {officer2.name}), "
            f"Los 2 in Bearbeitung; Übersicht unter /verwaltung/aufrufe/{call.reference}/begutachtung.")
