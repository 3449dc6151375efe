"""The procurement record (Vergabevermerk): generated from data and audit log, every step in the PDF."""
from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pikepdf
import pytest
from sqlalchemy import select

from portal.awards import services
from portal.awards.record import build_record
from portal.bids.models import BidVersion
from portal.calls.models import Amendment
from portal.extensions import db
from tests.conftest import login
from tests.core.test_pdfgen import pdftotext
from tests.factories_awards import ORGANISATIONS, decided_call
from tests.factories_calls import make_question

CARITAS, DIAKONIE, AWO = ORGANISATIONS


@pytest.fixture(autouse=True)
def german(app: Any) -> Any:
    from flask_babel import force_locale

    with force_locale("de"):
        yield


def test_record_pdf_contains_every_step_of_the_procedure(app, client, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, bids = decided_call(clock, officer, officer2)
    db.session.add(Amendment(call_id=call.id, number=1, reason="Frist für Fragen verlängert.", published_by_id=officer.id,
                             changes=[{"field": "question_deadline", "label": "Frist für Fragen", "before": "a", "after": "b"}]))
    make_question(call, bids[AWO].organisation, bids[AWO].organisation.active_members[0],
                  text="Gilt die Stelle in Los 1 auch für Teilzeit?", answer="Ja, eine Teilung ist möglich.")
    objection = services.lodge_objection(call, organisation=bids[AWO].organisation, by=bids[AWO].organisation.active_members[0],
                                         text="Unsere Mehrsprachigkeit wurde unter K5 nicht berücksichtigt.")
    services.answer_objection(objection, upheld=False, by=officer2, answer="K5 bewertet die Erreichbarkeit, nicht die Sprachen.")
    db.session.commit()
    clock.set(services.current_round(call).standstill_ends_at + timedelta(minutes=5))
    services.finalise_due_awards()
    db.session.commit()

    record = build_record(call)
    assert record.final_hash == record.events[-1].hash and record.events[-1].action == "call.state_changed"
    login(client, officer)
    html = client.get(f"/verwaltung/vergabe/{call.reference}/vergabevermerk")
    assert html.status_code == 200 and record.final_hash in html.text
    response = client.get(f"/verwaltung/vergabe/{call.reference}/vergabevermerk.pdf")
    assert response.status_code == 200
    with pikepdf.open(io.BytesIO(response.data)) as pdf:
        assert pdf.Root.MarkInfo.Marked is True and "/StructTreeRoot" in pdf.Root
        with pdf.open_metadata() as meta:
            assert meta["pdfuaid:part"] == "1"
    raw = pdftotext(response.data)
    text = " ".join(raw.split())
    compact = "".join(raw.split())

    versions = db.session.scalars(select(BidVersion)).all()
    steps = [
        f"Aufruf {call.reference} veröffentlicht",  # publication
        "Kriterien, Gewichte und Formel",
        "Änderungsbekanntmachung Nr. 1", "Frist für Fragen verlängert.",  # amendments
        "Gilt die Stelle in Los 1 auch für Teilzeit?", "Ja, eine Teilung ist möglich.",  # questions
        "Öffnung eingeleitet", "Öffnung bestätigt", officer.name, officer2.name,  # opening by two officers
        "Gutachter:in: Rita Gutachterin beauftragt", "Vorsitz der Bewertung: Vera Vorsitz beauftragt",  # assignments
        f"Erklärung zu {CARITAS}", "keine Befangenheit",  # conflict declarations
        f"{DIAKONIE}, E1 erfüllt", "Nachweis liegt vor.",  # eligibility
        f"{CARITAS}, K1: 5 Punkte", "Nachvollziehbar dargestellt",  # reviews: who scored what with which reason
        "Bewertung abgeschlossen",
        "Konsolidierung abgeschlossen",  # consolidation
        f"Rang 1 {CARITAS}", "Summe 81",  # ranking
        "Vergabe vorgeschlagen", "Vergabe freigegeben",  # proposal and approval
        "Informationsschreiben versandt (Runde 1)",  # letters
        "Stillhaltefrist 10 Tage", "Stillhaltefrist abgelaufen",  # standstill
        "Rüge erhoben", "Rüge zurückgewiesen", "K5 bewertet die Erreichbarkeit",  # objections and answers
        "Vergabebekanntmachung veröffentlicht",  # award notice
        "Seite 1 von",  # page numbers
    ]
    missing = [step for step in steps if step not in text]
    assert not missing, (missing, text)
    for version in versions:  # bids received with receipt numbers and hashes
        # pdftotext joins a hyphen at a line end into the word, so compare receipt numbers without hyphens.
        assert version.receipt_number.replace("-", "") in compact.replace("-", "") and version.digest in compact
    assert record.final_hash in compact  # the final audit hash of the call is printed
    # Reviewer scores name the reviewer in the step.
    assert "Rolf Gutachter" in text


def test_record_lists_a_cancellation(app, client, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    from portal.calls.services import cancel_call

    call, _bids = decided_call(clock, officer, officer2)
    cancel_call(call, reason="Die Förderung wurde gestrichen.", by=officer2)
    db.session.commit()
    record = build_record(call)
    notice_section = next(s for s in record.sections if s.key == "notice")
    assert any(s.what == "Aufruf aufgehoben" and "Förderung" in s.detail and s.who == officer2.name for s in notice_section.steps)
    letters = next(s for s in record.sections if s.key == "letters")
    assert sum("Aufhebung" in s.what for s in letters.steps) == 3
