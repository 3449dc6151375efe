"""Public pages under load: gunicorn in its production configuration, measured with wrk.

1. Generates (or continues) the scale data set with `flask demo scale` in a
   benchmark database (PostgreSQL when BENCH_DATABASE_URL or TEST_DATABASE_URL
   is set, else SQLite in bench/.data/); the data set is kept for the next run.
2. Starts `gunicorn -c gunicorn.conf.py` (PORTAL_CONFIG=production, its worker
   count) on loopback and measures every public page and the trivial route
   `/healthz` with `wrk`, in turn, with the same connections and duration.
   The figure that counts is each page's throughput as a ratio to the trivial
   route's (goal ≥ 0.5). wrk's requests carry no cookies and no validators,
   as anonymous visitors' first visits: every worker renders each page once
   and then serves it from its page store (portal.core.caching) until the
   data or the clock changes it.
3. Reads each worker's peak memory (VmHWM) afterwards.
4. Measures the same pages again on a second instance with the page store
   off (`PAGE_CACHE_MB=0`), so the cost of rendering stays visible too
   (`--store-only` skips this pass).

Prints a JSON line with every figure (used by bench/__main__.py for BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"

#: Demo scale for the benchmark run (the issue's full size takes hours; see docs/operations.md).
DEFAULT_SCALE = ["--calls", "40", "--lots", "200", "--bids", "600", "--organisations", "200",
                 "--consultations", "10", "--comments", "1000", "--events", "6000"]

def require_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk fehlt: installiere das Debian-Paket wrk …", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("wrk")
        if not found:
            subprocess.run(["apt-get", "update", "-qq"], check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            found = shutil.which("wrk")
    if not found:
        raise SystemExit("make bench braucht den Lastgenerator wrk: apt-get install wrk (als root).")
    return found


def database_url() -> str:
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if base:
        import sqlalchemy as sa

        url = sa.engine.make_url(base).set(database="ibv_bench_pages")
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            if not conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = 'ibv_bench_pages'").first():
                conn.exec_driver_sql('CREATE DATABASE "ibv_bench_pages"')
        admin.dispose()
        return url.render_as_string(hide_password=False)
    DATA.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DATA / 'pages.sqlite3'}"


def flask(url: str, *args: str) -> None:
    env = {**os.environ, "PORTAL_CONFIG": "testing", "TEST_DATABASE_URL": url, "FLASK_APP": "portal:create_app",
           "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True)


def targets(url: str) -> tuple[dict[str, str], dict[str, str]]:
    """The public pages to measure, picked from the scale data, and those it cannot offer (with why)."""
    from sqlalchemy import select

    from portal import create_app
    from portal.awards.models import AwardNotice
    from portal.bids.models import Bid
    from portal.calls.models import Call, CallState
    from portal.consultation.models import Consultation
    from portal.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        open_call = db.session.scalar(select(Call.reference).where(Call.state == CallState.PUBLISHED).order_by(Call.id.desc()).limit(1))
        consultation = db.session.scalar(select(Consultation.id).order_by(Consultation.id).limit(1))
        awarded = db.session.scalar(select(Call.reference).join(AwardNotice).order_by(Call.id.desc()).limit(1))
        # The OCDS package of a call with bids (bid statistics, lots, awards if any): the largest one.
        with_bids = db.session.scalar(
            select(Call.reference).join(Bid).group_by(Call.id, Call.reference).order_by(db.func.count(Bid.id).desc()).limit(1)
        )
        db.session.rollback()
        db.engine.dispose()
    pages = {
        "trivial route (/healthz)": "/healthz",
        "call list": "/aufrufe/",
        "call page": f"/aufrufe/{open_call}",
        "award notice": f"/vergaben/{awarded}",
        "consultation page": f"/beteiligung/{consultation}",
        "OCDS package of one call": f"/open-data/ocds/{with_bids or open_call}/record.json",
        "transparency checkpoint": "/transparency/checkpoint",
    }
    unmeasured = {}
    if awarded is None:
        unmeasured["award notice"] = "the scale data holds no awarded call (flask demo scale --awarded 0?)"
        del pages["award notice"]
    return pages, unmeasured


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(wrk: str, port: int, path: str, *, connections: int, threads: int, seconds: int) -> dict[str, Any]:
    result = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    )
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def peak_memory_mb(pids: list[int]) -> list[float]:
    peaks = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            peaks.append(int(match.group(1)) / 1024)
    return peaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--store-only", action="store_true", help="skip the second pass with the page store off")
    parser.add_argument("--scale", nargs=argparse.REMAINDER, default=None,
                        help="options for flask demo scale (default: a modest data set)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    wrk = require_wrk()
    url = database_url()
    scale = args.scale or DEFAULT_SCALE
    started = time.perf_counter()
    flask(url, "db", "upgrade")
    print(f"Skalierungsdaten ({' '.join(scale)}) in {url.split('@')[-1]} …", flush=True)
    flask(url, "demo", "scale", *scale)
    print(f"  bereit nach {time.perf_counter() - started:.0f} s", flush=True)

    from tests.live_server import Server, production_env

    pages, unmeasured = targets(url)
    results: dict[str, dict[str, Any]] = {}
    rendered: dict[str, dict[str, Any]] = {}
    memory: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        extra: dict[str, str] = {}
        if args.workers:
            extra["GUNICORN_WORKERS"] = str(args.workers)
        env = production_env(url, Path(tmp) / "keys", **extra)
        workers = int(env.get("GUNICORN_WORKERS") or (os.cpu_count() or 1) * 2 + 1)
        threads = int(env.get("GUNICORN_THREADS", "2"))

        def measure(label: str, env: dict[str, str], into: dict[str, dict[str, Any]]) -> list[float]:
            print(f"  {label}", flush=True)
            server = Server(env, workers=workers, threads=threads, log=Path(tmp) / "gunicorn.log")
            try:
                for path in pages.values():  # warm every worker (imports, connections, page store) before measuring
                    run_wrk(wrk, server.port, path, connections=args.connections, threads=args.threads, seconds=1)
                for name, path in pages.items():
                    into[name] = {"path": path, **run_wrk(wrk, server.port, path, connections=args.connections,
                                                          threads=args.threads, seconds=args.seconds)}
                    print(f"    {name:<28} {into[name]['rps']:8.1f}/s  p50 {into[name]['p50_ms']:7.1f} ms  "
                          f"p99 {into[name]['p99_ms']:7.1f} ms", flush=True)
                return peak_memory_mb(server.worker_pids())
            finally:
                server.stop()

        memory = measure("production configuration (page store on):", env, results)
        if not args.store_only:
            measure("page store off (PAGE_CACHE_MB=0: every request renders):", {**env, "PAGE_CACHE_MB": "0"}, rendered)
    for figures in (results, rendered):
        base = figures.get("trivial route (/healthz)", {}).get("rps")
        for name, page in figures.items():
            page["ratio"] = page["rps"] / base if base else 0.0
    report = {
        "database": "PostgreSQL" if url.startswith("postgresql") else "SQLite", "scale": " ".join(scale),
        "workers": workers, "connections": args.connections, "seconds": args.seconds,
        "pages": results, "rendered": rendered, "unmeasured": unmeasured,
        "peak_memory_mb": {"max": max(memory) if memory else None, "workers": [round(m, 1) for m in memory]},
    }
    print("PAGES " + json.dumps(report))
    failed = [(n, f) for figures in (results, rendered) for n, f in figures.items() if f["non_2xx"] or f["socket_errors"]]
    for name, f in failed:
        print(f"  Fehler bei {name}: {f['non_2xx']} Antworten ≠ 2xx/3xx, {f['socket_errors']}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
