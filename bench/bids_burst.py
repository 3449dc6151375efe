"""Deadline burst: concurrent clients submitting bid versions against gunicorn.

    python -m bench.bids_burst [--clients 50] [--versions 1000] [--size-mb 1] [--backend sqlite|postgres|both]

For each backend a fresh database is migrated and seeded with one open call
and one organisation (with a member and a bid) per client. The app runs under
gunicorn (gthread workers). Each client repeatedly uploads a fresh PDF of
`--size-mb` as the eligibility evidence and submits; every submission must
answer with a receipt. Afterwards every receipt is looked up again, its
version decrypted and its SHA-256 compared with the receipt digest. Prints
errors, lost versions, p50/p99 submission latency and throughput.
PostgreSQL uses BENCH_DATABASE_URL or TEST_DATABASE_URL (a database
`ibv_bench` is created next to it). Not part of `make test`.
"""
from __future__ import annotations

import argparse
import http.client
import io
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pikepdf

ROOT = Path(__file__).resolve().parent.parent


def big_pdf(size: int) -> bytes:
    """A valid one-page PDF of about `size` bytes (an incompressible image stream)."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    side = max(1, int((size / 3) ** 0.5))
    image = pdf.make_stream(secrets.token_bytes(side * side * 3))
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.ColorSpace, image.BitsPerComponent = side, side, pikepdf.Name.DeviceRGB, 8
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    buffer = io.BytesIO()
    pdf.save(buffer, compress_streams=False)
    return buffer.getvalue()


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/pdf\r\n\r\n".encode() + data + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url: str, clients: int) -> list[dict[str, object]]:
    """Migrate, seed one open call and a bid per client; return what each client needs."""
    from flask_babel import force_locale
    from flask_migrate import upgrade

    from portal import create_app
    from portal.accounts.sessions import TWO_FACTOR_PASSED
    from portal.bids import services
    from portal.extensions import db
    from tests.factories import add_member, make_organisation, make_user
    from tests.factories_bids import make_draft, make_open_call

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    seeds = []
    with app.app_context(), force_locale("de"):
        upgrade(directory=str(ROOT / "migrations"))
        call = make_open_call(lots=1, deadline_in=timedelta(days=30))
        for n in range(clients):
            organisation = make_organisation(name=f"Bench-Träger {n} e. V.")
            user = make_user(name=f"Bench {n}")
            add_member(organisation, user)
            bid = make_draft(call, call.lots[0], user, attachment=False)
            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = user.get_id()
                session["_fresh"] = True
                session[TWO_FACTOR_PASSED] = True
            cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
            fields = {f"answer_{c.id}": f"Antwort {n} zu {c.code}" for c in services.scored_criteria(bid)}
            fields.update({f"declaration_{c.id}": "y" for c in services.eligibility_criteria(bid)})
            fields.update(contact_name=user.name, contact_email=user.email, action="save")
            evidence = f"evidence_{services.eligibility_criteria(bid)[0].id}"
            seeds.append({"bid": bid.id, "user": user.id, "cookie": f"{cookie.key}={cookie.value}",
                          "fields": fields, "evidence": evidence})
        db.session.commit()
        db.engine.dispose()
    return seeds


def serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as conf:
        conf.write("")  # keep the production gunicorn.conf.py (with its start checks) out of the benchmark
    env = {**os.environ, "TEST_DATABASE_URL": url, "PORTAL_CONFIG": "testing", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", conf.name, "-k", "gthread", "-w", str(workers), "--threads", "8",
         "-b", f"127.0.0.1:{port}", "--timeout", "120", "portal:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start: " + process.stderr.read().decode()[-2000:])


def run_client(port: int, seed: dict[str, object], count: int, size: int, out: dict[str, list[object]]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Cookie": str(seed["cookie"])}
    for i in range(count):
        body, content_type = multipart(dict(seed["fields"]), {str(seed["evidence"]): (f"Nachweis {i}.pdf", big_pdf(size))})  # type: ignore[arg-type]
        try:
            connection.request("POST", f"/interessenbekundungen/{seed['bid']}", body, {**headers, "Content-Type": content_type})
            response = connection.getresponse()
            response.read()
            if response.status != 302:
                out["errors"].append(f"upload {response.status}")
                continue
            started = time.perf_counter()
            connection.request("POST", f"/interessenbekundungen/{seed['bid']}/einreichen", urlencode({"confirm": "y"}),
                               {**headers, "Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            location = response.getheader("Location", "")
            if response.status != 302 or "/eingangsbestaetigungen/" not in location:
                out["errors"].append(f"submit {response.status}")
                continue
            out["latencies"].append(elapsed)
            out["receipts"].append((seed["user"], location.rsplit("/", 1)[-1]))
        except (OSError, http.client.HTTPException) as exc:
            out["errors"].append(repr(exc))
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.close()


def verify(url: str, receipts: list[tuple[object, str]], expected: int) -> tuple[int, int]:
    """Find every receipt again and check its digest; return (verified, versions in the database)."""
    from flask_babel import force_locale
    from sqlalchemy import func, select

    from portal import create_app
    from portal.accounts.models import User
    from portal.bids.canonical import digest
    from portal.bids.models import BidVersion
    from portal.bids.sealed import read_version
    from portal.bids.services import find_version_by_receipt
    from portal.extensions import db

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    verified = 0
    with app.app_context(), force_locale("de"):
        for user_id, number in receipts:
            version = find_version_by_receipt(number)
            user = db.session.get(User, user_id)
            if version is not None and digest(read_version(version, user=user)) == version.digest:
                verified += 1
        stored = db.session.scalar(select(func.count()).select_from(BidVersion))
        db.session.rollback()
        db.engine.dispose()
    return verified, int(stored or 0)


def bench(backend: str, url: str, args: argparse.Namespace) -> bool:
    print(f"\n== {backend}: {args.clients} clients, {args.versions} versions, {args.size_mb} MB each")
    seeds = prepare(url, args.clients)
    port = free_port()
    server = serve(url, port, args.workers)
    out: dict[str, list[object]] = {"latencies": [], "receipts": [], "errors": []}
    per_client = [args.versions // args.clients + (1 if i < args.versions % args.clients else 0) for i in range(args.clients)]
    size = int(args.size_mb * 1024 * 1024)
    threads = [threading.Thread(target=run_client, args=(port, seed, n, size, out)) for seed, n in zip(seeds, per_client)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    latencies = sorted(float(x) for x in out["latencies"])  # type: ignore[arg-type]
    verified, stored = verify(url, out["receipts"], args.versions)  # type: ignore[arg-type]
    lost = len(out["receipts"]) - verified
    print(f"errors: {len(out['errors'])}  receipts: {len(out['receipts'])}  verified: {verified}  "
          f"versions stored: {stored}  lost: {lost}")
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"submission latency p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; "
              f"throughput {len(latencies) / wall:.1f} submissions/s (wall {wall:.1f} s, uploads included)")
    for error in out["errors"][:10]:
        print("  error:", error)
    return not out["errors"] and lost == 0 and stored == args.versions


def postgres_url() -> str | None:
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not base:
        return None
    sys.path.insert(0, str(ROOT))
    from tests.conftest import create_postgres_database

    os.environ.setdefault("TEST_DATABASE_URL", base)
    return create_postgres_database("ibv_bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    ok = True
    if args.backend in {"sqlite", "both"}:
        with tempfile.TemporaryDirectory() as tmp:
            ok &= bench("SQLite", f"sqlite:///{tmp}/bench.sqlite3", args)
    if args.backend in {"postgres", "both"}:
        url = postgres_url()
        if url is None:
            print("\n== PostgreSQL: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL)")
        else:
            ok &= bench("PostgreSQL", url, args)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
