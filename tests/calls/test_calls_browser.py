"""Done-when for calls: the KIM call built from scratch in a real browser, checked by axe on every page."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import icalendar
import pytest

from portal.extensions import db
from tests.browser_support import check_a11y, signed_in_tab

pytestmark = pytest.mark.browser
KIM = json.loads((Path(__file__).resolve().parents[2] / "portal" / "demo" / "kim-siegen-wittgenstein.json").read_text())["call"]


def submit(tab: Any, label: str) -> None:
    tab.get_by_role("button", name=label).click()
    tab.wait_for_load_state()


def test_officer_builds_and_publishes_the_kim_call_bidder_asks_public_sees_everything(
    browser, app, live_server, page, officer, bidder, organisation, clock  # type: ignore[no-untyped-def]
) -> None:
    office = signed_in_tab(browser, app, live_server, officer)
    office.goto("/verwaltung/aufrufe/neu")
    check_a11y(office)
    office.fill("#reference", KIM["reference"])
    office.fill("#title", KIM["title"])
    office.fill("#summary", KIM["summary"])
    office.fill("#description", "Der Kreis vergibt das **Case Management** in fünf Regionen.\n\n<script>alert(1)</script>")
    office.fill("#funding_note", KIM["funding"])
    office.fill("#contact", "Kommunales Integrationszentrum")
    office.fill("#question_deadline", "2026-03-20T12:00")
    office.fill("#submission_deadline", "2026-04-03T12:00")
    office.fill("#scale_labels", "\n".join(f"{k} = {v}" for k, v in KIM["scale"]["labels"].items()))
    office.fill("#formula_text", KIM["formula"])
    office.fill("#tie_break_text", KIM["tie_break"])
    office.fill("#tie_break", "K1, K2, Los")
    submit(office, "Speichern")
    check_a11y(office)
    admin_url = office.url
    for lot in KIM["lots"]:
        office.goto(admin_url + "/lose/neu")
        office.fill("#title", lot["title"])
        office.fill("#region", lot["title"])
        office.fill("#municipalities", "\n".join(lot["municipalities"]))
        office.fill("#positions", str(lot["positions"]).replace(".", ","))
        submit(office, "Los speichern")
    check_a11y(office)
    for criterion in KIM["eligibility_criteria"]:
        office.goto(admin_url + "/kriterien/neu")
        office.get_by_label("Eignungskriterium (erfüllt / nicht erfüllt)").check()
        office.fill("#code", criterion["code"])
        office.fill("#title", criterion["title"])
        office.fill("#evidence", criterion["description"])
        submit(office, "Kriterium speichern")
    for criterion in KIM["scored_criteria"]:
        office.goto(admin_url + "/kriterien/neu")
        office.fill("#code", criterion["code"])
        office.fill("#title", criterion["title"])
        office.fill("#description", criterion["description"])
        office.fill("#weight", str(criterion["weight"]))
        if criterion["code"] == "K5":
            assert "Summe mit diesem Kriterium: 100 %" in office.locator("#weight-total").inner_text()
            check_a11y(office)
        submit(office, "Kriterium speichern")
    assert "Summe der Gewichte (alle Lose): 100 %" in office.content()
    submit(office, "Aufruf veröffentlichen")
    assert "Der Aufruf ist veröffentlicht." in office.content()
    check_a11y(office)

    office.get_by_role("link", name="Änderungsbekanntmachung erstellen").click()
    check_a11y(office)
    office.fill("#reason", "Zusätzliche Landesmittel für die Stadt Siegen.")
    office.fill("#lot__5__positions", "2,5")
    submit(office, "Änderung veröffentlichen")
    assert "Die Änderungsbekanntmachung ist veröffentlicht." in office.content()

    bid = signed_in_tab(browser, app, live_server, bidder)
    bid.goto(f"/aufrufe/{KIM['reference']}")
    bid.get_by_role("link", name="Frage stellen").click()
    check_a11y(bid)
    bid.fill("#text", "Wir, der Caritasverband Test, fragen: Darf man sich für mehrere Lose bewerben?")
    submit(bid, "Frage absenden")
    assert "Ihre Frage ist eingegangen" in bid.content()
    check_a11y(bid)

    office.goto(admin_url + "/fragen")
    check_a11y(office)
    office.locator("textarea[id$='public_text']").fill("Darf man sich für mehrere Lose bewerben?")
    office.locator("textarea[id$='-answer']").fill("Ja, mit je einer Interessenbekundung pro Los.")
    submit(office, "Antwort veröffentlichen")
    assert "Antwort veröffentlicht." in office.content()

    org_name = organisation.name
    db.session.commit()
    page.goto(f"/aufrufe/{KIM['reference']}")
    check_a11y(page)
    text = page.locator("main").inner_text()
    assert "Darf man sich für mehrere Lose bewerben?" in text and "Ja, mit je einer Interessenbekundung pro Los." in text
    assert org_name not in page.content() and "Caritasverband Test" not in page.content()
    assert "Änderung Nr. 1 vom" in text and "Los 5: Stellen" in text and "2,5" in text
    assert "Zusätzliche Landesmittel für die Stadt Siegen." in text
    assert "K1" in text and "30 %" in text and "Summe" in text and "sehr gut erfüllt" in text
    assert page.locator("main script").count() == 0
    page.goto("/aufrufe/")
    check_a11y(page)
    page.goto("/")
    check_a11y(page)

    feed = feedparser.parse(page.request.get(f"/aufrufe/{KIM['reference']}/feed.atom").body())
    assert not feed.bozo and len(feed.entries) == 3
    ics = icalendar.Calendar.from_ical(page.request.get(f"/aufrufe/{KIM['reference']}/termine.ics").body())
    assert len(list(ics.walk("VEVENT"))) == 2
    office.context.close()
    bid.context.close()
