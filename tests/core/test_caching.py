"""Conditional GET for closed calls' public pages: 200 → 304 → change → 200 (issue 10, item 4)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.audit.transparency import issue_checkpoint
from portal.calls.services import cancel_call
from portal.extensions import db
from tests.conftest import login
from tests.factories_calls import make_call


def _cancelled_call(officer: Any) -> Any:
    call = make_call(published=True)
    cancel_call(call, reason="Der Bedarf ist entfallen.", by=officer)
    db.session.commit()
    return call


def test_a_cancelled_call_page_revalidates_until_an_event_changes_it(client, officer) -> None:  # type: ignore[no-untyped-def]
    call = _cancelled_call(officer)
    url = f"/aufrufe/{call.reference}"
    first = client.get(url)
    assert first.status_code == 200 and "Der Bedarf ist entfallen." in first.get_data(as_text=True)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "no-cache"
    assert "Cookie" in first.vary  # the language choice lives in the session cookie

    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304

    # A new public event about the call (e.g. a correction notice) changes the page.
    record(AuditAction.CALL_CANCELLED, subject=call, public=True, data={"reference": call.reference, "reason": "Nachtrag"})
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    etag = changed.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304

    # Elsewhere in the portal something happens and a new checkpoint is signed:
    # it changes the trail's proof links, so the page is fresh again.
    record(AuditAction.DEMO_LOADED, data={"note": "anderer Vorgang"})
    db.session.commit()
    assert issue_checkpoint() is not None
    db.session.commit()
    after_checkpoint = client.get(url, headers={"If-None-Match": etag})
    assert after_checkpoint.status_code == 200 and after_checkpoint.headers["ETag"] != etag


def test_validators_depend_on_language(client, officer) -> None:  # type: ignore[no-untyped-def]
    call = _cancelled_call(officer)
    url = f"/aufrufe/{call.reference}"
    german = client.get(url).headers["ETag"]
    client.get("/sprache/en")
    english = client.get(url)
    assert english.headers["ETag"] != german
    assert client.get(url, headers={"If-None-Match": german}).status_code == 200
    assert client.get(url, headers={"If-None-Match": english.headers["ETag"]}).status_code == 304


def test_a_draft_call_gets_no_validator(client) -> None:  # type: ignore[no-untyped-def]
    draft = make_call(published=False)
    response = client.get(f"/aufrufe/{draft.reference}", headers={"If-None-Match": "*"})
    assert response.status_code == 404 and "ETag" not in response.headers


def test_signed_in_visitors_always_get_the_full_page(client, officer) -> None:  # type: ignore[no-untyped-def]
    call = _cancelled_call(officer)
    url = f"/aufrufe/{call.reference}"
    etag = client.get(url).headers["ETag"]
    login(client, officer)
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200 and "ETag" not in response.headers


def test_the_validator_costs_a_few_queries_and_a_304_renders_nothing(app, client, officer) -> None:  # type: ignore[no-untyped-def]
    from tests.query_budget import count_queries

    call = _cancelled_call(officer)
    url = f"/aufrufe/{call.reference}"
    etag = client.get(url).headers["ETag"]
    with count_queries(db.engine) as counted:
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    # BEGIN, the call, its answers, its documents, the newest event, the newest checkpoint.
    assert counted.statements <= 6, counted.log
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("call"))) == 1
