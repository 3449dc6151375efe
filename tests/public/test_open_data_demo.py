"""After `make run` the open-data page and packages show the demo procedures, valid OCDS."""
from __future__ import annotations

import json
from typing import Any

from flask_babel import force_locale

from portal.demo import load_demo
from tests.ocds_validation import validation_errors


def test_demo_open_data(app: Any, client: Any) -> None:
    with force_locale("de"):
        load_demo()
    page = client.get("/open-data/").get_data(as_text=True)
    assert "Kommunales Integrationsmanagement" in page and "VORLAUF" in page
    releases = client.get("/open-data/ocds/releases.json").get_json()
    records = client.get("/open-data/ocds/records.json").get_json()
    assert validation_errors(releases) == [] and validation_errors(records, "record") == []
    compiled = {r["compiledRelease"]["tender"]["id"]: r["compiledRelease"] for r in records["records"]}
    kim = next(c for ref, c in compiled.items() if ref.startswith("KIM-") and ref.endswith("-01"))
    assert "planning" in kim and len(kim["tender"]["lots"]) == 5 and kim["tender"]["amendments"]
    assert "bids" not in kim  # still open
    closed = next(c for ref, c in compiled.items() if ref.endswith("VORLAUF"))
    per_lot = {s["relatedLot"]: s["value"] for s in closed["bids"]["statistics"] if "relatedLot" in s}
    assert per_lot == {"1": 2, "2": 1}
    assert "Caritas" not in json.dumps(closed, ensure_ascii=False)
    cancelled = next(c for ref, c in compiled.items() if ref.startswith("FSA-"))
    assert cancelled["tender"]["status"] == "cancelled"
    awarded = next(c for ref, c in compiled.items() if ref.endswith("-VERGEBEN"))
    assert awarded["tender"]["status"] == "complete"
    assert [a["status"] for a in awarded["awards"]] == ["active", "active"]
    assert {s["name"] for a in awarded["awards"] for s in a["suppliers"]} == {"Caritasverband Siegen-Wittgenstein e. V."}
    assert "Diakonie" not in json.dumps(awarded, ensure_ascii=False)
    notices = client.get("/vergaben/").get_data(as_text=True)
    assert awarded["tender"]["id"] in notices
    assert "Caritasverband Siegen-Wittgenstein e. V." in client.get("/open-data/awards.csv").get_data(as_text=True)
