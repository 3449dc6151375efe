"""Scale data, awards phase: closed calls taken through opening, review and award to their public notice.

So that the benchmark's award notice, the OCDS award stage and the review and
award pages have realistic data, `--awarded N` calls (default 10) go the whole
way through the same services as in the portal (as `portal.demo.awards` does
for one demo call): two officers open the bids, a chair and two reviewers
declare, decide eligibility, score every bid with a justification, the chair
consolidates and closes, one officer proposes and another approves every lot,
the letters go out, and when the standstill has ended the clock publishes the
notice. Points differ per bid (no drawing of lots is needed).

Each call is one transaction: a call interrupted half-way is rolled back and
taken again by the next run; a call with a notice is done.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from portal.extensions import db

STAFF = {
    "officer2": ("skala-vergabe2@skala.ibv-portal.de", "Skala Zweitprüfung", ("officer",)),
    "reviewer1": ("skala-gutachten1@skala.ibv-portal.de", "Skala Gutachterin", ("reviewer",)),
    "reviewer2": ("skala-gutachten2@skala.ibv-portal.de", "Skala Gutachter", ("reviewer",)),
}

#: Two reviewers' own words for a score (each at least the minimum length of a justification).
REASONS = {
    "reviewer1": "{code}: Das Konzept beschreibt Zugang, Methodik und Erreichbarkeit nachvollziehbar ({points} Punkte).",
    "reviewer2": "{code}: Nach Prüfung der Unterlagen vergebe ich {points} Punkte; die Nachweise sind schlüssig.",
}


def staff(generator: Any) -> dict[str, Any]:
    """The second officer and the two reviewers of the scale data (created once, audited)."""
    from portal.accounts.models import Role, User, UserRole
    from portal.accounts.passwords import hash_password
    from portal.audit.actions import AuditAction
    from portal.audit.services import record
    from portal.demo.scale import PASSWORD

    found = {}
    for key, (email, name, roles) in STAFF.items():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=name, password_hash=hash_password(PASSWORD), email_verified_at=generator.clock())
            user.roles = [UserRole(role=Role(role)) for role in roles]
            db.session.add(user)
            db.session.flush()
            record(AuditAction.USER_CREATED, actor=None, subject=user, data={"roles": list(roles), "scale": True})
        found[key] = user
    db.session.commit()
    return found


def points_for(index: int) -> dict[str, int]:
    """Distinct (K1, K2) pairs for the first 36 bids of a lot, so the tie-break never needs a drawing."""
    return {"K1": 5 - index % 6, "K2": (index // 6) % 6}


def make_awards(generator: Any) -> None:
    """The phase: `generator.sizes.awarded` closed calls to their notice, one transaction per call (resumable)."""
    from portal.awards.models import AwardNotice
    from portal.calls.models import Call, CallState
    from portal.demo.scale import PREFIX, _progress

    wanted = generator.sizes.awarded
    if wanted <= 0:
        return
    at = generator.clock()
    # Calls whose procedure (about 17 days after the deadline) ends well before the real today.
    latest = datetime.now(UTC) - timedelta(days=30)
    calls = db.session.scalars(
        select(Call).where(Call.reference.like(f"{PREFIX}-%"), Call.state != CallState.DRAFT,
                           Call.submission_deadline < latest).order_by(Call.id).limit(wanted)
    ).all()
    done = set(db.session.scalars(select(AwardNotice.call_id).where(AwardNotice.call_id.in_([c.id for c in calls]))))
    people = staff(generator)
    officer = generator.officer()
    with _progress("Vergaben", len(calls), len(done)) as bar:
        for n, call in enumerate(calls):
            if call.id in done:
                continue
            # Every call's procedure starts after the phase's start, an hour apart (each is one transaction).
            generator.clock.set(max(at, call.submission_deadline + timedelta(days=1)) + timedelta(hours=n))
            award_call(call, officer=officer, people=people, clock=generator.clock)
            db.session.commit()
            bar.update(1)


def award_call(call: Any, *, officer: Any, people: dict[str, Any], clock: Any) -> None:
    """Take one closed call from its opening to its published award notice (no commit)."""
    from portal.awards import services as awards
    from portal.bids.opening import confirm_opening, start_opening
    from portal.review import services as review
    from portal.review.queries import counting_bids, eligibility_criteria, scored_criteria

    officer2, reviewers = people["officer2"], [people["reviewer1"], people["reviewer2"]]
    confirm_opening(start_opening(call, by=officer), by=officer2)
    clock.advance(days=1)
    review.name_chair(call, officer2, by=officer)
    lots = list(call.lots)
    bids = {lot.id: counting_bids(lot) for lot in lots}
    for lot in lots:
        for user in reviewers:
            review.assign_reviewer(lot, user, by=officer)
    clock.advance(days=1)
    for lot in lots:
        for user in (*reviewers, officer2):
            for organisation in review.undeclared_organisations(user, lot):
                review.declare(lot, organisation, by=user, conflict=False)
        for bid in bids[lot.id]:
            for criterion in eligibility_criteria(lot):
                review.decide_eligibility(bid, criterion, met=True, by=officer2, reason="Der Nachweis liegt vollständig vor.")
    clock.advance(days=3)
    for lot in lots:
        scored = scored_criteria(lot)
        for key, user in zip(("reviewer1", "reviewer2"), reviewers, strict=True):
            for index, bid in enumerate(bids[lot.id]):
                points = points_for(index)
                review.save_scores(bid, {c.id: (points[c.code], REASONS[key].format(code=c.code, points=points[c.code]))
                                         for c in scored}, by=user)
            review.submit_review(lot, by=user)
    clock.advance(days=1)
    for lot in lots:
        scored = scored_criteria(lot)
        for index, bid in enumerate(bids[lot.id]):
            points = points_for(index)
            review.consolidate_bid(bid, {c.id: (points[c.code], "") for c in scored}, by=officer2)
        review.close_consolidation(lot, by=officer2)
    clock.advance(days=1)
    proposals = [awards.propose_award(lot, by=officer) if bids[lot.id] else
                 awards.propose_award(lot, by=officer, no_award=True, no_award_reason="Für dieses Los ist keine "
                                      "Interessenbekundung eingegangen.") for lot in lots]
    clock.advance(hours=3)
    for proposal in proposals:
        awards.approve_award(proposal, by=officer2)  # the last approval sends the letters and starts the standstill
    award_round = awards.current_round(call)
    if award_round is not None:
        clock.set(award_round.standstill_ends_at + timedelta(minutes=5))
        awards.finalise_due_awards()
