"""Open-data downloads and award notices answer conditional requests: 200 → 304 → change → 200."""
from __future__ import annotations

from typing import Any

from portal.awards import services as award_services
from portal.calls.amendments import amend_call
from portal.extensions import db
from tests.factories_awards import decided_call

DOWNLOADS = ["/open-data/ocds/releases.json", "/open-data/ocds/records.json", "/open-data/calls.csv",
             "/open-data/lots.csv", "/open-data/awards.csv"]


def _etag(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["ETag"], url
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b"", url
    return response.headers["ETag"]


def _changed(client: Any, url: str, etag: str) -> str:
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200, url
    assert response.headers["ETag"] != etag
    return response.headers["ETag"]


def test_downloads_revalidate_until_an_audited_change(client, procedures, officer) -> None:  # type: ignore[no-untyped-def]
    call = procedures["open_call"]
    urls = DOWNLOADS + [f"/open-data/ocds/{call.reference}/releases.json", f"/open-data/ocds/{call.reference}/record.json"]
    tags = {url: _etag(client, url) for url in urls}
    assert len(set(tags.values())) == len(urls)  # one tag per download, never shared
    amend_call(call, by=officer, reason="Neue Telefonnummer der Vergabestelle.", changes={"call.contact": "02732 123-456"})
    db.session.commit()
    for url in urls:
        _changed(client, url, tags[url])


def test_bid_counts_appearing_by_the_clock_invalidate(client, procedures, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.factories_bids import close_call

    url = f"/open-data/ocds/{procedures['bid_call'].reference}/record.json"
    etag = _etag(client, url)
    close_call(procedures["bid_call"], clock)
    _changed(client, url, etag)


def test_award_notice_and_packages_after_the_standstill(client, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, _bids = decided_call(clock, officer, officer2)
    db.session.commit()
    package = f"/open-data/ocds/{call.reference}/record.json"
    etag = _etag(client, package)
    notice_urls = [f"/vergaben/{call.reference}", f"/vergaben/{call.reference}.json"]
    for url in notice_urls:
        assert client.get(url).status_code == 404
    clock.set(award_services.current_round(call).standstill_ends_at)
    award_services.finalise_due_awards()
    db.session.commit()
    _changed(client, package, etag)  # the award release appears
    assert "award-lot-1" in client.get(package).get_data(as_text=True)
    tags = [_etag(client, url) for url in notice_urls]
    assert tags[0] != tags[1]
    notice = award_services.notice_for(call)
    assert client.get(notice_urls[1]).headers["Last-Modified"] is not None
    assert client.get(notice_urls[1], headers={"If-Modified-Since": notice.published_at.strftime("%a, %d %b %Y %H:%M:%S GMT")}).status_code == 304


def test_signed_in_visitors_always_get_the_full_download(client, procedures, officer) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import login

    etag = _etag(client, DOWNLOADS[0])
    login(client, officer)
    assert client.get(DOWNLOADS[0], headers={"If-None-Match": etag}).status_code == 200
