"""`flask demo scale`: a large, realistic data set for benchmarks and query plans.

Everything goes through the services the UI uses, so every row has its audit
event and the log is a real one (the benchmark's 1,000,000 events are real
events). Phases, each resumable:

1. organisations (each with one member, verified by the officer),
2. calls with lots and criteria, published, and their bids (submitted, a
   third of them resubmitted as a second version); 10 % of the calls stay
   open, the others' deadlines have passed,
3. consultations with comments by the organisations,
4. `--awarded` closed calls through opening, review and award to their
   public notice (`portal.demo.scale_awards`),
5. sign-ins (real `complete_sign_in` events) until the log holds `--events`.

Work is committed in batches of whole units (`--batch` organisations or
comments, one call with all its bids, 20 × `--batch` sign-ins per
transaction): an interrupted run loses only its current batch, which rolls
back as a whole, and the next run recognises what exists by name (by count
for comments and events) and adds the rest.

Time runs on a frozen clock starting `--days` ago, every unit at a fixed
moment (so a resumed run puts its units where an uninterrupted one would);
deadlines lie in the past when the run ends; the real clock is back afterwards.

Measured with the defaults on PostgreSQL (2026-12-07, shared 2-core machine,
docs/operations.md "Scale data"): 33 min 39 s in all; organisations 0:33
(182 events/s), calls and bids 5:52 (72/s, 28 bids/s), consultations 1:40
(200/s) at a load of 5–7 from other test runs; sign-ins 25:29 (621/s) at a
load of 1–2.5. The sign-ins are CPU-bound in this process (the account's
flush and `record()`, about 1 ms per event).
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import click
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

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
    #: Organisations or comments per transaction; sign-ins: twenty times as many.
    batch: int = 50


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
        self.start = portal_time.now() - timedelta(days=sizes.days)
        self.clock = portal_time.FrozenClock(self.start)

    # ----------------------------------------------------------------- timeline
    # Every unit has its own moment, so a resumed run puts the units it adds
    # where an uninterrupted run would have put them.
    def call_time(self, n: int) -> datetime:
        """Calls are spread over the first half of the period."""
        step = timedelta(hours=max(1, (self.sizes.days * 12) // max(self.sizes.calls, 1)))
        return self.start + n * step

    def comments_per_consultation(self) -> int:
        return self.sizes.comments // max(self.sizes.consultations, 1)

    def comment_time(self, n: int, i: int) -> datetime:
        """Consultations follow the calls, a comment every 30 seconds (i = -1: opening)."""
        return self.call_time(self.sizes.calls) + timedelta(seconds=30 * (n * self.comments_per_consultation() + i + 1))

    def sign_in_time(self, k: int) -> datetime:
        """The k-th filler event: spread evenly up to shortly before today."""
        first = self.comment_time(self.sizes.consultations, 0)
        last = self.start + timedelta(days=self.sizes.days * 0.95)
        return first + k * max(timedelta(milliseconds=1), (last - first) / max(self.sizes.events, 1))

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

    def member_ids(self) -> list[int]:
        """The first member of every scale organisation, in the organisations' order."""
        from portal.accounts.models import Membership, Organisation

        return list(db.session.scalars(
            select(Membership.user_id).join(Organisation)
            .where(Organisation.name.like(f"{PREFIX}-Träger %")).order_by(Organisation.id)
        ))

    @staticmethod
    def members(ids: Iterable[int]) -> dict[int, Any]:
        """Load the users `ids` with their organisations in three queries.

        A commit expires every object; reloading each user where it is used
        would cost three queries per user instead.
        """
        from portal.accounts.models import Membership, User

        return {user.id: user for user in db.session.scalars(
            select(User).where(User.id.in_(set(ids)))
            .options(selectinload(User.memberships).joinedload(Membership.organisation))
        )}

    # ------------------------------------------------------------------ phases
    def make_organisations(self) -> None:
        from portal.accounts import services
        from portal.accounts.models import Organisation

        officer = self.officer()
        existing = set(db.session.scalars(select(Organisation.name).where(Organisation.name.like(f"{PREFIX}-Träger %"))))
        missing = [n for n in range(self.sizes.organisations) if _organisation_name(n) not in existing]
        with _progress("Träger", self.sizes.organisations, self.sizes.organisations - len(missing)) as bar:
            for batch in _chunks(missing, self.sizes.batch):
                for n in batch:
                    email = f"traeger{n:05d}@skala.ibv-portal.de"
                    org = services.register_organisation(
                        person_name=f"Person {n:05d}", email=email, password=PASSWORD,
                        name=_organisation_name(n), legal_form="eingetragener Verein", street="Musterstraße 1",
                        postcode="57072", city="Siegen", contact_email=email,
                        migration_work="Migrationsberatung (Skalierungsdaten).",
                    )
                    assert org is not None
                    org.active_members[0].email_verified_at = self.clock()
                    services.verify_organisation(org, by=officer)
                db.session.commit()
                bar.update(len(batch))

    def make_calls(self) -> None:
        from portal.bids import services as bids
        from portal.calls.models import Call, CriterionKind
        from portal.calls.services import add_criterion, add_lot, create_call, publish_call

        officer = self.officer()
        member_ids = self.member_ids()
        sizes = self.sizes
        lots_per_call = max(1, round(sizes.lots / max(sizes.calls, 1)))
        bids_per_call = sizes.bids // max(sizes.calls, 1)
        existing = set(db.session.scalars(select(Call.reference).where(Call.reference.like(f"{PREFIX}-%"))))
        missing = [n for n in range(sizes.calls) if _call_reference(n) not in existing]
        with _progress("Aufrufe und Bewerbungen", sizes.calls, sizes.calls - len(missing)) as bar:
            for n in missing:
                # One call with its lots, criteria and bids is one transaction: an
                # interrupted call leaves nothing behind and is made again.
                self.clock.set(self.call_time(n))
                still_open = n % 10 == 9
                deadline = self.time.now() + timedelta(days=sizes.days + 30 if still_open else 20)
                call = create_call(
                    by=officer, reference=_call_reference(n), title=f"Migrationsberatung Region {n:05d}",
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
                if member_ids:
                    self._bids(bids, call, member_ids, n, bids_per_call)
                db.session.commit()
                bar.update(1)

    def _bids(self, bids: Any, call: Any, member_ids: list[int], n: int, count: int) -> None:
        chosen = [member_ids[(n * count + i) % len(member_ids)] for i in range(count)]
        users = self.members(chosen)
        lots = list(call.lots)
        for i, user_id in enumerate(chosen):
            user = users[user_id]
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

    def make_consultations(self) -> None:
        from portal.consultation import services
        from portal.consultation.models import Comment, Consultation

        officer = self.officer()
        member_ids = self.member_ids()
        sizes = self.sizes
        per = self.comments_per_consultation() if member_ids else 0
        source = "\n\n".join(f"## {k}. Abschnitt {k}\n\nText des Abschnitts {k}. " for k in range(1, 9))
        counts = dict(db.session.execute(
            select(Consultation.title, func.count(Comment.id)).outerjoin(Comment, Comment.consultation_id == Consultation.id)
            .where(Consultation.title.like(f"{PREFIX}-%")).group_by(Consultation.title)
        ).all())
        done = sum(1 for n in range(sizes.consultations) if counts.get(_consultation_title(n), -1) >= per)
        with _progress("Beteiligungen", sizes.consultations, done) as bar:
            for n in range(sizes.consultations):
                title = _consultation_title(n)
                existing = counts.get(title, -1)
                if existing >= per:
                    continue
                consultation = db.session.scalar(select(Consultation).where(Consultation.title == title))
                if consultation is None:
                    self.clock.set(self.comment_time(n, -1))
                    at = self.time.now()
                    consultation = services.create_consultation(
                        by=officer, title=title, summary="Skalierungsdaten.", source=source,
                        opens_at=at, closes_at=at + timedelta(days=sizes.days + 60),
                    )
                    services.open_consultation(consultation, by=officer)
                    existing = 0
                # Comments are committed `batch` at a time (the first batch with the
                # consultation itself); a rerun counts them and adds the rest.
                for batch in _chunks(range(existing, per), sizes.batch):
                    users = self.members(member_ids[(n * per + i) % len(member_ids)] for i in batch)
                    for i in batch:
                        user = users[member_ids[(n * per + i) % len(member_ids)]]
                        self.clock.set(self.comment_time(n, i))
                        services.post_comment(consultation, by=user, body=f"Stellungnahme {i}: Bitte ergänzen Sie Abschnitt {i % 8 + 1}.",
                                              section_number=str(i % 8 + 1), organisation=user.active_memberships[0].organisation)
                    db.session.commit()
                db.session.commit()
                bar.update(1)

    def make_activity(self) -> None:
        from portal.accounts.services import complete_sign_in
        from portal.audit.models import AuditEvent

        member_ids = self.member_ids() or [self.officer().id]
        total = self.sizes.events
        done = _count(AuditEvent)
        if done >= total:
            return
        per_transaction = self.sizes.batch * 20
        with _progress("Weitere Ereignisse", total, done) as bar:
            while done < total:
                chosen = [member_ids[(done + k) % len(member_ids)] for k in range(min(per_transaction, total - done))]
                users = self.members(chosen)
                for k, user_id in enumerate(chosen):
                    self.clock.set(self.sign_in_time(done + k))
                    complete_sign_in(users[user_id], second_factor="none")
                db.session.commit()
                done += len(chosen)
                bar.update(len(chosen))

    def run(self) -> list[str]:
        """Make what is missing; return one line per phase: duration and events per second."""
        from portal.audit.models import AuditEvent
        from portal.demo.scale_awards import make_awards

        previous = self.time._clock  # noqa: SLF001 - a test may have frozen time already
        self.time.install_clock(self.clock)
        report = []
        try:
            with current_app.test_request_context("/"), force_locale("de"):  # mails and lazy texts need a request
                for label, phase in (("Träger", self.make_organisations), ("Aufrufe und Bewerbungen", self.make_calls),
                                     ("Beteiligungen", self.make_consultations), ("Vergaben", lambda: make_awards(self)),
                                     ("Weitere Ereignisse", self.make_activity)):
                    events, started = _count(AuditEvent), time.perf_counter()
                    phase()
                    seconds, added = time.perf_counter() - started, _count(AuditEvent) - events
                    report.append(f"{label}: {added:,} Ereignisse in {timedelta(seconds=round(seconds))} "
                                  f"({added / max(seconds, 0.001):,.0f}/s)".replace(",", "."))
        finally:
            self.time.install_clock(previous)
        return report


def _organisation_name(n: int) -> str:
    return f"{PREFIX}-Träger {n:05d} e. V."


def _call_reference(n: int) -> str:
    return f"{PREFIX}-{n:05d}"


def _consultation_title(n: int) -> str:
    return f"{PREFIX}-Konzeptentwurf {n:05d}"


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), max(size, 1)):
        yield items[start:start + size]


def generate(sizes: Sizes) -> list[str]:
    """Generate what is missing; return the phases' durations (see `Generator.run`)."""
    if not current_app.config.get("DEMO_ALLOWED"):
        raise click.ClickException("Skalierungsdaten sind in dieser Konfiguration nicht erlaubt.")
    return Generator(sizes).run()


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
