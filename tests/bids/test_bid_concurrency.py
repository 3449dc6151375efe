"""The deadline, version numbers and receipts under concurrent writers and crashes.

Real threads (each with its own app context, session and connection) against
SQLite and PostgreSQL, and a real process killed in the middle of a submission.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import force_locale

from portal.accounts.models import User
from portal.bids import services
from portal.bids.models import Bid, BidAttachment
from portal.bids.sealed import read_version
from portal.bids.transactions import commit_with_retry
from portal.bids.canonical import digest
from portal.core.errors import Refused
from portal.extensions import db
from tests.factories_bids import make_draft, make_submitted_bid

ROOT = Path(__file__).resolve().parents[2]


def run_together(app: Flask, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run each job in its own thread and app context, released at the same instant."""
    db.session.commit()
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def worker(index: int, job: Callable[[], Any]) -> None:
        with app.app_context(), force_locale("de"):
            barrier.wait()
            try:
                results[index] = job()
            except Exception as exc:  # collected and asserted by the test
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _submit(bid_id: int, user_id: int) -> Callable[[], Any]:
    def job() -> Any:
        version = commit_with_retry(
            lambda: services.submit_bid(db.session.get(Bid, bid_id), by=db.session.get(User, user_id))
        )
        return (version.number, version.receipt_number, version.digest)

    return job


def test_two_members_submitting_the_same_bid_at_once(app: Flask, call: Any, lot: Any, member_a: Any, member_a2: Any) -> None:
    bid = make_draft(call, lot, member_a)
    results = run_together(app, [_submit(bid.id, member_a.id), _submit(bid.id, member_a2.id)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r[0] for r in results) == [1, 2]
    assert len({r[1] for r in results}) == 2
    db.session.expire_all()
    bid = db.session.get(Bid, bid.id)
    assert bid.version_count == 2 and [v.number for v in bid.versions] == [1, 2]


def test_many_concurrent_submissions_lose_no_version(app: Flask, call: Any, lot: Any, member_a: Any, member_a2: Any) -> None:
    bid = make_draft(call, lot, member_a)
    jobs = [_submit(bid.id, (member_a if i % 2 else member_a2).id) for i in range(8)]
    results = run_together(app, jobs)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r[0] for r in results) == list(range(1, 9))
    db.session.expire_all()
    versions = db.session.get(Bid, bid.id).versions
    assert {v.receipt_number for v in versions} == {r[1] for r in results}
    for version in versions:
        assert digest(read_version(version, user=member_a)) == version.digest


def test_two_members_starting_the_same_bid_at_once(app: Flask, call: Any, lot: Any, member_a: Any, member_a2: Any, org_a: Any) -> None:
    call_id, lot_id, org_id = call.id, lot.id, org_a.id
    models = type(call), type(lot), type(org_a)

    def start(user_id: int) -> Callable[[], Any]:
        def job() -> Any:
            return commit_with_retry(lambda: services.start_bid(
                call=db.session.get(models[0], call_id), lot=db.session.get(models[1], lot_id),
                organisation=db.session.get(models[2], org_id), by=db.session.get(User, user_id))).id
        return job

    results = run_together(app, [start(member_a.id), start(member_a2.id)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0] == results[1]
    assert db.session.query(Bid).count() == 1


def test_deadline_burst_is_decided_per_transaction(app: Flask, call: Any, member_a: Any, member_b: Any, clock: Any) -> None:
    """Submissions racing the deadline: before it all count, at it none does."""
    bid_a = make_draft(call, call.lots[0], member_a)
    bid_b = make_draft(call, call.lots[0], member_b)
    clock.set(call.submission_deadline)
    results = run_together(app, [_submit(bid_a.id, member_a.id), _submit(bid_b.id, member_b.id)])
    assert all(isinstance(r, services.DeadlinePassed) for r in results), results
    db.session.expire_all()
    assert db.session.get(Bid, bid_a.id).versions == []


KILLED_SUBMISSION = """
import sys, time
from datetime import datetime
from flask_babel import force_locale
from portal import create_app
from portal.core import time as portal_time
from portal.extensions import db
from portal.accounts.models import User
from portal.bids.models import Bid
from portal.bids import services

url, bid_id, user_id, moment = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
portal_time.install_clock(portal_time.FrozenClock(datetime.fromisoformat(moment)))
app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
with app.app_context(), force_locale("de"):
    version = services.submit_bid(db.session.get(Bid, bid_id), by=db.session.get(User, user_id))
    db.session.flush()
    print("READY", version.number, flush=True)
    time.sleep(120)
"""


def test_process_killed_mid_submission_leaves_previous_version_intact(app: Flask, call: Any, lot: Any, member_a: Any, clock: Any) -> None:
    bid, first = make_submitted_bid(call, lot, member_a)
    clock.advance(minutes=1)
    services.save_draft(bid, by=member_a, answers={c.id: "Zweite Fassung, nie vollständig gespeichert" for c in services.scored_criteria(bid)},
                        declarations={c.id: True for c in services.eligibility_criteria(bid)},
                        contact={"name": "C", "email": "c@example.org"})
    db.session.commit()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    bid_id, user_id, first_receipt, first_digest = bid.id, member_a.id, first.receipt_number, first.digest
    db.session.remove()
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_SUBMISSION, url, str(bid_id), str(user_id), clock().isoformat()],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("READY 2"):
            process.kill()
            raise AssertionError(line + process.stderr.read())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
    bid = db.session.get(Bid, bid_id)
    member_a = db.session.get(User, user_id)
    assert bid.version_count == 1 and [v.number for v in bid.versions] == [1]
    kept = bid.versions[0]
    assert kept.receipt_number == first_receipt
    assert digest(read_version(kept, user=member_a)) == first_digest
    assert db.session.query(BidAttachment).count() == 1
    # The lock died with the process: the next submission goes through.
    second = services.submit_bid(bid, by=member_a)
    db.session.commit()
    assert second.number == 2


def test_refusal_inside_retry_is_not_retried(app: Flask, call: Any, lot: Any, member_a: Any, member_b: Any) -> None:
    bid = make_draft(call, lot, member_a)
    calls = []

    def work() -> Any:
        calls.append(1)
        return services.submit_bid(db.session.get(Bid, bid.id), by=member_b)

    try:
        commit_with_retry(work)
    except Refused:
        pass
    assert calls == [1]
