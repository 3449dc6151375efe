"""Audit-log performance at scale: `make bench BENCH_ARGS="--events 1000000"`.

Builds a log of N events in a temporary SQLite database (fast batch mode: the
same canonical bytes, chain hashes and Merkle nodes `record()` writes, inserted
in bulk), then measures and prints

- the cost of one more `record()` in its own transaction (work is O(log n): one
  read of <= log2 n sibling nodes, one insert per completed node),
- inclusion and consistency proof latency through the HTTP endpoints,
- `flask audit verify --full`,
- the outsiders' verifier checking one consistency proof.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _build(n: int, batch: int = 20_000) -> None:
    from sqlalchemy import insert

    from portal.audit import merkle
    from portal.audit.models import GENESIS_HASH, AuditEvent, AuditSubtree
    from portal.audit.services import canonical_bytes, canonical_json
    from portal.audit.tree import Frontier
    from portal.extensions import db

    frontier = Frontier()
    prev = GENESIS_HASH
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events: list[dict[str, object]] = []
    nodes: list[dict[str, object]] = []
    conn = db.session.connection()
    import hashlib

    for seq in range(1, n + 1):
        event = AuditEvent(
            seq=seq, occurred_at=start + timedelta(seconds=seq), actor_id=None,
            action="system.demo_loaded", subject_type="call" if seq % 10 == 0 else None,
            subject_id=str(seq // 10) if seq % 10 == 0 else None,
            data_json=canonical_json({"i": seq}), public=seq % 10 == 0, prev_hash=prev,
        )
        canonical = canonical_bytes(event)
        event.hash = prev = hashlib.sha256(canonical).hexdigest()
        events.append({c: getattr(event, c) for c in ("seq", "occurred_at", "actor_id", "action", "subject_type", "subject_id", "data_json", "public", "prev_hash", "hash")})
        nodes.extend({"level": lv, "index": ix, "hash": h} for lv, ix, h in frontier.append(merkle.leaf_hash(canonical)))
        if len(events) >= batch:
            conn.execute(insert(AuditEvent.__table__), events)
            conn.execute(insert(AuditSubtree.__table__), nodes)
            events.clear()
            nodes.clear()
    if events:
        conn.execute(insert(AuditEvent.__table__), events)
        conn.execute(insert(AuditSubtree.__table__), nodes)
    db.session.commit()


def _timed(fn, repeat: int = 1) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.2f} ms, max {max(values) * 1000:.2f} ms"


def _timed_requests(fn, repeat: int) -> str:  # type: ignore[no-untyped-def]
    """Wall time per request, plus the process's CPU time and the slow full
    garbage collections, to tell the work a request does from the waiting on a
    busy machine."""
    import gc

    full_gc: list[float] = []
    started: list[float] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if info.get("generation") == 2:
            if phase == "start":
                started.append(time.perf_counter())
            elif started:
                full_gc.append(time.perf_counter() - started.pop())

    wall, cpu = [], []
    gc.callbacks.append(watch)
    try:
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    finally:
        gc.callbacks.remove(watch)
    p99 = sorted(wall)[max(0, int(len(wall) * 0.99) - 1)]
    text = f"{_ms(wall)}, p99 {p99 * 1000:.2f} ms (CPU: {_ms(cpu)}; {repeat} Anfragen"
    if full_gc:
        text += f"; {len(full_gc)} volle GC-Läufe, längster {max(full_gc) * 1000:.1f} ms"
    return text + ")"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--base-db", type=Path, default=None,
        help="keep the built log (events + first checkpoint) in this SQLite file and reuse it "
        "on later runs; each run works on a copy, so the file itself never changes",
    )
    parser.add_argument("--only", choices=("proofs", "verify"), default=None, help="measure only this part")
    parser.add_argument(
        "--no-gc-freeze", action="store_true",
        help="do not gc.freeze() the loaded application before the proofs (gunicorn.conf.py does, in pre_fork)",
    )
    parser.add_argument("--proof-requests", type=int, default=200, help="requests per proof kind")
    parser.add_argument("--verify-runs", type=int, default=1, help="repeat verify --full, print each and the median")
    args = parser.parse_args(argv)
    n = args.events

    from flask_migrate import upgrade

    from portal import create_app
    from portal.audit.actions import AuditAction
    from portal.audit.fullcheck import verify_full
    from portal.audit.services import record
    from portal.audit.transparency import issue_checkpoint
    from portal.extensions import db

    workdir = Path(tempfile.mkdtemp(prefix="ibv-bench-"))
    database = workdir / "bench.sqlite3"
    reuse = args.base_db is not None and args.base_db.exists()
    if reuse:
        shutil.copyfile(args.base_db, database)
    extra = {}
    if args.base_db is not None:  # the kept checkpoints need the same signing key later
        extra["AUDIT_SIGNING_KEY_PATH"] = str(args.base_db.with_suffix(".key.pem"))
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}", PORTAL_TEST_TMP=str(workdir), **extra)
    try:
        _run(app, args, n, database, workdir, reuse)
    finally:
        if args.base_db is not None:  # the working copy is of no further use
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            shutil.rmtree(workdir, ignore_errors=True)


def _run(app, args, n, database, workdir, reuse) -> None:  # type: ignore[no-untyped-def]
    from flask_migrate import upgrade

    from portal.audit.actions import AuditAction
    from portal.audit.services import record
    from portal.audit.transparency import issue_checkpoint
    from portal.extensions import db

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        print(f"Audit-Benchmark mit {n:_} Ereignissen (SQLite in {workdir})".replace("_", "."))
        if reuse:
            print(f"  Aufbau: übernommen aus {args.base_db}")
        else:
            t = time.perf_counter()
            _build(n)
            print(f"  Aufbau (Stapelmodus):          {time.perf_counter() - t:8.1f} s")
            t = time.perf_counter()
            issue_checkpoint()
            db.session.commit()
            print(f"  erster Prüfpunkt (prüft alle Blätter): {time.perf_counter() - t:6.1f} s")
            if args.base_db is not None:
                db.session.close()
                db.engine.dispose()
                shutil.copyfile(database, args.base_db)

        def append_one() -> None:
            record(AuditAction.DEMO_LOADED, data={"bench": True})
            db.session.commit()

        print(f"  record() + commit, 200×:       {_ms(_timed(append_one, 200))}")
        issue_checkpoint()
        db.session.commit()
        size = n + 200
        client = app.test_client()
        if not args.no_gc_freeze:
            # As gunicorn.conf.py does before forking workers: objects of the loaded
            # application are not traversed by every full garbage collection.
            import gc

            gc.collect()
            gc.freeze()
        import random

        rnd = random.Random(1)
        if args.only == "verify":
            return _verify(args.verify_runs, size)
        incl = _timed_requests(lambda: client.get(f"/transparency/proof/inclusion?seq={rnd.randint(1, size)}&size={size}").get_json(), args.proof_requests)
        print(f"  Einschlussnachweis (HTTP):     {incl}")
        cons = _timed_requests(lambda: client.get(f"/transparency/proof/consistency?old={rnd.randint(1, size)}&new={size}").get_json(), args.proof_requests)
        print(f"  Konsistenznachweis (HTTP):     {cons}")

        spec = importlib.util.spec_from_file_location("verify_log_bench", ROOT / "tools" / "verify_log.py")
        vl = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules["verify_log_bench"] = vl
        spec.loader.exec_module(vl)  # type: ignore[union-attr]
        from portal.audit import merkle
        from portal.audit.tree import DbSubtreeStore

        store = DbSubtreeStore()
        old = n // 3
        old_root, new_root = merkle.root_hash(store, old), merkle.root_hash(store, size)
        answer = client.get(f"/transparency/proof/consistency?old={old}&new={size}").get_json()
        proof = [bytes.fromhex(p) for p in answer["proof"]]
        ext = _timed(lambda: vl.verify_consistency(old, size, old_root, new_root, proof), 200)
        print(f"  verify_log.py Konsistenz:      {_ms(ext)} ({len(proof)} Hashes)")
        db.session.commit()
        if args.only == "proofs":
            return None
        return _verify(args.verify_runs, size)


def _verify(runs: int, size: int) -> None:
    from portal.audit.fullcheck import verify_full
    from portal.extensions import db

    times = []
    for _ in range(runs):
        db.session.commit()
        t = time.perf_counter()
        report = verify_full()
        times.append(time.perf_counter() - t)
        print(f"  flask audit verify --full:     {times[-1]:8.1f} s ({'in Ordnung' if report.ok else report.reason})")
    if runs > 1:
        print(f"  verify --full, Median aus {runs}: {statistics.median(times):8.1f} s")
    print(json.dumps({"events": size, "ok": report.ok}))


if __name__ == "__main__":
    main()
