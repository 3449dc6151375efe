"""CSV exports of calls, lots and awards, for spreadsheets and data journalists.

The same rules as the OCDS data (built from the same loaded calls): only
public calls, bid counts per lot only after the submission deadline, and the
awards exactly as the registered award builder publishes them in OCDS (no
award builder registered: the awards file has its header only).

Format: UTF-8 with a byte-order mark (spreadsheet programs then read umlauts
correctly), comma-separated, CRLF line ends (RFC 4180), times in UTC as ISO
8601, decimal numbers with a dot.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from portal.calls.models import Call
from portal.calls.state import effective_state
from portal.public.ocds import bids_are_public, build_releases, call_url, compile_release, iso, ocid, prefetch_bids

CALL_COLUMNS = [
    "reference", "ocid", "title", "state", "published_at", "question_deadline", "submission_deadline",
    "decision_planned_on", "standstill_days", "lots", "positions", "budget_eur", "amendments", "answered_questions",
    "cancelled_at", "cancel_reason", "url",
]
LOT_COLUMNS = [
    "call_reference", "lot", "title", "region", "municipalities", "positions", "budget_eur", "bids_received", "url",
]
AWARD_COLUMNS = [
    "call_reference", "ocid", "award_id", "title", "status", "date", "lots", "suppliers", "value_eur", "description",
]


def _text(rows: Iterable[Iterable[Any]], header: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return "\ufeff" + out.getvalue()


def _decimal(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def calls_csv(calls: Sequence[Call]) -> str:
    rows = []
    for call in calls:
        budgets = [lot.budget for lot in call.lots]
        total = sum(budgets, Decimal(0)) if budgets and None not in budgets else None  # type: ignore[arg-type]
        rows.append([
            call.reference, ocid(call), call.title, effective_state(call).value, iso(call.published_at),
            iso(call.question_deadline), iso(call.submission_deadline),
            call.decision_planned_on.isoformat() if call.decision_planned_on else "", call.standstill_days,
            len(call.lots), _decimal(sum((lot.positions for lot in call.lots), Decimal(0))), _decimal(total),
            len(call.amendments), len(call.published_questions), iso(call.cancelled_at), call.cancel_reason,
            call_url(call),
        ])
    return _text(rows, CALL_COLUMNS)


def lots_csv(calls: Sequence[Call]) -> str:
    facts = prefetch_bids(calls)
    rows = []
    for call in calls:
        counted = bids_are_public(call)
        per_lot = facts.bids.get(call.id, [])
        for lot in call.lots:
            received = sum(1 for lid, _org, _t in per_lot if lid == lot.id) if counted else ""
            rows.append([
                call.reference, lot.number, lot.title, lot.region, "; ".join(lot.municipalities),
                _decimal(lot.positions), _decimal(lot.budget), received, call_url(call),
            ])
    return _text(rows, LOT_COLUMNS)


def awards_csv(calls: Sequence[Call]) -> str:
    rows = []
    for the_ocid, releases in build_releases(calls).items():
        if not releases:
            continue
        compiled = compile_release(releases)
        reference = compiled.get("tender", {}).get("id", "")
        for award in compiled.get("awards", []):
            value = award.get("value") or {}
            rows.append([
                reference, the_ocid, award.get("id"), award.get("title"), award.get("status"), award.get("date"),
                "; ".join(award.get("relatedLots", [])),
                "; ".join(s.get("name", "") for s in award.get("suppliers", [])),
                value.get("amount") if value.get("currency", "EUR") == "EUR" else "",
                award.get("description"),
            ])
    return _text(rows, AWARD_COLUMNS)
