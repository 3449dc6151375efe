"""CSV exports: one row per call, lot and award; bid counts only after the deadline."""
from __future__ import annotations

import csv
import io
from typing import Any

from tests.factories_bids import close_call


def _rows(client: Any, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff") and "\r\n" in text
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_calls_csv_lists_public_calls_only(client, procedures) -> None:  # type: ignore[no-untyped-def]
    rows = {r["reference"]: r for r in _rows(client, "/open-data/calls.csv")}
    assert set(rows) == {procedures[k].reference for k in ("open_call", "bid_call", "cancelled")}
    open_row = rows[procedures["open_call"].reference]
    assert open_row["state"] == "published" and open_row["lots"] == "2"
    assert open_row["positions"] == "2.5" and open_row["budget_eur"] == "200000.5"
    assert open_row["amendments"] == "1" and open_row["answered_questions"] == "1"
    assert open_row["submission_deadline"].endswith("Z")
    cancelled = rows[procedures["cancelled"].reference]
    assert cancelled["state"] == "cancelled" and cancelled["cancel_reason"] == "Der Bedarf ist entfallen."


def test_lots_csv_counts_bids_only_after_the_deadline(client, procedures, clock) -> None:  # type: ignore[no-untyped-def]
    reference = procedures["bid_call"].reference
    before = [r for r in _rows(client, "/open-data/lots.csv") if r["call_reference"] == reference]
    assert [r["bids_received"] for r in before] == ["", ""]
    close_call(procedures["bid_call"], clock)
    rows = _rows(client, "/open-data/lots.csv")
    after = [r for r in rows if r["call_reference"] == reference]
    assert [(r["lot"], r["bids_received"]) for r in after] == [("1", "2"), ("2", "1")]
    text = client.get("/open-data/lots.csv").get_data(as_text=True)
    assert all(o.name not in text for o in procedures["organisations"])
    open_rows = [r for r in rows if r["call_reference"] == procedures["open_call"].reference]
    assert open_rows[0]["municipalities"] == "Gemeinde 1a; Gemeinde 1b" and open_rows[0]["bids_received"] == ""


def test_awards_csv_has_its_header_until_an_award_is_published(client, procedures) -> None:  # type: ignore[no-untyped-def]
    assert _rows(client, "/open-data/awards.csv") == []
    header = client.get("/open-data/awards.csv").get_data(as_text=True).removeprefix("\ufeff").split("\r\n")[0]
    assert header.startswith("call_reference,ocid,award_id")
