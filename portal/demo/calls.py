"""Demo calls: the KIM call (published, open), answered questions, an amendment, a cancelled call.

Everything goes through the services, so the demo has the same audit trail
and e-mails as real use. Dates are computed from now(): after `make run` the
KIM call is open for a few more weeks.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import force_locale

from portal.calls.amendments import amend_call
from portal.calls.models import TIE_BREAK_LOT, Call, CriterionKind
from portal.calls.notifications import follow_call
from portal.calls.questions import ask_question, publish_answer
from portal.calls.services import add_criterion, add_document, add_lot, cancel_call, create_call, publish_call
from portal.core.pdfgen import render_pdf
from portal.core.time import BERLIN, from_berlin, now
from portal.demo import DemoContext

#: The KIM regions (the demo file names only the lot titles, which are the regions).
KIM_DESCRIPTION = """Das Land NRW fördert mit dem Programm **Kommunales Integrationsmanagement (KIM)** die
rechtskreisübergreifende Zusammenarbeit zur Integration eingewanderter Menschen.

Der Kreis vergibt das **Case Management** in fünf Regionen an gemeinnützige freie Träger. Je Region (Los)
kann eine Interessenbekundung abgegeben werden; ein Träger kann sich für mehrere Lose bewerben.

## Was erwartet wird
- lebenslagenbezogene, rechtskreisübergreifende Beratung im Einzelfall,
- enge Zusammenarbeit mit den Kommunen der Region und dem Kommunalen Integrationszentrum,
- Dokumentation nach den Vorgaben des Landes.
"""


def _local_day(days: int, hour: int) -> datetime:
    """Berlin wall-clock `hour`:00 on the day `days` from today, as UTC."""
    day = (now().astimezone(BERLIN) + timedelta(days=days)).date()
    return from_berlin(datetime.combine(day, time(hour, 0)))


def _pdf(title: str, text: str) -> bytes:
    return render_pdf(f"<html lang='de'><head><title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>", title=title)


def load_kim_call(ctx: DemoContext, officer: Any) -> Call:
    data = ctx.kim["call"]
    scale = data["scale"]
    call = create_call(
        by=officer,
        reference=data["reference"].replace("2022", str(now().year)),
        title=data["title"],
        summary=data["summary"],
        description=KIM_DESCRIPTION,
        funding_note=data["funding"],
        contact="Kreis Siegen-Wittgenstein, Kommunales Integrationszentrum\nE-Mail: vergabe@demo.ibv-portal.de",
        consultation_id=getattr(ctx.objects.get("kim_consultation"), "id", None),
        question_deadline=_local_day(14, 12),
        submission_deadline=_local_day(28, 12),
        decision_planned_on=(now() + timedelta(days=42)).date(),
        standstill_days=data["timeline"]["standstill_days"],
        scale_min=scale["min"],
        scale_max=scale["max"],
        scale_labels=dict(scale["labels"]),
        formula_text=data["formula"],
        tie_break_text=data["tie_break"],
        tie_break=["K1", "K2", TIE_BREAK_LOT],
    )
    for lot in data["lots"]:
        add_lot(call, by=officer, number=lot["number"], title=lot["title"], region=lot["title"],
                municipalities=lot["municipalities"], positions=Decimal(str(lot["positions"])), budget=None, description="")
    for criterion in data["eligibility_criteria"]:
        add_criterion(call, by=officer, kind=CriterionKind.ELIGIBILITY, code=criterion["code"], title=criterion["title"],
                      description=criterion["description"], evidence=criterion["description"], weight=None, lot_id=None)
    for criterion in data["scored_criteria"]:
        add_criterion(call, by=officer, kind=CriterionKind.SCORED, code=criterion["code"], title=criterion["title"],
                      description=criterion["description"], evidence="", weight=Decimal(criterion["weight"]), lot_id=None)
    add_document(call, title="Konzept Kommunales Integrationsmanagement", filename="KIM-Konzept.pdf", by=officer,
                 data=_pdf("Konzept KIM", "Konzept des Kreises für das Kommunale Integrationsmanagement (Demo)."))
    publish_call(call, by=officer)
    return call


def load(ctx: DemoContext) -> None:
    with force_locale("de"):  # the CLI has no request to take the language from
        _load(ctx)


def _load(ctx: DemoContext) -> None:
    officer = ctx.objects["officer"]
    call = load_kim_call(ctx, officer)
    caritas, diakonie = ctx.objects["caritas"], ctx.objects["diakonie"]
    clara, dirk = ctx.objects["caritas_member"], ctx.objects["diakonie_member"]
    follow_call(call, by=clara)
    follow_call(call, by=dirk)
    qa = [
        (caritas, clara, "Können wir uns für mehrere Lose bewerben, und muss dann je Los ein eigenes Konzept eingereicht werden?",
         "Ja. Ein Träger kann sich für mehrere Lose bewerben. Je Los ist eine eigene Interessenbekundung nötig; "
         "das Fachkonzept darf gleich sein, die Angaben zur Verankerung in der Region (K2) beziehen sich auf das jeweilige Los."),
        (diakonie, dirk, "Muss die Case-Management-Fachkraft bereits bei Abgabe der Interessenbekundung namentlich feststehen?",
         "Nein. Es genügt, Qualifikationsprofil, Einarbeitung und Vertretung zu beschreiben (K3). Namen werden nicht verlangt."),
        (caritas, clara, "Wie wird die Unabhängigkeit der Fallbeurteilung in der Bewertung berücksichtigt?",
         "Über das Kriterium K4 (15 %). Beschreiben Sie, wie Ihr Träger die Fallbeurteilung von eigenen Angeboten trennt."),
    ]
    for organisation, user, question_text, answer in qa:
        question = ask_question(call, organisation=organisation, text=question_text, by=user)
        publish_answer(question, answer=answer, by=officer)
    ask_question(call, organisation=diakonie, text="Gibt es eine Vorlage für das Personalkonzept?", by=dirk)
    siegen = next(lot for lot in call.lots if lot.number == 5)
    amend_call(call, by=officer, reason="Die Stadt Siegen hat zusätzliche Landesmittel erhalten; im Los 5 sind daher 2,5 Stellen zu besetzen.",
               changes={f"lot.{siegen.number}.positions": Decimal("2.5"),
                        "call.contact": call.contact + "\nTelefon: 0271 333-0 (Mo–Fr 9–12 Uhr)"})

    other = create_call(
        by=officer,
        reference=f"FSA-{now().year}-02",
        title="Interessenbekundungsverfahren: Flüchtlingssozialarbeit in Gemeinschaftsunterkünften",
        summary="Sozialarbeit in zwei Gemeinschaftsunterkünften des Kreises.",
        description="Der Kreis suchte Träger für die Sozialarbeit in den Gemeinschaftsunterkünften Netphen und Burbach.",
        contact="Kreis Siegen-Wittgenstein, Sozialamt",
        question_deadline=_local_day(20, 12), submission_deadline=_local_day(35, 12),
        scale_min=0, scale_max=3, scale_labels={"0": "nicht erfüllt", "1": "teilweise erfüllt", "2": "erfüllt", "3": "übertroffen"},
        formula_text="Summe über die Kriterien (Gewicht in % × Punkte / 3).",
        tie_break_text="Bei Gleichstand entscheidet das Los.", tie_break=[TIE_BREAK_LOT],
    )
    add_lot(other, by=officer, number=1, title="Gemeinschaftsunterkunft Netphen", region="Netphen und Freudenberg",
            municipalities=["Netphen"], positions=Decimal("1.5"), budget=Decimal("95000"), description="")
    add_criterion(other, by=officer, kind=CriterionKind.SCORED, code="K1", title="Konzept", description="", evidence="",
                  weight=Decimal(100), lot_id=None)
    publish_call(other, by=officer)
    cancel_call(other, by=officer, reason="Die Unterkunft wird vom Land übernommen; der Bedarf ist entfallen.")
    ctx.objects["kim_call"] = call
    ctx.say(f"Aufruf {call.reference} veröffentlicht (3 beantwortete Fragen, 1 Änderung); {other.reference} aufgehoben.")
