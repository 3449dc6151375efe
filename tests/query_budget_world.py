"""The world the query-budget test counts pages in, grown from 10 to 1,000 rows.

Everything with a fixed size (procedures in every state, the accounts that
look at them, forms' subjects) is made once through the factories and
services; `World.grow(to)` then adds rows of everything a page lists, as
direct inserts where the services would take minutes.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from flask_babel import force_locale
from sqlalchemy import insert, select

from portal.accounts.gate import REAUTHENTICATED
from portal.accounts.models import Invitation, InvitationKind, Membership, Organisation, OrganisationStatus, Role, User, UserRole
from portal.accounts.passwords import hash_password
from portal.accounts.tokens import fingerprint, make_token, new_random_token
from portal.audit.actions import AuditAction
from portal.audit.public import EVENTS_PAGE_LIMIT
from portal.audit.services import record
from portal.audit.transparency import issue_checkpoint
from portal.audit.tree import DbSubtreeStore
from portal.awards import services as award_services
from portal.awards.models import InformationLetter, LetterKind
from portal.bids.models import Bid, BidState
from portal.bids.services import SUBMISSION_EMBARGO
from portal.calls import services as call_services
from portal.calls.models import Call, CallState, Lot, Question, QuestionState
from portal.consultation import services as consultation_services
from portal.consultation.models import AuthorKind, Comment, Response, ResponseState
from portal.core.time import now
from portal.extensions import db
from tests.conftest import login
from tests.factories import add_member, make_organisation, make_user
from tests.factories_awards import decided_call
from tests.factories_bids import make_draft, make_open_call, make_submitted_bid
from tests.factories_budget import (
    FIRST,
    awarded_in_standstill,
    grow_letters,
    grow_lot,
    grow_objections,
    opened_call,
    review,
)
from tests.factories_calls import make_call
from tests.factories_consultation import make_comment, make_consultation
from tests.factories_review import make_reviewer, set_up_panel
from tests.pdf_samples import valid_pdf

SMALL, PDF_SIZE, LARGE = 10, 30, 1000
REVISED = """Vorbemerkung zum Entwurf.

# 1 Ziele und Zielgruppe
Das KIM soll die Zusammenarbeit fördern und Wege verkürzen.

# 2 Strategischer Overhead
Fünf Planstellen koordinieren das KIM.

