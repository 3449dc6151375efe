"""Query budget (issue 10, item 3): every public and staff page issues a fixed
number of SQL statements, the same with 10 and with 1,000 rows (no N+1).

One world is grown from 10 to 1,000 rows of everything a page lists (calls,
answers, organisations, accounts, consultation comments, audit events); each
page is counted at both sizes with a SQLAlchemy event listener.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale

from portal.accounts.models import Membership, Organisation, OrganisationStatus, Role, User, UserRole
from portal.accounts.passwords import hash_password
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.audit.transparency import issue_checkpoint
from portal.calls.models import Call, CallState, Lot, Question, QuestionState
from portal.consultation import services as consultation_services
from portal.core.time import now
from portal.extensions import db
from tests.conftest import login
from tests.factories import add_member, make_organisation, make_user
from tests.factories_bids import make_draft, make_open_call
from tests.factories_consultation import make_consultation
from tests.query_budget import count_queries

#: (role, page) → the most statements the page may issue, whatever the number of rows.
BUDGET: dict[tuple[str, str], int] = {}

PAGES: list[tuple[str, str]] = [
    ("anonymous", "/"),
    ("anonymous", "/aufrufe/"),
    ("anonymous", "/aufrufe/?status=geschlossen"),
    ("anonymous", "/aufrufe/feed.atom"),
    ("anonymous", "/aufrufe/{call_ref}"),
    ("anonymous", "/aufrufe/{call_ref}/feed.atom"),
    ("anonymous", "/aufrufe/{call_ref}/termine.ics"),
    ("anonymous", "/beteiligung/"),
    ("anonymous", "/beteiligung/{consultation}"),
    ("anonymous", "/transparenz"),
    ("anonymous", "/transparenz/verlauf/call/{call_id}"),
    ("anonymous", "/transparency/events"),
    ("anonymous", "/transparency/checkpoints"),
    ("anonymous", "/transparency/checkpoint"),
    ("bidder", "/interessenbekundungen"),
    ("bidder", "/interessenbekundungen/{bid}"),
    ("bidder", "/interessenbekundungen/{bid}/einreichen"),
    ("bidder", "/aufrufe/{call_ref}"),
    ("bidder", "/beteiligung/{consultation}"),
    ("bidder", "/konto"),
    ("bidder", "/traeger/{organisation}"),
    ("officer", "/verwaltung/aufrufe/"),
    ("officer", "/verwaltung/aufrufe/{call_id}"),
    ("officer", "/verwaltung/aufrufe/{call_id}/fragen"),
    ("officer", "/verwaltung/oeffnungen"),
    ("officer", "/beteiligung/{consultation}/verwalten"),
    ("admin", "/verwaltung/konten"),
    ("officer", "/verwaltung/traeger"),
    ("admin", "/verwaltung/protokoll/"),
    ("admin", "/verwaltung/e-mails"),
    # Open data, award notices and the council view list every public call.
    ("anonymous", "/open-data/"),
    ("anonymous", "/open-data/ocds/releases.json"),
    ("anonymous", "/open-data/ocds/records.json"),
    ("anonymous", "/open-data/ocds/{call_ref}/record.json"),
    ("anonymous", "/open-data/calls.csv"),
    ("anonymous", "/open-data/lots.csv"),
    ("anonymous", "/open-data/awards.csv"),
    ("anonymous", "/vergaben/"),
    ("anonymous", "/vergaben/feed.atom"),
    ("observer", "/kreistag/"),
]

SMALL, LARGE = 10, 1000


class World:
    """The growing data set and the accounts that look at it."""

    def __init__(self, officer: User, admin: User) -> None:
        self.officer, self.admin = officer, admin
        self.organisation = make_organisation(name="Zählverein e. V.")
        self.bidder = make_user(name="Zora Zählerin")
        add_member(self.organisation, self.bidder)
        self.call = make_open_call(lots=2, reference="IBV-ZAEHL-001", deadline_in=timedelta(days=20))
        self.bid = make_draft(self.call, self.call.lots[0], self.bidder)
        self.consultation = make_consultation(officer)
        self.council = make_user(name="Rat Gruppe", roles=[Role.OBSERVER])
        self.password_hash = hash_password("ein langer satz als passwort")
        self.size = 0

    def values(self) -> dict[str, Any]:
        return {"call_ref": self.call.reference, "call_id": self.call.id, "consultation": self.consultation.id,
                "bid": self.bid.id, "organisation": self.organisation.id}

    def grow(self, to: int) -> None:
        at = now()
        with force_locale("de"):
            for n in range(self.size, to):
                call = Call(reference=f"IBV-MENGE-{n:05d}", title=f"Aufruf {n}", summary="Kurz", description="Lang",
                            state=CallState.PUBLISHED if n % 3 else CallState.CANCELLED, published_at=at - timedelta(days=2),
                            question_deadline=at + timedelta(days=3), submission_deadline=at + timedelta(days=6),
                            scale_min=0, scale_max=5, created_at=at - timedelta(days=3),
                            **({} if n % 3 else {"cancelled_at": at, "cancel_reason": "Bedarf entfallen."}))
                call.lots.extend([Lot(number=k, title=f"Region {k}", region=f"Region {k % 5}", positions=Decimal("1.00"))
                                  for k in (1, 2)])
                db.session.add(call)
                db.session.add(Question(call_id=self.call.id, organisation_id=self.organisation.id, asked_by_id=self.bidder.id,
                                        asked_at=at, original_text=f"Frage {n}", public_text=f"Frage {n}",
                                        state=QuestionState.PUBLISHED, answer=f"Antwort {n}", answered_at=at, number=n + 1))
                organisation = Organisation(name=f"Verein {n} e. V.", legal_form="eingetragener Verein", street="Weg 1",
                                            postcode="57072", city="Siegen", contact_email=f"verein{n}@example.org",
                                            migration_work="Beratung.",
                                            status=OrganisationStatus.PENDING if n % 2 else OrganisationStatus.VERIFIED)
                user = User(email=f"menge{n}@example.org", name=f"Person {n}", password_hash=self.password_hash,
                            active=True, email_verified_at=at)
                user.roles = [UserRole(role=Role.REVIEWER)] if n % 10 == 0 else []
                db.session.add_all([organisation, user, Membership(user=user, organisation=organisation)])
                db.session.flush()
                consultation_services.post_comment(self.consultation, by=self.council, body=f"Stellungnahme {n}",
                                                   section_number="1", council_group=f"Fraktion {n % 4}")
                record(AuditAction.DEMO_LOADED, subject=self.call, public=True, data={"n": n})
                if n % 100 == 99:
                    db.session.commit()
        db.session.commit()
        issue_checkpoint()
        db.session.commit()
        self.size = to


def _count(client: Any, url: str) -> tuple[int, int, list[str]]:
    with count_queries(db.engine) as counted:
        status = client.get(url).status_code
    return status, counted.statements, counted.log


@pytest.mark.slow
def test_every_page_issues_a_fixed_number_of_queries(app: Flask, officer: User, admin: User) -> None:
    world = World(officer, admin)
    users = {"bidder": world.bidder, "officer": officer, "admin": admin, "observer": world.council}
    clients: dict[str, Any] = {}
    for role in {role for role, _ in PAGES}:
        clients[role] = app.test_client()
        if role != "anonymous":
            login(clients[role], users[role])
    counts: dict[int, dict[tuple[str, str], tuple[int, int, list[str]]]] = {}
    for size in (SMALL, LARGE):
        world.grow(size)
        counts[size] = {(role, page): _count(clients[role], page.format(**world.values())) for role, page in PAGES}
    problems = []
    for key in PAGES:
        (small_status, small, small_log), (large_status, large, large_log) = counts[SMALL][key], counts[LARGE][key]
        if small_status != 200 or large_status != 200:
            problems.append(f"{key}: status {small_status}/{large_status}")
        elif large != small:
            extra = [s[:160] for s in large_log if s not in small_log][:3] or [s[:160] for s in large_log[-3:]]
            problems.append(f"{key}: {small} statements with {SMALL} rows, {large} with {LARGE}: {extra}")
        elif large > BUDGET.get(key, DEFAULT_BUDGET):
            problems.append(f"{key}: {large} statements, budget {BUDGET.get(key, DEFAULT_BUDGET)}")
    assert not problems, "\n".join(problems)


#: Pages without an entry in BUDGET may issue at most this many statements.
DEFAULT_BUDGET = 20
