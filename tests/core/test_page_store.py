"""The server-side page store (portal.core.caching.PageStore): anonymous visitors of busy public
pages share one rendering per state of the portal, and never see a stale or someone else's page."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from portal.calls.amendments import amend_call
from portal.consultation import services as consultation_services
from portal.core.caching import PageStore, Stored
from portal.extensions import db
from tests.conftest import login
from tests.factories_calls import make_call
from tests.factories_consultation import make_consultation

HIT = "X-Page-Store"


def _twice(client: Any, url: str) -> tuple[Any, Any]:
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200, url
    return first, second


def test_the_second_anonymous_visitor_gets_the_same_page_from_the_store(app: Flask, clock: Any) -> None:
    call = make_call(published=True)
    db.session.commit()
    for url in ("/aufrufe/", f"/aufrufe/{call.reference}", "/aufrufe/?status=offen"):
        first = app.test_client().get(url)
        second = app.test_client().get(url)  # another visitor, no cookies
        assert first.status_code == 200 and HIT not in first.headers, url
        assert second.headers.get(HIT) == "hit", url
        assert second.get_data() == first.get_data() and second.headers["ETag"] == first.headers["ETag"]
        assert second.mimetype == first.mimetype and "Set-Cookie" not in second.headers
        assert second.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]


def test_a_change_through_a_service_is_visible_at_once(client: Any, officer: Any, clock: Any) -> None:
    call = make_call(published=True)
    db.session.commit()
    urls = [f"/aufrufe/{call.reference}", "/open-data/calls.csv", f"/open-data/ocds/{call.reference}/record.json"]
    before = {}
    for url in urls:
        first, second = _twice(client, url)
        assert second.headers.get(HIT) == "hit"
        before[url] = first.get_data()
    amend_call(call, by=officer, reason="Neue Telefonnummer der Vergabestelle.", changes={"call.contact": "02732 987-654"})
    db.session.commit()
    for url in urls:
        response = client.get(url)
        assert HIT not in response.headers and response.get_data() != before[url], url  # the CSV counts the amendment
    for url in urls[:1] + urls[2:]:
        assert "987-654" in client.get(url).get_data(as_text=True), url


def test_a_new_comment_shows_on_the_consultation_page(client: Any, officer: Any, bidder: Any, organisation: Any) -> None:
    consultation = make_consultation(officer)
    db.session.commit()
    url = f"/beteiligung/{consultation.id}"
    assert _twice(client, url)[1].headers.get(HIT) == "hit"
    consultation_services.post_comment(consultation, by=bidder, organisation=organisation, section_number="1",
                                       body="Bitte die Sprechzeiten im ländlichen Raum verlängern.")
    db.session.commit()
    response = client.get(url)
    assert HIT not in response.headers
    assert "Bitte die Sprechzeiten im ländlichen Raum verlängern." in response.get_data(as_text=True)


def test_the_countdown_and_the_deadline_render_the_call_page_again(client: Any, clock: Any) -> None:
    call = make_call(published=True, submission_deadline=clock() + timedelta(days=2, hours=3))
    db.session.commit()
    url = f"/aufrufe/{call.reference}"
    first, second = _twice(client, url)
    assert second.headers.get(HIT) == "hit" and "noch 2 Tage und 3 Stunden" in second.get_data(as_text=True)
    clock.advance(hours=1)
    later = client.get(url)
    assert HIT not in later.headers and "noch 2 Tage und 2 Stunden" in later.get_data(as_text=True)
    clock.set(call.submission_deadline + timedelta(seconds=1))
    closed = client.get(url)
    assert HIT not in closed.headers and "noch " not in closed.get_data(as_text=True).split("deadline-box")[1][:400]


def test_anonymous_pages_carry_no_csrf_token_so_they_can_be_stored(app: Flask, officer: Any) -> None:
    """With CSRF protection on, as in production: a page that generated a token would never be stored."""
    app.config["WTF_CSRF_ENABLED"] = True
    call = make_call(published=True)
    consultation = make_consultation(officer)
    db.session.commit()
    for url in ("/aufrufe/", f"/aufrufe/{call.reference}", f"/beteiligung/{consultation.id}", "/open-data/calls.csv"):
        first = app.test_client().get(url)
        assert first.status_code == 200 and "Set-Cookie" not in first.headers, url
        assert app.test_client().get(url).headers.get(HIT) == "hit", url


def test_signed_in_visitors_neither_fill_nor_read_the_store(app: Flask, client: Any, officer: Any) -> None:
    call = make_call(published=True)
    db.session.commit()
    url = f"/aufrufe/{call.reference}"
    login(client, officer)
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200 and HIT not in response.headers
    assert app.test_client().get(url).headers.get(HIT) is None  # the officer's page was not stored


def test_a_flashed_message_is_not_swallowed_by_the_store(app: Flask, client: Any) -> None:
    call = make_call(published=True)
    db.session.commit()
    url = f"/aufrufe/{call.reference}"
    app.test_client().get(url)  # fills the store
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Ihre Nachricht wurde gespeichert.")]
    response = client.get(url)
    assert HIT not in response.headers and "Ihre Nachricht wurde gespeichert." in response.get_data(as_text=True)


def test_the_store_is_bounded_and_drops_the_least_recently_used() -> None:
    store = PageStore(limit_bytes=400)
    for n in range(4):
        store.put((f"/seite/{n}", "tag"), Stored(b"x" * 100, ()))
    assert store.get(("/seite/0", "tag")) is not None  # now the most recently used
    store.put(("/seite/4", "tag"), Stored(b"x" * 100, ()))
    assert store.size <= 400
    assert store.get(("/seite/1", "tag")) is None and store.get(("/seite/0", "tag")) is not None
    store.put(("/riesig", "tag"), Stored(b"x" * 101, ()))  # more than a quarter of the store: never kept
    assert store.get(("/riesig", "tag")) is None


def test_page_cache_mb_zero_switches_the_store_off(backend: Any, tmp_path: Any) -> None:
    from portal import create_app

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=backend.fresh_url(tmp_path), PAGE_CACHE_MB=0)
    with app.app_context():
        assert app.extensions["page_store"] is None
        first, second = _twice(app.test_client(), "/aufrufe/")
        assert HIT not in second.headers and second.headers["ETag"] == first.headers["ETag"]
        db.session.remove()
        db.engine.dispose()
