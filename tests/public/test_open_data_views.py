"""Who may read open data (everybody), and what the open-data page explains."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import login

ROLES = ["anonymous", "bidder", "officer", "reviewer", "observer", "admin"]
ROUTES = [
    "/open-data/", "/open-data/ocds/releases.json", "/open-data/ocds/records.json",
    "/open-data/calls.csv", "/open-data/lots.csv", "/open-data/awards.csv",
]


@pytest.mark.parametrize("role", ROLES)
def test_everybody_reads_open_data(client, procedures, role, request) -> None:  # type: ignore[no-untyped-def]
    if role != "anonymous":
        login(client, request.getfixturevalue(role))
    reference = procedures["open_call"].reference
    for url in ROUTES + [f"/open-data/ocds/{reference}/releases.json", f"/open-data/ocds/{reference}/record.json"]:
        assert client.get(url).status_code == 200, url
    draft = procedures["draft"].reference
    assert client.get(f"/open-data/ocds/{draft}/releases.json").status_code == 404
    assert client.get(f"/open-data/ocds/{draft}/record.json").status_code == 404


def test_the_page_explains_formats_and_licence_and_links_every_call(client, procedures) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/open-data/").get_data(as_text=True)
    for text in ("Open Contracting Data Standard", "Datenlizenz Deutschland", "dl-de/zero-2-0", "expressionOfInterest",
                 "ocds_bid_extension", "aufrufe.csv", "Byte-Order-Mark", "Was nicht veröffentlicht wird"):
        assert text in page, text
    for key in ("open_call", "bid_call", "cancelled"):
        assert f"/open-data/ocds/{procedures[key].reference}/record.json" in page
    assert procedures["draft"].reference not in page


def test_the_footer_links_the_open_data_page(client: Any) -> None:
    assert 'href="/open-data/"' in client.get("/").get_data(as_text=True)


def test_another_licence_is_named_without_promises(app, client) -> None:  # type: ignore[no-untyped-def]
    app.config["OPEN_DATA_LICENSE_URL"] = "https://www.govdata.de/dl-de/by-2-0"
    page = client.get("/open-data/").get_data(as_text=True)
    assert "dl-de/by-2-0" in page and "ohne Namensnennung" not in page
    assert client.get("/open-data/ocds/releases.json").get_json()["license"] == "https://www.govdata.de/dl-de/by-2-0"
