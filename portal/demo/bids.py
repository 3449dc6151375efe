"""Demo bids: a second KIM call whose deadline has passed, with submitted bids to open.

So that the opening by two officers can be tried right after `make run`, this
step runs an earlier procedure through the real services with the injectable
clock set back in time: the call is published, Caritas and Diakonie submit
(Caritas twice for lot 1, Diakonie withdraws for lot 2), and the deadline
passed yesterday. Bids are sealed with the instance's BID_ENCRYPTION_KEY. The
audit events of this step therefore carry the back-dated times.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any


from portal.bids import services
from portal.calls.models import TIE_BREAK_LOT, Call, CriterionKind
from portal.calls.services import add_criterion, add_lot, create_call, publish_call
from portal.core import time as portal_time
from portal.core.pdfgen import render_pdf
from portal.demo import DemoContext, replayed

DEMO_TEXTS = {
    "K1": "Wir beraten rechtskreisübergreifend nach dem Case-Management-Regelkreis (Intake, Assessment, Hilfeplan, Monitoring, Evaluation).",
    "K2": "Wir sind mit Beratungsstellen in allen Kommunen der Region vertreten und arbeiten mit den Integrationslotsen zusammen.",
    "K3": "Sozialarbeiterin (B. A.) mit Arabisch- und Türkischkenntnissen; Einarbeitung durch das Kommunale Integrationszentrum; Vertretung im Team.",
    "K4": "Die Fallbeurteilung ist organisatorisch von unseren eigenen Angeboten getrennt; Fallbesprechungen mit externer Supervision.",
    "K5": "Mehrsprachige Sprechstunden, aufsuchende Beratung und Terminvergabe ohne Wartezeit.",
}


def _pdf(title: str, text: str) -> bytes:
    html = f"<html lang='de'><head><title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"
    return render_pdf(html, title=title)


def load(ctx: DemoContext) -> None:
    with replayed(days_ago=30) as clock:
        _load(ctx, clock, deadline=clock() + timedelta(days=29))


def _call(ctx: DemoContext, officer: Any, *, deadline: Any, suffix: str = "VORLAUF",
          title: str = "Kommunales Integrationsmanagement – Vorlauf (Frist abgelaufen)",
          summary: str = "Demo: ein früheres Verfahren, dessen Frist abgelaufen ist. Hier kann die Öffnung durch zwei "
                         "Personen erprobt werden.") -> Call:
    data = ctx.kim["call"]
    year = portal_time.now().year
    call = create_call(
        by=officer, reference=f"KIM-{year}-{suffix}", title=title, summary=summary,
        description="Für zwei Regionen wurden Träger für das Case Management gesucht.",
        contact="Kreis Siegen-Wittgenstein, Kommunales Integrationszentrum",
        question_deadline=deadline - timedelta(days=10), submission_deadline=deadline,
        scale_min=data["scale"]["min"], scale_max=data["scale"]["max"], scale_labels=dict(data["scale"]["labels"]),
        formula_text=data["formula"], tie_break_text=data["tie_break"], tie_break=["K1", "K2", TIE_BREAK_LOT],
    )
    for lot in data["lots"][:2]:
        add_lot(call, by=officer, number=lot["number"], title=lot["title"], region=lot["title"],
                municipalities=lot["municipalities"], positions=Decimal(str(lot["positions"])), budget=None, description="")
    for kind, key in ((CriterionKind.ELIGIBILITY, "eligibility_criteria"), (CriterionKind.SCORED, "scored_criteria")):
        scored = kind == CriterionKind.SCORED
        for item in data[key]:
            add_criterion(call, by=officer, kind=kind, code=item["code"], title=item["title"], lot_id=None,
                          description=item["description"], evidence="" if scored else item["description"],
                          weight=Decimal(item["weight"]) if scored else None)
    publish_call(call, by=officer)
    return call


def _bid(call: Call, lot: Any, organisation: Any, user: Any, clock: Any, *, suffix: str = "") -> Any:
    bid = services.start_bid(call=call, lot=lot, organisation=organisation, by=user)
    services.save_draft(
        bid, by=user,
        answers={c.id: DEMO_TEXTS.get(c.code, "Siehe Konzept.") + suffix for c in services.scored_criteria(bid)},
        declarations={c.id: True for c in services.eligibility_criteria(bid)},
        contact={"name": user.name, "email": user.email, "phone": "0271 12345"},
    )
    for criterion in services.eligibility_criteria(bid):
        if criterion.code == "E1":
            services.add_attachment(bid, by=user, data=_pdf("Freistellungsbescheid", f"{organisation.name} ist gemeinnützig (Demo)."),
                                    filename="Freistellungsbescheid 2025.pdf", title="Freistellungsbescheid", criterion=criterion)
    services.add_attachment(bid, by=user, data=_pdf(f"Konzept Los {lot.number}", f"Konzept von {organisation.name} (Demo)."),
                            filename=f"Konzept Los {lot.number} – {organisation.name[:20]}.pdf", title="Fachkonzept")
    clock.advance(hours=2)
    services.submit_bid(bid, by=user)
    return bid


def _load(ctx: DemoContext, clock: Any, *, deadline: Any) -> None:
    officer = ctx.objects["officer"]
    call = _call(ctx, officer, deadline=deadline)
    lot1, lot2 = call.lots[0], call.lots[1]
    caritas, diakonie = ctx.objects["caritas"], ctx.objects["diakonie"]
    clara, dirk = ctx.objects["caritas_member"], ctx.objects["diakonie_member"]
    clock.advance(days=5)
    first = _bid(call, lot1, caritas, clara, clock)
    _bid(call, lot2, caritas, clara, clock)
    _bid(call, lot1, diakonie, dirk, clock)
    withdrawn = _bid(call, lot2, diakonie, dirk, clock)
    clock.advance(days=3)
    services.save_draft(
        first, by=clara,
        answers={c.id: DEMO_TEXTS.get(c.code, "") + " (überarbeitet)" for c in services.scored_criteria(first)},
        declarations={c.id: True for c in services.eligibility_criteria(first)},
        contact={"name": clara.name, "email": clara.email, "phone": "0271 12345"},
    )
    services.submit_bid(first, by=clara)
    services.withdraw_bid(withdrawn, by=dirk)
    ctx.objects["closed_call"] = call
    ctx.say(f"Aufruf {call.reference} mit 4 Interessenbekundungen (eine zurückgezogen), Frist abgelaufen: "
            f"Öffnung unter /verwaltung/aufrufe/{call.reference}/oeffnung.")
