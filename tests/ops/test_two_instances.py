"""Two stateless app servers behind one load balancer (issue 10, item 5).

Two real gunicorn instances in the production configuration on different
loopback ports share one PostgreSQL database and one Redis. The test shows:
a session from one is valid on the other, a sign-out on one ends it on both,
rate limits count across both, two bids raced through the two instances at the
deadline get consistent receipts (the database server's clock decides), and
the audit appends of both form one unbroken chain (`flask audit verify`).
"""
from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import create_app
from portal.bids.models import Bid, BidVersion
from portal.calls.models import Call
from portal.extensions import db
from tests.conftest import (
    _env_flag,
    _worker_suffix,
    create_postgres_database,
    migrate_to_head,
    postgres_base_url,
    skip_or_fail,
)
from tests.factories import PASSWORD, make_user
from tests.factories_bids import make_bidder, make_draft, make_open_call
from tests.live_server import Client, Server, production_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _redis_url() -> str:
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail("Redis unreachable", required=bool(os.environ.get("TEST_REDIS_URL")) or _env_flag("REQUIRE_REDIS"))
    return url


@pytest.fixture(scope="module")
def shared_database() -> Iterator[str]:
    if not postgres_base_url():
        skip_or_fail("PostgreSQL: TEST_DATABASE_URL is not set", required=_env_flag("REQUIRE_POSTGRES"))
    url = create_postgres_database(f"ibv_two_{_worker_suffix()}")
    migrate_to_head(url)
    yield url


