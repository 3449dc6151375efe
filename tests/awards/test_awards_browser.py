"""Done-when for awards, in a real browser with axe-core on every page.

Continues the review: a call reviewed, consolidated and ranked through the
review services (Caritas 81, Diakonie 69, AWO 60). One officer proposes the
award in the browser, a second approves it; the letters arrive at a real local
SMTP server with each bidder's own scores; a bidder reads the letter; the clock
passes the standstill and the sweep publishes the award notice, which shows
what the public may see, with the computation of the winner's total.
"""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from portal.awards import services
from portal.extensions import db
from tests.bids.test_bids_browser import click, tab_for
from tests.browser_support import check_a11y
from tests.conftest import run_cli
from tests.factories_awards import ORGANISATIONS, reviewed_call

pytestmark = pytest.mark.browser
CARITAS, DIAKONIE, AWO = ORGANISATIONS


def test_award_letters_standstill_and_public_notice(browser, app, live_server, clock, officer, officer2, smtp_server) -> None:  # type: ignore[no-untyped-def]
    call, bids = reviewed_call(clock, officer, officer2)
    reference = call.reference
    diakonie_member = bids[DIAKONIE].organisation.active_members[0]
    caritas_member = bids[CARITAS].organisation.active_members[0]

    first = tab_for(browser, app, live_server, officer)
    first.goto(f"/verwaltung/vergabe/{reference}")
    check_a11y(first)
    assert "81,00" in first.content() and "Noch nicht entscheidungsreif" not in first.content()
    first.get_by_label("Nach der Rangfolge vergeben").check()
    click(first, "Vorschlag speichern")
    assert "Eine zweite Person der Vergabestelle muss ihn freigeben" in first.content()
    assert first.get_by_role("button", name="Vergabe freigeben (zweite Person)").count() == 0

    second = tab_for(browser, app, live_server, officer2)
    second.set_default_timeout(90000)  # the approval renders and mails three letters (PDF) on a shared machine
    second.goto(f"/verwaltung/vergabe/{reference}")
    check_a11y(second)
    click(second, "Vergabe freigeben (zweite Person)")
    assert "Die Vergabe ist freigegeben." in second.content()
    assert "Stillhaltefrist läuft" in second.content() or "Die Stillhaltefrist endet am" in second.content()

    # The letters arrived at the SMTP server, each with the bidder's own consolidated scores.
    lost = smtp_server.text(smtp_server.to(diakonie_member.email)[-1])
    assert "Ihre Interessenbekundung kann nicht berücksichtigt werden." in lost
    assert f"Vorgesehen für den Zuschlag: {CARITAS}" in lost
    assert "Rang unter den zugelassenen Interessenbekundungen: 2 von 3" in lost and "69,00 von 100" in lost
    for line in ("K1 Kriterium K1 (30 %): 4 / 5 Punkte", "K3 Kriterium K3 (20 %): 3 / 5 Punkte", "K5 Kriterium K5 (10 %): 2 / 5 Punkte"):
        assert line in lost
    won = smtp_server.text(smtp_server.to(caritas_member.email)[-1])
    assert "Ihre Interessenbekundung soll den Zuschlag erhalten." in won and "K1 Kriterium K1 (30 %): 5 / 5 Punkte" in won
    end = services.current_round(call).standstill_ends_at
    assert re.search(r"endet am \d\d\.\d\d\.\d{4} um 24:00 Uhr", lost)

    # The bidder reads the letter in the portal (and may object until the end of the standstill).
    bidder = tab_for(browser, app, live_server, diakonie_member)
    bidder.goto("/mitteilungen/")
    check_a11y(bidder)
    bidder.get_by_role("link", name="Information über die Vergabe").click()
    bidder.wait_for_load_state()
    check_a11y(bidder)
    assert "2 von 3" in bidder.content()
    bidder.get_by_role("link", name="Rüge zu dieser Vergabe erheben").click()
    bidder.wait_for_load_state()
    check_a11y(bidder)

    # Before the end nothing is public; the clock passes the standstill and the sweep publishes.
    public = browser.new_context(locale="de-DE", base_url=live_server.url).new_page()
    public.goto(f"/vergaben/{reference}")
    assert "Seite nicht gefunden" in public.content()
    clock.set(end + timedelta(minutes=1))
    result = run_cli(app, ["calls", "sweep"])
    assert "1 Vergabe(n) bekannt gemacht" in result.output
    db.session.expire_all()

    public.goto(f"/aufrufe/{reference}")
    check_a11y(public)
    assert "Vergabebekanntmachung" in public.content() and CARITAS in public.content()
    public.goto("/vergaben/")
    check_a11y(public)
    public.get_by_role("link", name=re.compile(reference)).click()
    public.wait_for_load_state()
    check_a11y(public)
    page = public.content()
    for text in ("Eingegangene Interessenbekundungen", "davon ausgeschlossen", "Datum der Entscheidung",
                 "Abweichung von der Rangfolge", "Kriterien und Gewichte", "Zuschlag: " + CARITAS,
                 "30 × 5 / 5 = 30,00", "25 × 4 / 5 = 20,00", "81,00", "Nachvollziehbar dargestellt",
                 "Namen und Punkte der übrigen Träger werden nicht veröffentlicht."):
        assert text in page, text
    assert DIAKONIE not in page and AWO not in page
    data = public.request.get(f"/vergaben/{reference}.json").json()
    assert Decimal(data["lots"][0]["winners"][0]["total"]) == Decimal("81")

    # The officer's procurement record page passes axe too.
    first.goto(f"/verwaltung/vergabe/{reference}/vergabevermerk")
    check_a11y(first)
    assert "Vergabebekanntmachung veröffentlicht" in first.content()
