"""The administrators' full audit log: access, filters, exports."""
from __future__ import annotations

import csv
import io
import json

import pytest

from portal.audit.actions import AuditAction
from portal.audit.models import AuditEvent
from portal.audit.services import record
from portal.extensions import db
from tests.conftest import login


def _events(officer) -> None:  # type: ignore[no-untyped-def]
    record(AuditAction.USER_SIGNED_IN, actor=officer, subject=officer)
    record(AuditAction.ORGANISATION_VERIFIED, actor=officer, subject=("organisation", "3"), public=True)
    db.session.commit()


def test_non_admins_are_refused(client, officer) -> None:  # type: ignore[no-untyped-def]
    # Anonymous visitors are sent to accounts.login by login_required (that
    # view arrives with the accounts branch).
    login(client, officer)
    assert client.get("/verwaltung/protokoll/").status_code == 403
    assert client.post("/verwaltung/protokoll/export", data={"format": "csv"}).status_code == 403
    assert "Audit-Protokoll" not in client.get("/transparenz").get_data(as_text=True)


def test_admin_sees_internal_events_and_filters(client, admin, officer) -> None:  # type: ignore[no-untyped-def]
    _events(officer)
    login(client, admin)
    page = client.get("/verwaltung/protokoll/").get_data(as_text=True)
    assert "user.signed_in" not in page or "Olaf Vergabe" in page
    assert page.count("<tr>") == 3  # header + 2 events
    assert "intern" in page and "öffentlich" in page
    filtered = client.get("/verwaltung/protokoll/?action=organisation.verified").get_data(as_text=True)
    assert filtered.count("<tr>") == 2
    by_actor = client.get(f"/verwaltung/protokoll/?actor={officer.email}").get_data(as_text=True)
    assert by_actor.count("<tr>") == 3
    by_subject = client.get("/verwaltung/protokoll/?subject_type=organisation&subject_id=3").get_data(as_text=True)
    assert by_subject.count("<tr>") == 2
    none = client.get("/verwaltung/protokoll/?start=2001-01-01&end=2001-01-02").get_data(as_text=True)
    assert "Keine Einträge" in none
    assert 'href="/verwaltung/protokoll/"' in client.get("/transparenz").get_data(as_text=True)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_is_complete_and_logged(client, admin, officer, fmt: str) -> None:  # type: ignore[no-untyped-def]
    _events(officer)
    login(client, admin)
    response = client.post("/verwaltung/protokoll/export", data={"format": fmt, "actor": str(officer.id)})
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    if fmt == "json":
        rows = json.loads(response.get_data(as_text=True))["events"]
    else:
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(r["action"] for r in rows) == ["organisation.verified", "user.signed_in"]
    exported = db.session.query(AuditEvent).filter_by(action=AuditAction.AUDIT_LOG_EXPORTED.value).one()
    assert exported.actor_id == admin.id and not exported.public
    assert json.loads(exported.data_json)["filter"] == {"actor": str(officer.id)}