@pytest.fixture(scope="module")
def seeded(shared_database: str) -> Iterator[Flask]:
    """An app context on the shared database for seeding and checking (testing config, no server)."""
    from flask_babel import force_locale

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=shared_database)
    with app.app_context(), force_locale("de"):
        yield app
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def two_servers(shared_database: str, seeded: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    tmp_path = tmp_path_factory.mktemp("two-instances")
    redis_url = _redis_url()
    env = production_env(
        shared_database, tmp_path / "keys",
        RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_KEY_PREFIX=f"ibv-two-{uuid.uuid4().hex}",
        RATELIMIT_PER_ACCOUNT="3 per minute", RATELIMIT_PER_IP="1000 per minute",
    )
    db.session.commit()
    first = Server(env, log=tmp_path / "a.log")
    try:
        second = Server(env, log=tmp_path / "b.log")
    except Exception:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_a_session_from_one_instance_is_valid_on_the_other_and_ends_on_both(seeded: Flask, two_servers: Any) -> None:
    a, b = two_servers
    user = make_bidder(name="Sabine Sitzung")
    email = user.email
    db.session.commit()
    on_a = Client(a.port)
    assert on_a.sign_in(email, PASSWORD).status == 302
    assert on_a.get("/interessenbekundungen").status == 200
    stolen = dict(on_a.cookies)  # what a second tab (or an attacker with the cookie) holds
    on_b = Client(b.port, cookies=on_a.cookies)
    page = on_b.get("/interessenbekundungen")
    assert page.status == 200 and "/abmelden" in page.text

    assert on_b.post_form("/abmelden", {}, form_page="/interessenbekundungen").status == 302
    for port in (a.port, b.port):
        replay = Client(port, cookies=dict(stolen)).get("/interessenbekundungen")
        assert replay.status == 302 and "/anmelden" in replay.location, (port, replay.status)


def test_rate_limits_count_across_both_instances(seeded: Flask, two_servers: Any) -> None:
    a, b = two_servers
    email = f"ziel-{uuid.uuid4().hex[:8]}@example.org"
    statuses = [Client(server.port).sign_in(email, "falsch").status for server in (a, b, a, b)]
    # RATELIMIT_PER_ACCOUNT is 3 per minute: the fourth attempt is refused, whichever server gets it.
    assert statuses == [200, 200, 200, 429]
    assert Client(a.port).sign_in(email, "falsch").status == 429


def _database_now() -> Any:
    from portal.core.time import transaction_now

    moment = transaction_now(db.session)
    db.session.rollback()
    return moment


def _keep_submitting(client: Client, bid_id: int, stop_at: float, out: list[tuple[float, str, str]]) -> None:
    """Submit again and again until the deadline refuses (or `stop_at` passes)."""
    page = f"/interessenbekundungen/{bid_id}/einreichen"
    token = client.get(page).hidden("csrf_token")
    while time.monotonic() < stop_at:
        response = client.post(page, {"confirm": "y", "csrf_token": token})
        if response.status == 302 and "/eingangsbestaetigungen/" in response.location:
            out.append((time.monotonic(), "receipt", response.location.rsplit("/", 1)[-1]))
        elif response.status == 409 and "Frist" in response.text:
            out.append((time.monotonic(), "deadline", ""))
            return
        else:
            out.append((time.monotonic(), f"unexpected {response.status}", response.text[:500]))
            return


def test_bids_raced_through_both_instances_at_the_deadline_get_consistent_receipts(seeded: Flask, two_servers: Any) -> None:
    a, b = two_servers
    call = make_open_call(lots=1, deadline_in=timedelta(days=1))
    bidders = [make_bidder(name="Anton Ahaus"), make_bidder(name="Berta Bebra")]
    bids = [make_draft(call, call.lots[0], user, attachment=False) for user in bidders]
    db.session.commit()
    clients = []
    for server, user in zip((a, b), bidders):
        client = Client(server.port)
        assert client.sign_in(user.email, PASSWORD).status == 302
        clients.append(client)
    # The deadline is a few seconds ahead on the database server's clock.
    deadline = _database_now() + timedelta(seconds=5)
    call = db.session.get(Call, call.id)
    call.question_deadline = deadline - timedelta(seconds=1)
    call.submission_deadline = deadline
    db.session.commit()

    results: list[list[tuple[float, str, str]]] = [[], []]
    stop_at = time.monotonic() + 20
    threads = [threading.Thread(target=_keep_submitting, args=(client, bid.id, stop_at, out))
               for client, bid, out in zip(clients, bids, results)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    db.session.expire_all()
    receipts_seen = set()
    for bid, out in zip(bids, results):
        kinds = [kind for _, kind, _ in out]
        assert kinds[-1] == "deadline", out[-3:]
        assert set(kinds[:-1]) <= {"receipt"}, kinds
        versions = db.session.scalars(
            sa.select(BidVersion).where(BidVersion.bid_id == bid.id).order_by(BidVersion.number)
        ).all()
        # Every receipt a bidder was shown is a stored version, and nothing else was stored.
        assert sorted(v.receipt_number for v in versions) == sorted(r for _, kind, r in out if kind == "receipt")
        assert [v.number for v in versions] == list(range(1, len(versions) + 1))
        # The database clock decided: every accepted version is before the deadline.
        assert all(v.submitted_at < deadline for v in versions), [(v.number, v.submitted_at) for v in versions]
        receipts_seen.update(v.receipt_number for v in versions)
        assert db.session.get(Bid, bid.id).version_count == len(versions)
    assert receipts_seen, "no submission went through before the deadline"
    assert len(receipts_seen) == sum(len([1 for _, k, _ in out if k == "receipt"]) for out in results)
    db.session.rollback()


def test_audit_appends_from_both_instances_form_one_chain(seeded: Flask, two_servers: Any) -> None:
    from portal.audit.models import AuditEvent

    a, b = two_servers
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    db.session.rollback()
    users = [make_user(name=f"Kette {n}") for n in range(6)]
    emails = [u.email for u in users]
    db.session.commit()

    def sign_in_and_out(port: int, email: str) -> None:
        client = Client(port)
        assert client.sign_in(email, PASSWORD).status == 302
        assert client.post_form("/abmelden", {}, form_page="/konto").status == 302

    threads = [threading.Thread(target=sign_in_and_out, args=((a, b)[n % 2].port, email))
               for n, email in enumerate(emails)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    after = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    db.session.rollback()
    assert after - before >= len(emails) * 2, (before, after)
    result = seeded.test_cli_runner().invoke(args=["audit", "verify", "--full"])
    assert result.exit_code == 0, result.output
    assert re.search(r"\b" + str(after) + r"\b", result.output), result.output
