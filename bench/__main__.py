"""`make bench` / `python -m bench [pages|bids|audit|explain] [options]`: the benchmark suite.

Never part of `make test`. Without a name every benchmark runs in turn (the
public pages against gunicorn with wrk, the deadline burst of issue 5, the
audit-log figures of issue 9) and the results are written to BENCHMARKS.md.
`--size modest` (default) uses data sets that finish in minutes on a laptop;
`--size full` uses the issue's sizes (scale data with 1,000,000 events, 1,000
bid versions of 1 MB, an audit log of 1,000,000 events) and takes hours.
Options after a benchmark's name go to that benchmark.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import audit_bench, bids_burst, explain, pages

BENCHMARKS = {"pages": pages.main, "bids": bids_burst.main, "audit": audit_bench.main, "explain": explain.main}
ROOT = Path(__file__).resolve().parent.parent

SIZES = {
    "modest": {
        "pages": ["--seconds", "10"],
        "bids": ["--clients", "20", "--versions", "200", "--size-mb", "0.5", "--backend", "both"],
        "audit": ["--events", "200000", "--proof-requests", "200"],
    },
    # The pages on the full scale data (1,000,000 events), the burst and the audit log at modest sizes.
    "full-pages": {
        "pages": ["--seconds", "15", "--scale", "--calls", "200", "--lots", "1000", "--bids", "10000",
                  "--organisations", "2000", "--consultations", "50", "--comments", "20000", "--events", "1000000"],
        "bids": ["--clients", "20", "--versions", "200", "--size-mb", "0.5", "--backend", "both"],
        "audit": ["--events", "200000", "--proof-requests", "200"],
    },
    "full": {
        "pages": ["--seconds", "30", "--scale", "--calls", "200", "--lots", "1000", "--bids", "10000",
                  "--organisations", "2000", "--consultations", "50", "--comments", "20000", "--events", "1000000"],
        "bids": [],
        "audit": [],
    },
}


class Tee(io.TextIOBase):
    def __init__(self, *streams: Any) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)


def run_captured(name: str, args: list[str]) -> tuple[int, str]:
    print(f"=== {name} {' '.join(args)} ===", flush=True)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(Tee(sys.stdout, buffer)):  # type: ignore[type-var]
        result = BENCHMARKS[name](args)
    return (result if isinstance(result, int) else 0), buffer.getvalue()


def _find(pattern: str, text: str, default: str = "–") -> str:
    match = re.search(pattern, text)
    return match.group(1).strip() if match else default


def _page_rows(pages: dict[str, Any], suffix: str) -> list[tuple[str, str, str]]:
    """One row per page: its ratio to the trivial route of the same pass (goal only in the production pass)."""
    base = pages.get("trivial route (/healthz)")
    if not base:
        return []
    rows = [(f"trivial route `/healthz` (baseline){suffix}", "–",
             f"{base['rps']:.0f} req/s, p50 {base['p50_ms']:.1f} ms, p99 {base['p99_ms']:.1f} ms")]
    for name, f in pages.items():
        if name.startswith("trivial"):
            continue
        verdict = "✔" if f["ratio"] >= 0.5 else f"✘ (missed by {0.5 - f['ratio']:.2f})"
        measured = (f"**{f['ratio']:.2f}** {verdict}" if not suffix else f"{f['ratio']:.2f}") + (
            f" ({f['rps']:.0f} req/s, p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms"
            + (f"; wrk socket errors: {f['socket_errors']}" if f["socket_errors"] else "") + ")")
        rows.append((f"{name} `{f['path']}`: throughput ratio{suffix}", "≥ 0.5" if not suffix else "–", measured))
    return rows


def write_report(size: str, outputs: dict[str, str], codes: dict[str, int]) -> Path:
    today = datetime.now().strftime("%Y-%m-%d %H:%M")
    rows: list[tuple[str, str, str]] = []
    pages_json = _find(r"PAGES (\{.*\})", outputs.get("pages", ""), "")
    report = json.loads(pages_json) if pages_json else None
    if report:
        rows += _page_rows(report["pages"], "")
        for name, why in report["unmeasured"].items():
            rows.append((f"{name}: throughput ratio", "≥ 0.5", f"not measured: {why}"))
        rows += _page_rows(report.get("rendered") or {}, ", page store off (informational)")
        memory = report["peak_memory_mb"]
        rows.append(("peak memory per worker (VmHWM)", "–",
                     f"max {memory['max']:.0f} MB (workers: {', '.join(f'{m:.0f}' for m in memory['workers'])} MB)"
                     if memory["max"] else "–"))
    bids = outputs.get("bids", "")
    for backend in ("SQLite", "PostgreSQL"):
        match = re.search(rf"(== {backend}:.*?)(?=\n== |\Z)", bids, re.DOTALL)
        section = match.group(1) if match else ""
        if not section:
            continue
        rows.append((f"deadline burst, {backend}: {_find(r'== ' + backend + r': (.*)', section)}", "no receipt lost",
                     _find(r"(errors: .*)", section)))
        rows.append((f"deadline burst, {backend}: submission latency", "–", _find(r"submission latency (.*)", section)))
    audit = outputs.get("audit", "")
    if audit:
        events = _find(r"Audit-Benchmark mit ([\d.]+) Ereignissen", audit)
        rows.append((f"inclusion proof over HTTP ({events} events)", "≤ 20 ms", _find(r"Einschlussnachweis \(HTTP\):\s+(.*)", audit)))
        rows.append((f"consistency proof over HTTP ({events} events)", "≤ 20 ms", _find(r"Konsistenznachweis \(HTTP\):\s+(.*)", audit)))
        rows.append((f"`flask audit verify --full` ({events} events)", "≤ 30 s at 1,000,000", _find(r"flask audit verify --full:\s+(.*)", audit)))
        rows.append((f"`record()` + commit ({events} events)", "–", _find(r"record\(\) \+ commit, 200×:\s+(.*)", audit)))
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m bench --size {size}`) on {today}. Machine: {_machine()}.",
        "Absolute numbers on a shared machine are noise; the page figures that count are ratios to the",
        "trivial route of the same app under the same server and load, measured in the same run.",
        "",
    ]
    if report:
        lines += [
            f"Pages: gunicorn with `gunicorn.conf.py` (production configuration, {report['workers']} workers × 2 threads) on "
            f"loopback, {report['database']}, `wrk` with {report['connections']} connections for {report['seconds']} s per page, "
            f"anonymous visitors. Scale data (`flask demo scale {report['scale']}`).",
            "",
            "wrk sends no cookies and no validators, like a stream of new anonymous visitors: each worker renders a "
            "page once and then answers from its page store (`portal/core/caching.py`) until an audit event or the "
            "clock changes the page. The rows marked *page store off* repeat the pass with `PAGE_CACHE_MB=0`, where "
            "every request renders (informational: the cost after every change, and for signed-in users).",
            "",
        ]
    lines += ["| Figure | Goal | Measured | Date |", "|---|---|---|---|"]
    lines += [f"| {figure} | {goal} | {measured} | {today[:10]} |" for figure, goal, measured in rows]
    failed = [name for name, code in codes.items() if code]
    lines += ["", "Where a goal is missed, the last column says by how much; what limits it: docs/operations.md, "
              "section Benchmarks."]
    lines += ["", f"Exit codes: {', '.join(f'{n} {c}' for n, c in codes.items())}" + (" (failures above)" if failed else "."), ""]
    target = ROOT / "BENCHMARKS.md"
    target.write_text("\n".join(lines), encoding="utf-8")
    return target


def _machine() -> str:
    import os
    import platform

    return f"{os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f} at the end"


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHMARKS:
        result = BENCHMARKS[argv[0]](argv[1:])
        return result if isinstance(result, int) else 0
    size = "modest"
    if argv[:1] == ["--size"] and len(argv) > 1:
        size = argv[1]
    if size not in SIZES:
        raise SystemExit(f"--size {'|'.join(SIZES)}, nicht {size!r}")
    outputs, codes = {}, {}
    for name, args in SIZES[size].items():
        codes[name], outputs[name] = run_captured(name, args)
    target = write_report(size, outputs, codes)
    print(f"\n{target.name} geschrieben.")
    return 1 if any(codes.values()) else 0


sys.exit(main(sys.argv[1:]))
