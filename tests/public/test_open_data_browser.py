"""Browser: the open-data page (footer link, downloads) and the council view, checked by axe."""
from __future__ import annotations

import pytest

from tests.bids.test_bids_browser import tab_for
from tests.browser_support import check_a11y
from tests.factories_bids import close_call

pytestmark = pytest.mark.browser


def test_open_data_page_and_council_view(page, browser, app, live_server, procedures, observer, clock) -> None:  # type: ignore[no-untyped-def]
    close_call(procedures["bid_call"], clock)
    page.goto(live_server("/"))
    page.click("footer >> text=Offene Daten")
    assert page.locator("h1").inner_text() == "Offene Daten"
    check_a11y(page)
    assert page.locator(f"a[href='/open-data/ocds/{procedures['bid_call'].reference}/record.json']").count() == 1
    with page.expect_download() as csv_download:
        page.click("text=lose.csv")
    assert csv_download.value.suggested_filename == "lose.csv"
    response = page.request.get(live_server("/open-data/ocds/releases.json"))
    assert response.ok and response.json()["version"] == "1.1"

    tab = tab_for(browser, app, live_server, observer)
    tab.goto(live_server("/"))
    tab.click("nav >> text=Kreistag")
    assert tab.locator("h1").inner_text() == "Verfahren und Beteiligungen im Überblick"
    check_a11y(tab)
    with tab.expect_download() as download:
        tab.click("text=Statusbericht als PDF herunterladen")
    assert download.value.suggested_filename.startswith("statusbericht-")
