"""`flask demo scale`: a large, realistic data set for benchmarks and query plans.

Everything goes through the services the UI uses, so every row has its audit
event and the log is a real one (the benchmark's 1,000,000 events are real
events). Phases, each resumable: an interrupted run continues where it
stopped (each unit is committed on its own and recognised by its name):

1. organisations (each with one member, verified by the officer),
2. calls with lots and criteria, published, and their bids (submitted, a
   third of them resubmitted as a second version); 10 % of the calls stay
   open, the others' deadlines have passed,
3. consultations with comments by the organisations,
4. `--awarded` closed calls through opening, review and award to their
   public notice (`portal.demo.scale_awards`),
5. sign-ins (real `complete_sign_in` events) until the log holds `--events`.

Time runs on a frozen clock starting `--days` ago, so deadlines lie in the past
when the run ends; the real clock is back afterwards.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import click
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.extensions import db

PREFIX = "SKALA"
PASSWORD = "skalierung-passwort-2026"
OFFICER_EMAIL = "skala-vergabe@skala.ibv-portal.de"


@dataclass
class Sizes:
    calls: int = 200
    lots: int = 1000
    bids: int = 10000
    organisations: int = 2000
    consultations: int = 50
    comments: int = 20000
    awarded: int = 10
    events: int = 1_000_000
    days: int = 120


def _count(model: Any, *where: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _progress(label: str, total: int, done: int) -> Any:
    bar = click.progressbar(length=total, label=label.ljust(22), show_pos=True, show_eta=True)
    bar.update(done)
    return bar


class Generator:
    def __init__(self, sizes: Sizes) -> None:
        from portal.core import time as portal_time

        self.sizes = sizes
        self.time = portal_time
        self.clock = portal_time.FrozenClock(portal_time.now() - timedelta(days=sizes.days))

    # ------------------------------------------------------------------ helpers
    def officer(self) -> Any:
        from portal.accounts.models import Role, User, UserRole
        from portal.accounts.passwords import hash_password
        from portal.audit.actions import AuditAction
        from portal.audit.services import record

        user = db.session.scalar(select(User).where(User.email == OFFICER_EMAIL))
        if user is None:
            user = User(email=OFFICER_EMAIL, name="Skala Vergabe", password_hash=hash_password(PASSWORD),
                        email_verified_at=self.clock())
            user.roles = [UserRole(role=Role.OFFICER), UserRole(role=Role.ADMIN)]
            db.session.add(user)
            db.session.flush()
            record(AuditAction.USER_CREATED, actor=None, subject=user, data={"roles": ["admin", "officer"], "scale": True})
            db.session.commit()
        return user

    def organisations(self) -> list[Any]:
        from portal.accounts.models import Organisation

        return list(db.session.scalars(
            select(Organisation).where(Organisation.name.like(f"{PREFIX}-Träger %")).order_by(Organisation.id)
        ))

    # ------------------------------------------------------------------ phases
    def make_organisations(self) -> None:
        from portal.accounts import services

        officer = self.officer()
        done = len(self.organisations())
        with _progress("Träger", self.sizes.organisations, done) as bar:
            for n in range(done, self.sizes.organisations):
                email = f"traeger{n:05d}@skala.ibv-portal.de"
                org = services.register_organisation(
                    person_name=f"Person {n:05d}", email=email, password=PASSWORD,
                    name=f"{PREFIX}-Träger {n:05d} e. V.", legal_form="eingetragener Verein", street="Musterstraße 1",
                    postcode="57072", city="Siegen", contact_email=email, migration_work="Migrationsberatung (Skalierungsdaten).",
                )
                assert org is not None
                org.active_members[0].email_verified_at = self.clock()
                services.verify_organisation(org, by=officer)
                db.session.commit()
                bar.update(1)

    def make_calls(self) -> None:
        from portal.bids import services as bids
        from portal.calls.models import Call, CriterionKind
        from portal.calls.services import add_criterion, add_lot, create_call, publish_call

        officer = self.officer()
        organisations = self.organisations()
        members = [org.active_members[0] for org in organisations]
        sizes = self.sizes
        lots_per_call = max(1, round(sizes.lots / max(sizes.calls, 1)))
        bids_per_call = sizes.bids // max(sizes.calls, 1)
        done = _count(Call, Call.reference.like(f"{PREFIX}-%"))
        # A call interrupted half-way is finished by the next run (its bids are resumable too).
        if done:
            done -= 1
        start = self.clock()
        with _progress("Aufrufe und Bewerbungen", sizes.calls, done) as bar:
            for n in range(done, sizes.calls):
                self.clock.set(start + timedelta(hours=n * max(1, (sizes.days * 12) // max(sizes.calls, 1))))
                reference = f"{PREFIX}-{n:05d}"
                call = db.session.scalar(select(Call).where(Call.reference == reference))
                if call is None:
                    still_open = n % 10 == 9
                    deadline = self.time.now() + timedelta(days=sizes.days + 30 if still_open else 20)
                    call = create_call(
                        by=officer, reference=reference, title=f"Migrationsberatung Region {n:05d}",
                        summary="Skalierungsdaten: ein Aufruf wie viele andere.", description="Beschreibung " * 40,
                        contact="Kreis (Skalierung)", question_deadline=deadline - timedelta(days=10),
                        submission_deadline=deadline, scale_min=0, scale_max=5,
                        scale_labels={str(p): f"{p} Punkte" for p in range(6)},
                        formula_text="Gewichtete Summe.", tie_break_text="K1, dann Los.", tie_break=["K1", "lot"],
                    )
                    for k in range(1, lots_per_call + 1):
                        add_lot(call, by=officer, number=k, title=f"Los {k}", region=f"Region {k % 12}",
                                municipalities="Siegen", positions=Decimal("1.50"), budget=None, description="")
                    add_criterion(call, by=officer, kind=CriterionKind.ELIGIBILITY, code="E1", title="Gemeinnützigkeit",
                                  lot_id=None, description="Gemeinnützig anerkannt.", evidence="", weight=None)
                    for code, weight in (("K1", "60"), ("K2", "40")):
                        add_criterion(call, by=officer, kind=CriterionKind.SCORED, code=code, title=f"Kriterium {code}",
                                      lot_id=None, description="Beschreibung.", evidence="", weight=Decimal(weight))
                    publish_call(call, by=officer)
                    db.session.commit()
                self._bids(bids, call, members, n, bids_per_call)
                bar.update(1)

    def _bids(self, bids: Any, call: Any, members: list[Any], n: int, count: int) -> None:
        from portal.bids.models import Bid

        existing = _count(Bid, Bid.call_id == call.id)
        if not members:
            return
        lots = list(call.lots)
        for i in range(existing, count):
            user = members[(n * count + i) % len(members)]
            lot = lots[i % len(lots)]
            organisation = user.active_memberships[0].organisation
            bid = bids.start_bid(call=call, lot=lot, organisation=organisation, by=user)
            texts = {c.id: f"Konzept {i} von {organisation.name}: Beratung vor Ort, mehrsprachig." for c in bids.scored_criteria(bid)}
            bids.save_draft(bid, by=user, answers=texts, declarations={c.id: True for c in bids.eligibility_criteria(bid)},
                            contact={"name": user.name, "email": user.email, "phone": ""})
            self.clock.advance(minutes=1)
            bids.submit_bid(bid, by=user)
            if i % 3 == 0:
                self.clock.advance(minutes=1)
                bids.submit_bid(bid, by=user)
            db.session.commit()

    def make_consultations(self) -> None:
        from portal.consultation import services
        from portal.consultation.models import Comment, Consultation

        officer = self.officer()
        members = [org.active_members[0] for org in self.organisations()]
        sizes = self.sizes
        per = sizes.comments // max(sizes.consultations, 1)
        done = _count(Consultation, Consultation.title.like(f"{PREFIX}-%"))
        if done:
            done -= 1
        source = "\n\n".join(f"## {k}. Abschnitt {k}\n\nText des Abschnitts {k}. " * 1 for k in range(1, 9))
        with _progress("Beteiligungen", sizes.consultations, done) as bar:
            for n in range(done, sizes.consultations):
                title = f"{PREFIX}-Konzeptentwurf {n:05d}"
                consultation = db.session.scalar(select(Consultation).where(Consultation.title == title))
                if consultation is None:
                    at = self.time.now()
                    consultation = services.create_consultation(
                        by=officer, title=title, summary="Skalierungsdaten.", source=source,
                        opens_at=at, closes_at=at + timedelta(days=sizes.days + 60),
                    )
                    services.open_consultation(consultation, by=officer)
                    db.session.commit()
                existing = _count(Comment, Comment.consultation_id == consultation.id)
                for i in range(existing, per if members else 0):
                    user = members[(n * per + i) % len(members)]
                    self.clock.advance(seconds=30)
                    services.post_comment(consultation, by=user, body=f"Stellungnahme {i}: Bitte ergänzen Sie Abschnitt {i % 8 + 1}.",
                                          section_number=str(i % 8 + 1), organisation=user.active_memberships[0].organisation)
                    if i % 50 == 49:
                        db.session.commit()
                db.session.commit()
                bar.update(1)

    def make_activity(self) -> None:
        from portal.accounts.services import complete_sign_in
        from portal.audit.models import AuditEvent

        members = [org.active_members[0] for org in self.organisations()] or [self.officer()]
        total = self.sizes.events
        done = _count(AuditEvent)
        if done >= total:
            return
        with _progress("Weitere Ereignisse", total, done) as bar:
            for i in itertools.count():
                if done >= total:
                    break
                complete_sign_in(members[i % len(members)], second_factor="none")
                done += 1
                if i % 500 == 499:
                    self.clock.advance(seconds=1)
                    db.session.commit()
                    bar.update(500)
            db.session.commit()

    def run(self) -> None:
        from portal.demo.scale_awards import make_awards

        previous = self.time._clock  # noqa: SLF001 - a test may have frozen time already
        self.time.install_clock(self.clock)
        try:
            with current_app.test_request_context("/"), force_locale("de"):  # mails and lazy texts need a request
                self.make_organisations()
                self.make_calls()
                self.make_consultations()
                make_awards(self)
                self.make_activity()
        finally:
            self.time.install_clock(previous)


def generate(sizes: Sizes) -> None:
    if not current_app.config.get("DEMO_ALLOWED"):
        raise click.ClickException("Skalierungsdaten sind in dieser Konfiguration nicht erlaubt.")
    Generator(sizes).run()


def summary() -> Iterator[str]:
    from portal.accounts.models import Organisation
    from portal.audit.models import AuditEvent
    from portal.bids.models import Bid, BidVersion
    from portal.calls.models import Call, Lot
    from portal.consultation.models import Comment, Consultation

    from portal.awards.models import AwardNotice

    for label, model in (("Aufrufe", Call), ("Vergabebekanntmachungen", AwardNotice), ("Lose", Lot), ("Träger", Organisation), ("Bewerbungen", Bid),
                         ("Fassungen", BidVersion), ("Beteiligungen", Consultation), ("Stellungnahmen", Comment),
                         ("Audit-Ereignisse", AuditEvent)):
        yield f"{label}: {_count(model):,}".replace(",", ".")