# 3 Case Management in den Kommunen
Sechs Case Manager beraten in den Kommunen.
"""


class World:
    """The procedures, consultations and accounts, and the rows that grow."""

    def __init__(self, clock: Any, officer: User, officer2: User, admin: User) -> None:
        self.clock, self.officer, self.officer2, self.admin = clock, officer, officer2, admin
        self.council = make_user(name="Rat Gruppe", roles=[Role.OBSERVER])
        self.organisation = make_organisation(name="Zählverein e. V.")
        self.bidder = make_user(name="Zora Zählerin")
        add_member(self.organisation, self.bidder)
        with force_locale("de"):
            self._consultations_before()
            self._procedures()
            self._consultations_after()
            self._open_call()
        self.password_hash = hash_password("ein langer satz als passwort")
        self.organisations: list[Organisation] = []
        self.members: list[User] = []
        self.calls: list[Call] = []
        self.size = 0

    # ------------------------------------------------------------------
    # What stays the same size
    # ------------------------------------------------------------------

    def _consultations_before(self) -> None:
        """Consultations that will be closed and reported once the clock has moved on."""
        self.reported = make_consultation(self.officer, title="Konzept Beratung")
        self.closed = make_consultation(self.officer, title="Konzept Sprachmittlung")
        self.reported_comments = [make_comment(self.reported, self.council, section=str(1 + i % 3), body=f"Stellungnahme {i}",
                                               council_group=f"Fraktion {i % 4}") for i in range(FIRST)]
        self.closed_comment = make_comment(self.closed, self.council, body="Bitte ergänzen.", council_group="Fraktion 1")

    def _procedures(self) -> None:
        """An awarded call, a call in review (three lots in three states) and a call in the standstill."""
        self.awarded, _bids = decided_call(self.clock, self.officer, self.officer2, reference="IBV-ZAEHL-VERGEBEN")
        self.clock.set(award_services.current_round(self.awarded).standstill_ends_at + timedelta(minutes=1))
        award_services.finalise_due_awards()
        db.session.commit()

        self.review = opened_call(self.clock, self.officer, self.officer2, reference="IBV-ZAEHL-BEWERTUNG", lots=3,
                                  prefix="Bewertet")
        self.newcomer = make_reviewer("Nora Neu")
        review(self.review, 1, self.officer, close=False)
        review(self.review, 2, self.officer, close=True, tie=True)  # the ranking offers a drawing of lots
        # Lot 3: the panel is set up, nobody has declared yet.
        set_up_panel(self.review.lot(3), self.officer, [self.newcomer], self.review.chair)

        self.award = opened_call(self.clock, self.officer, self.officer2, reference="IBV-ZAEHL-STILLHALTEN", lots=1,
                                 prefix="Vergeben")
        review(self.award, 1, self.officer, close=True)
        awarded_in_standstill(self.award, self.officer, self.officer2)
        first = self.award.bids[1][0]
        self.award_bidder = first.organisation.active_members[0]
        award_services.lodge_objection(self.award.call, organisation=first.organisation, by=self.award_bidder,
                                       text="Die Bewertung von K3 übersieht unser Konzept für die Außensprechstunden.")
        self.letter = db.session.scalar(select(InformationLetter).where(
            InformationLetter.call_id == self.award.call.id, InformationLetter.organisation_id == first.organisation_id))
        award_services.mark_letter_read(self.letter, by=self.award_bidder)  # the first read is recorded, later ones not
        db.session.commit()

    def _consultations_after(self) -> None:
        consultation_services.close_consultation(self.reported, by=self.officer)
        consultation_services.close_consultation(self.closed, by=self.officer)
        for comment in self.reported_comments:
            consultation_services.save_response(comment, by=self.officer, state=ResponseState.NOTED,
                                                reason="Wird in der Fassung 2 berücksichtigt.")
        consultation_services.publish_evaluation(self.reported, by=self.officer)
        consultation_services.publish_version(self.reported, by=self.officer, source=REVISED, note="Stellen angepasst.")
        consultation_services.publish_report(self.reported, by=self.officer)
        db.session.commit()

    def _open_call(self) -> None:
        self.call = make_open_call(lots=2, reference="IBV-ZAEHL-001", deadline_in=timedelta(days=20))
        self.bid = make_draft(self.call, self.call.lots[0], self.bidder)
        self.submitted_bid, self.receipt = make_submitted_bid(self.call, self.call.lots[1], self.bidder)
        self.document = call_services.add_document(self.call, title="Leistungsbeschreibung", filename="Leistung.pdf",
                                                   data=valid_pdf(text="Leistung"), by=self.officer)
        self.draft = make_call(lots=2)
        self.consultation = make_consultation(self.officer)
        self.own_comment = make_comment(self.consultation, self.bidder, organisation=self.organisation)
        token, token_hash = new_random_token()
        db.session.add(Invitation(kind=InvitationKind.MEMBER, email="kollegin@example.org", roles="",
                                  organisation=self.organisation, token_hash=token_hash, invited_by_id=self.bidder.id,
                                  created_at=now(), expires_at=now() + timedelta(days=7)))
        db.session.commit()
        self.invitation_token = token

    # ------------------------------------------------------------------
    # Who looks, and where
    # ------------------------------------------------------------------

    def client(self, app: Flask, role: str) -> Any:
        users = {"bidder": self.bidder, "award_bidder": self.award_bidder, "officer": self.officer, "admin": self.admin,
                 "observer": self.council, "reviewer": self.review.reviewers[0], "newcomer": self.newcomer,
                 "chair": self.review.chair}
        client = app.test_client()
        if role != "anonymous":
            login(client, users[role])
            with client.session_transaction() as session:
                session[REAUTHENTICATED] = int(now().timestamp())  # signed in a moment ago: no password asked again
        return client

    def values(self) -> dict[str, Any]:
        review_lots = {f"review_lot{lot.number}": lot.id for lot in self.review.call.lots}
        return {
            "call_ref": self.call.reference, "call_id": self.call.id, "bid": self.bid.id,
            "submitted_bid": self.submitted_bid.id, "receipt": self.receipt.receipt_number, "document": self.document.id,
            "organisation": self.organisation.id, "member": self.bidder.id,
            "draft_id": self.draft.id, "draft_lot": self.draft.lots[0].id, "draft_criterion": self.draft.criteria[0].id,
            "consultation": self.consultation.id, "own_comment": self.own_comment.id, "reported": self.reported.id,
            "closed": self.closed.id, "closed_comment": self.closed_comment.id,
            "review_ref": self.review.reference, "review_id": self.review.call.id, "review_bid": self.review.bids[1][0].id,
            **review_lots,
            "award_ref": self.award.reference, "letter": self.letter.id, "awarded_ref": self.awarded.reference,
            "log_size": (size := DbSubtreeStore(db.session).size()),
            "last_events": max(1, size - EVENTS_PAGE_LIMIT + 1),
            "reset_token": make_token("reset", u=self.bidder.id, h=fingerprint(self.bidder.password_hash)),
            "verify_token": make_token("verify", u=self.bidder.id, e=fingerprint(self.bidder.email)),
            "email_token": make_token("email", u=self.bidder.id, old=fingerprint(self.bidder.email), new="neu@example.org"),
            "invitation_token": self.invitation_token,
        }

    # ------------------------------------------------------------------
    # What grows
    # ------------------------------------------------------------------

    def grow(self, to: int) -> None:
        start = self.size
        with force_locale("de"):
            self._grow_accounts_and_calls(start, to)
            # The procedures' first bids came through the services; from there on they grow here.
            grown = slice(max(start, FIRST), to)
            organisations = self.organisations[grown]
            for number in (1, 2, 3):
                grow_lot(self.review, number, organisations, start=grown.start, review=number != 3)
            grow_lot(self.award, 1, organisations, start=grown.start)
            grow_letters([(self.award.call, organisation) for organisation in organisations])
            grow_objections(self.award.call, list(zip(organisations, self.members[grown]))[::2], answered_by=self.officer)
            # The award bidder's organisation got a letter about every grown call, the bidder drafts for every one.
            calls = self.calls[grown]
            award_bidders = self.award.bids[1][0].organisation
            grow_letters([(call, award_bidders) for call in calls], kind=LetterKind.CANCELLATION)
            if calls:
                db.session.execute(insert(Bid), [{"call_id": call.id, "lot_id": call.lots[0].id, "state": BidState.DRAFT,
                                                  "organisation_id": self.organisation.id, "version_count": 0} for call in calls])
            self._grow_reported_consultation(grown)
        db.session.commit()
        issue_checkpoint()
        if DbSubtreeStore(db.session).size() % 2:
            # Recording an event reads the tree once more at every odd position (`append_leaf`); pages that record
            # reads start at the same parity at every size.
            record(AuditAction.DEMO_LOADED, subject=self.call, public=True, data={"n": to})
        db.session.commit()
        self.size = to

    def _grow_accounts_and_calls(self, start: int, to: int) -> None:
        at = now()
        for n in range(start, to):
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
            # Everybody is a member of their own organisation and of the bidder's.
            db.session.add_all([organisation, user, Membership(user=user, organisation=organisation),
                                Membership(user=user, organisation=self.organisation)])
            db.session.flush()
            self.calls.append(call)
            self.organisations.append(organisation)
            self.members.append(user)
            consultation_services.post_comment(self.consultation, by=self.council, body=f"Stellungnahme {n}",
                                               section_number="1", council_group=f"Fraktion {n % 4}")
            if n % 2:
                # A bid for call n came in: public, but held back until its deadline (an embargo to resolve per event).
                record(AuditAction.BID_VERSION_SUBMITTED, subject=call, public=True,
                       data={"call": call.reference, "lot": 1, "version": 1, "receipt_digest": "0" * 64,
                             "submitted_at": at, "embargo": SUBMISSION_EMBARGO})
            else:
                record(AuditAction.DEMO_LOADED, subject=self.call, public=True, data={"n": n})
            if n % 100 == 99:
                db.session.commit()

    def _grow_reported_consultation(self, grown: slice) -> None:
        """Comments with published responses on the reported consultation."""
        at = now()
        sections = self.reported.first_version.sections
        for n in range(grown.start, grown.stop):
            comment = Comment(consultation_id=self.reported.id, section_id=sections[n % len(sections)].id,
                              author_id=self.council.id, author_kind=AuthorKind.COUNCIL_GROUP,
                              council_group=f"Fraktion {n % 4}", body=f"Stellungnahme {n}", created_at=at)
            comment.response = Response(state=ResponseState.NOTED if n % 2 else ResponseState.ADOPTED,
                                        reason="Wird berücksichtigt.", drafted_by_id=self.officer.id, updated_at=at,
                                        published_at=at, changed_section="2" if n % 2 == 0 else None)
            db.session.add(comment)
        db.session.flush()
