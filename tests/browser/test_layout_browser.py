"""The public shell in a real browser: accessibility, keyboard, no JavaScript needed."""
from __future__ import annotations

import pytest

from tests.browser_support import check_a11y, crawl

pytestmark = pytest.mark.browser


def test_every_public_page_passes_axe(page, live_server) -> None:  # type: ignore[no-untyped-def]
    visited = crawl(page, live_server, "/")
    assert live_server("/barrierefreiheit") in visited
    assert len(visited) >= 4


def test_error_page_passes_axe(page, live_server) -> None:  # type: ignore[no-untyped-def]
    response = page.goto(live_server("/gibt-es-nicht"))
    assert response.status == 404
    check_a11y(page)


def test_skip_link_is_the_first_tab_stop_and_moves_focus(page, live_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server("/"))
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_language_switch_without_javascript(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    tab = context.new_page()
    tab.goto(live_server("/barrierefreiheit"))
    assert tab.locator("h1").inner_text() == "Erklärung zur Barrierefreiheit"
    tab.get_by_role("link", name="English").click()
    assert tab.url == live_server("/barrierefreiheit")
    assert tab.locator("h1").inner_text() == "Accessibility statement"
    assert tab.locator("html").get_attribute("lang") == "en"
    context.close()
    # (axe-core itself needs JavaScript; the same pages are checked in the other tests.)


def test_pages_fit_a_small_screen(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 320, "height": 640}, locale="de-DE")
    tab = context.new_page()
    tab.goto(live_server("/"))
    overflow = tab.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    assert not overflow, "content is wider than a 320 px screen (WCAG 1.4.10 reflow)"
    context.close()
