"""Browser tests: the system Chromium driven by Playwright, checked by axe-core.

Playwright's own browser download does not work here; the Debian package
`chromium` is used through `executable_path` (CHROMIUM_PATH overrides). Without
it the browser tests skip with a one-line reason, unless REQUIRE_BROWSER=1.

`check_a11y(page)` runs axe-core (WCAG 2.1 A/AA rules) on the current page and
fails on any violation. Every browser test calls it on every page it visits;
`crawl(page, start)` follows all same-site links from a page and checks each.
"""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}


def _chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.path.exists(path) else None


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)

    def __call__(self, path: str = "/") -> str:
        return urljoin(self.url, path)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    from portal.extensions import db

    db.session.commit()
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    required = os.environ.get("REQUIRE_BROWSER", "") in {"1", "true", "yes"}
    path = _chromium_path()
    if path is None:
        from tests.conftest import skip_or_fail

        skip_or_fail("Chromium not installed (apt-get install chromium)", required=required)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser tab (own cookies), German, pointed at the live server."""
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", base_url=live_server.url)
    tab = context.new_page()
    tab.set_default_timeout(15000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def signed_in_tab(browser: Any, app: Flask, live_server: LiveServer, user: Any) -> Any:
    """A browser tab carrying the session cookie of `user`, second factor passed."""
    from portal.extensions import db
    from tests.conftest import login

    client = app.test_client()
    login(client, user)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    db.session.commit()  # reading the user began a transaction; SQLite's write lock must be free for the server
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin", base_url=live_server.url)
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    tab = context.new_page()
    tab.set_default_timeout(15000)
    return tab


def check_a11y(page: Any) -> None:
    """Fail with a readable list if axe-core finds any violation on this page."""
    from axe_playwright_python.sync_playwright import Axe

    # After a click that navigates, page.url already shows the new address while
    # the new document may not exist yet; axe would then find no documentElement.
    page.wait_for_load_state("load")
    results = Axe().run(page, options=AXE_OPTIONS)
    violations = results.response.get("violations", [])
    if violations:
        lines = [f"axe-core: {len(violations)} violation(s) on {page.url}:"]
        for v in violations:
            targets = ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:5])
            lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} — {targets}")
        pytest.fail("\n".join(lines), pytrace=False)


def crawl(
    page: Any,
    server: LiveServer,
    start: str = "/",
    *,
    limit: int = 60,
    skip: tuple[str, ...] = ("/sprache/", "/abmelden", "/logout"),
) -> list[str]:
    """Visit every same-site page linked from `start` (breadth first) and check each with axe.

    Links that change state on GET are never followed (there should be none;
    `skip` also avoids the language switch and sign-out links), nor download links.
    """
    base = server.url
    queue = [server(start)]
    seen: set[str] = set()
    while queue and len(seen) < limit:
        url = queue.pop(0)
        path = urlsplit(url).path
        if url in seen or any(s in path for s in skip):
            continue
        seen.add(url)
        response = page.goto(url)
        content_type = (response.headers.get("content-type", "") if response else "")
        if "text/html" not in content_type:
            continue
        assert response is not None and response.status < 400, f"{url} answered {response.status if response else '?'}"
        check_a11y(page)
        # A link marked `download` (CSV exports, PDFs) is a file to save, not a page to check.
        for href in page.eval_on_selector_all("a[href]:not([download])", "els => els.map(e => e.href)"):
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" == base and "#" not in href:
                if href not in seen:
                    queue.append(href)
    return sorted(seen)
