"""The Transparenz pages: German, one h1, no JavaScript needed, no axe violations."""
from __future__ import annotations

import pytest

from portal.audit.transparency import issue_checkpoint
from portal.extensions import db
from tests.browser_support import check_a11y
from tests.conftest import login
from tests.transparency.conftest import fill_log

pytestmark = pytest.mark.browser


def test_transparency_page_and_trail(page, live_server) -> None:  # type: ignore[no-untyped-def]
    fill_log(7)
    issue_checkpoint()
    db.session.commit()
    fill_log(1)  # event 8 (public) is not yet covered
    page.goto(live_server("/transparenz"))
    assert page.locator("h1").count() == 1
    assert "verify_log.py" in page.content()
    assert "Ausgestellt am" in page.content()
    check_a11y(page)
    page.goto(live_server("/transparenz/verlauf/call/7"))
    assert page.locator("h1").count() == 1
    items = page.locator("ol.stack > li")
    assert items.count() == 4  # events 1, 4, 7 and 8
    assert "Protokolleintrag Nr. 4" in items.nth(1).inner_text()
    assert "noch von keinem Prüfpunkt erfasst" in items.nth(3).inner_text()
    check_a11y(page)
    page.click("text=Einschlussnachweis für Eintrag Nr. 4")
    assert '"tree_size":7' in page.content().replace(" ", "")


def test_trail_of_unknown_subject_is_404(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/transparenz/verlauf/call/999").status_code == 404


def test_admin_log_page_is_accessible(page, live_server, admin) -> None:  # type: ignore[no-untyped-def]
    fill_log(3)
    context_client = live_server.server.app.test_client()  # sign in through the session cookie
    login(context_client, admin)
    cookie = next(c for c in context_client._cookies.values() if c.key == "ibv_session")
    page.context.add_cookies([{"name": "ibv_session", "value": cookie.value, "url": live_server.url}])
    page.goto(live_server("/verwaltung/protokoll/"))
    assert page.locator("h1").inner_text() == "Audit-Protokoll"
    check_a11y(page)
