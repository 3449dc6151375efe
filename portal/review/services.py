"""The review: panel, conflict declarations, eligibility, scores, consolidation, draws.

Every function here is the only code that makes its change: it takes the
acting user as keyword-only `by`, flushes but never commits, and records its
audit event (internal: names, reasons and score values are personal or not
yet public) in the same transaction. The call moves from "opened" to "in
review" with the first review action (`portal.calls.services.set_call_state`).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import Organisation, Role
from portal.accounts.permissions import is_officer
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.bids.models import Bid, BidState
from portal.bids.permissions import call_is_opened
from portal.calls.models import Call, CallState, Criterion, CriterionKind, Lot
from portal.calls.services import set_call_state
from portal.core.errors import NotPermitted, Refused
from portal.core.time import now
from portal.extensions import db
from portal.review import queries
from portal.review.models import (
    ConflictDeclaration,
    ConflictKind,
    ConsolidatedScore,
    EligibilityDecision,
    LotReview,
    PanelRole,
    ReviewAssignment,
    Score,
    TieDraw,
)
from portal.review.permissions import (
    PANEL_STATES,
    REVIEW_STATES,
    chair_of,
    declared_no_conflict,
    forget_cached,
    has_conflict,
    is_chair,
    is_excluded,
    lot_is_closed,
    reviewer_assignment,
)
from portal.review.ranking import closing_gaps, rank_lot, ranking_data, unresolved_ties

DEFAULT_JUSTIFICATION_MIN_CHARS = 30
JUSTIFICATION_MAX_CHARS = 5000


def justification_min_chars() -> int:
    return int(current_app.config.get("REVIEW_JUSTIFICATION_MIN_CHARS", DEFAULT_JUSTIFICATION_MIN_CHARS))


class InvalidEntries(Refused):
    """Several fields of one form are wrong; `problems` maps each field name to its message."""

    def __init__(self, problems: dict[str, Any]) -> None:
        first_field, first = next(iter(problems.items()))
        super().__init__(first, field=first_field)
        self.problems = problems


def _changed() -> None:
    db.session.flush()
    forget_cached()


def _start_review(call: Call, *, by: Any) -> None:
    """The first review action moves an opened call to "in review"."""
    if call.state == CallState.OPENED:
        set_call_state(call, CallState.IN_REVIEW, by=by)


def _lot_state(lot: Lot) -> LotReview:
    state = db.session.get(LotReview, lot.id)
    if state is None:
        state = LotReview(lot_id=lot.id, call_id=lot.call_id)
        db.session.add(state)
        db.session.flush()
    return state


def _refuse_if_closed(lot: Lot) -> None:
    if lot_is_closed(lot):
        raise Refused(_l("Die Konsolidierung für Los %(number)s ist abgeschlossen; es kann nichts mehr geändert werden.",
                         number=lot.number))


# --------------------------------------------------------------------------
# Panel
# --------------------------------------------------------------------------


def _require_panel_officer(call: Call, by: Any) -> None:
    if not is_officer(by):
        raise NotPermitted(_l("Nur Mitarbeitende der Vergabestelle können das Gutachtergremium besetzen."))
    if call.state not in PANEL_STATES:
        raise Refused(_l("Das Gutachtergremium kann in diesem Verfahrensstand nicht mehr geändert werden."))


def _refuse_if_scoring_started(lot: Lot) -> None:
    if queries.scoring_started(lot):
        raise Refused(_l("Für Los %(number)s wurde bereits bewertet; die Besetzung kann nicht mehr geändert werden.",
                         number=lot.number))


def assign_reviewer(lot: Lot, user: Any, *, by: Any) -> ReviewAssignment:
    """Assign a user with the reviewer role to `lot` (until scoring starts on it)."""
    call = lot.call
    _require_panel_officer(call, by)
    _refuse_if_scoring_started(lot)
    if not user.active or not user.has_role(Role.REVIEWER):
        raise Refused(_l("Nur aktive Konten mit der Rolle Gutachter:in können mit der Bewertung beauftragt werden."),
                      field="user_id")
    if reviewer_assignment(user, lot) is not None:
        raise Refused(_l("%(name)s ist für Los %(number)s bereits beauftragt.", name=user.name, number=lot.number),
                      field="user_id")
    assignment = ReviewAssignment(call_id=call.id, lot_id=lot.id, user_id=user.id, role=PanelRole.REVIEWER,
                                  assigned_at=now(), assigned_by_id=by.id)
    db.session.add(assignment)
    _changed()
    record(AuditAction.REVIEWER_ASSIGNED, actor=by, subject=assignment,
           data={"call": call.reference, "lot": lot.number, "reviewer": user.id, "name": user.name})
    _start_review(call, by=by)
    return assignment


def remove_reviewer(assignment: ReviewAssignment, *, by: Any) -> None:
    lot = assignment.lot
    assert lot is not None and assignment.role == PanelRole.REVIEWER
    _require_panel_officer(lot.call, by)
    _refuse_if_scoring_started(lot)
    record(AuditAction.REVIEWER_REMOVED, actor=by, subject=assignment,
           data={"call": lot.call.reference, "lot": lot.number, "reviewer": assignment.user_id,
                 "name": assignment.user.name})
    db.session.delete(assignment)
    _changed()


def name_chair(call: Call, user: Any, *, by: Any) -> ReviewAssignment:
    """Name (or replace) the chair of the call's review, until the chair's first decision."""
    _require_panel_officer(call, by)
    if not user.active or not user.has_role(Role.REVIEWER, Role.OFFICER):
        raise Refused(_l("Den Vorsitz können nur aktive Konten mit der Rolle Gutachter:in oder Vergabestelle übernehmen."),
                      field="user_id")
    current = chair_of(call)
    if current is not None and current.user_id == user.id:
        raise Refused(_l("%(name)s hat den Vorsitz bereits.", name=user.name), field="user_id")
    decided = db.session.scalar(select(EligibilityDecision.id).join(Bid).where(Bid.call_id == call.id).limit(1))
    consolidated = db.session.scalar(
        select(ConsolidatedScore.id).join(Bid, Bid.id == ConsolidatedScore.bid_id).where(Bid.call_id == call.id).limit(1)
    )
    if decided is not None or consolidated is not None:
        raise Refused(_l("Der Vorsitz hat bereits entschieden und kann nicht mehr wechseln."))
    previous = None
    if current is not None:
        previous = current.user_id
        db.session.delete(current)
        db.session.flush()
    chair = ReviewAssignment(call_id=call.id, lot_id=None, user_id=user.id, role=PanelRole.CHAIR,
                             assigned_at=now(), assigned_by_id=by.id)
    db.session.add(chair)
    _changed()
    record(AuditAction.REVIEW_CHAIR_NAMED, actor=by, subject=chair,
           data={"call": call.reference, "chair": user.id, "name": user.name, "previous": previous})
    _start_review(call, by=by)
    return chair


# --------------------------------------------------------------------------
# Conflict-of-interest declarations (Befangenheitserklärungen)
# --------------------------------------------------------------------------


def bidding_organisations(lot: Lot) -> list[Organisation]:
    return [bid.organisation for bid in queries.counting_bids(lot)]


def undeclared_organisations(user: Any, lot: Lot) -> list[Organisation]:
    declared = {org_id for (user_id, org_id) in queries.lot_declarations(lot) if user_id == user.id}
    return [org for org in bidding_organisations(lot) if org.id not in declared]


def _require_declarer(lot: Lot, by: Any) -> None:
    call = lot.call
    if reviewer_assignment(by, lot) is None and not is_chair(by, call):
        raise NotPermitted(_l("Sie sind für Los %(number)s nicht mit der Bewertung beauftragt.", number=lot.number))
    if call.state not in REVIEW_STATES or not call_is_opened(call):
        raise Refused(_l("Erklärungen sind erst nach der Öffnung der Interessenbekundungen möglich."))
    _refuse_if_closed(lot)


def declare(lot: Lot, organisation: Organisation, *, by: Any, conflict: bool,
            kind: ConflictKind | str | None = None, reason: str = "") -> ConflictDeclaration:
    """Declare "no conflict" or "conflict" for one bidding organisation of `lot`.

    "No conflict" may later become "conflict"; that withdraws the declarer's
    scores for the organisation's bid (their values go into the audit entry).
    A declared conflict is final.
    """
    _require_declarer(lot, by)
    bid = next((b for b in queries.counting_bids(lot) if b.organisation_id == organisation.id), None)
    if bid is None:
        raise Refused(_l("%(organisation)s hat für Los %(number)s keine Interessenbekundung eingereicht.",
                         organisation=organisation.name, number=lot.number))
    reason = (reason or "").strip()
    if conflict:
        if not kind:
            raise Refused(_l("Bitte wählen Sie die Art der Befangenheit."), field="kind")
        kind = ConflictKind(kind)
        if not reason:
            raise Refused(_l("Bitte beschreiben Sie kurz, worin die Befangenheit besteht."), field="reason")
    else:
        kind = None
    existing = db.session.scalar(select(ConflictDeclaration).where(
        ConflictDeclaration.lot_id == lot.id, ConflictDeclaration.user_id == by.id,
        ConflictDeclaration.organisation_id == organisation.id))
    withdrawn: list[dict[str, Any]] = []
    at = now()
    if existing is not None:
        if existing.conflict:
            raise Refused(_l("Sie haben für %(organisation)s bereits eine Befangenheit erklärt; das ist endgültig.",
                             organisation=organisation.name))
        if not conflict:
            raise Refused(_l("Sie haben für %(organisation)s bereits erklärt, nicht befangen zu sein.",
                             organisation=organisation.name))
        existing.conflict, existing.kind, existing.reason, existing.revised_at = True, kind, reason, at
        declaration = existing
        for score in db.session.scalars(select(Score).where(Score.bid_id == bid.id, Score.reviewer_id == by.id)):
            withdrawn.append({"criterion": score.criterion.code, "points": score.points,
                              "justification": score.justification})
            db.session.delete(score)
    else:
        declaration = ConflictDeclaration(call_id=lot.call_id, lot_id=lot.id, user_id=by.id,
                                          organisation_id=organisation.id, conflict=conflict, kind=kind,
                                          reason=reason, declared_at=at)
        db.session.add(declaration)
    _changed()
    record(AuditAction.CONFLICT_DECLARED, actor=by, subject=declaration,
           data={"call": lot.call.reference, "lot": lot.number, "organisation": organisation.id,
                 "organisation_name": organisation.name, "conflict": conflict, "kind": kind, "reason": reason,
                 "revised": existing is not None, "withdrawn_scores": withdrawn})
    _start_review(lot.call, by=by)
    return declaration


# --------------------------------------------------------------------------
# Eligibility (pass / fail, by the chair)
# --------------------------------------------------------------------------


def decide_eligibility(bid: Bid, criterion: Criterion, *, met: bool, reason: str, by: Any) -> EligibilityDecision:
    """The chair's "met" / "not met" for one eligibility criterion; "not met" excludes the bid."""
    lot = bid.lot
    if not is_chair(by, bid.call):
        raise NotPermitted(_l("Nur der Vorsitz des Gremiums stellt die Eignung fest."))
    if has_conflict(by, bid) or not declared_no_conflict(by, bid):
        raise NotPermitted(_l("Sie können die Eignung nur nach einer Erklärung, nicht befangen zu sein, feststellen."))
    if bid.state != BidState.SUBMITTED or bid.call.state not in REVIEW_STATES:
        raise Refused(_l("Diese Interessenbekundung wird nicht bewertet."))
    _refuse_if_closed(lot)
    if criterion.kind != CriterionKind.ELIGIBILITY or criterion not in queries.eligibility_criteria(lot):
        raise Refused(_l("Das Kriterium %(code)s ist kein Eignungskriterium dieses Loses.", code=criterion.code))
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Bitte begründen Sie die Feststellung zu %(code)s.", code=criterion.code),
                      field=f"reason_{criterion.id}")
    decision = db.session.scalar(select(EligibilityDecision).where(
        EligibilityDecision.bid_id == bid.id, EligibilityDecision.criterion_id == criterion.id))
    previous = None if decision is None else {"met": decision.met, "reason": decision.reason}
    if decision is None:
        decision = EligibilityDecision(bid_id=bid.id, criterion_id=criterion.id, met=met, reason=reason,
                                       decided_at=now(), decided_by_id=by.id)
        db.session.add(decision)
    elif previous == {"met": met, "reason": reason}:
        return decision
    else:
        decision.met, decision.reason, decision.decided_at, decision.decided_by_id = met, reason, now(), by.id
    _changed()
    record(AuditAction.ELIGIBILITY_DECIDED, actor=by, subject=decision,
           data={"call": bid.call.reference, "lot": lot.number, "bid": bid.id, "organisation": bid.organisation_id,
                 "criterion": criterion.code, "met": met, "reason": reason, "previous": previous})
    _start_review(bid.call, by=by)
    return decision


# --------------------------------------------------------------------------
# Independent scoring
# --------------------------------------------------------------------------


def _require_scorer(bid: Bid, by: Any) -> ReviewAssignment:
    lot = bid.lot
    assignment = reviewer_assignment(by, lot)
    if assignment is None:
        raise NotPermitted(_l("Sie sind für Los %(number)s nicht mit der Bewertung beauftragt.", number=lot.number))
    if has_conflict(by, bid):
        raise NotPermitted(_l("Sie haben für %(organisation)s eine Befangenheit erklärt und können diese "
                              "Interessenbekundung nicht bewerten.", organisation=bid.organisation.name))
    if not declared_no_conflict(by, bid):
        raise Refused(_l("Bitte geben Sie zuerst Ihre Befangenheitserklärung für %(organisation)s ab.",
                         organisation=bid.organisation.name))
    if bid.state != BidState.SUBMITTED or bid.call.state not in REVIEW_STATES:
        raise Refused(_l("Diese Interessenbekundung wird nicht bewertet."))
    _refuse_if_closed(lot)
    if is_excluded(bid):
        raise Refused(_l("Diese Interessenbekundung ist wegen eines nicht erfüllten Eignungskriteriums ausgeschlossen "
                         "und wird nicht bewertet."))
    if assignment.submitted_at is not None:
        raise Refused(_l("Sie haben Ihre Bewertung für Los %(number)s abgeschlossen. Um etwas zu ändern, öffnen Sie "
                         "sie bitte mit einer Begründung wieder.", number=lot.number))
    return assignment


def _check_points(call: Call, raw: Any, field: str, problems: dict[str, Any]) -> int | None:
    try:
        points = int(raw)
    except (TypeError, ValueError):
        problems[field] = _l("Bitte wählen Sie eine Punktzahl von %(low)s bis %(high)s.",
                             low=call.scale_min, high=call.scale_max)
        return None
    if not call.scale_min <= points <= call.scale_max:
        problems[field] = _l("Die Punktzahl muss zwischen %(low)s und %(high)s liegen (veröffentlichte Skala).",
                             low=call.scale_min, high=call.scale_max)
        return None
    return points


def _check_text(text: str, field: str, problems: dict[str, Any], *, minimum: int, what: Any) -> str:
    text = (text or "").strip()
    if len(text) < minimum:
        problems[field] = _l("Bitte begründen Sie %(what)s schriftlich (mindestens %(min)s Zeichen, bisher %(n)s).",
                             what=what, min=minimum, n=len(text))
    elif len(text) > JUSTIFICATION_MAX_CHARS:
        problems[field] = _l("Die Begründung ist zu lang (höchstens %(max)s Zeichen).", max=JUSTIFICATION_MAX_CHARS)
    return text


def save_scores(bid: Bid, entries: dict[int, tuple[Any, str]], *, by: Any) -> list[Score]:
    """Save the reviewer's points and justifications for `bid` ({criterion_id: (points, text)}).

    An entry with neither points nor text is left open; anything else must be
    complete and valid, or nothing is saved (`InvalidEntries` names every field).
    """
    _require_scorer(bid, by)
    lot, call = bid.lot, bid.call
    problems: dict[str, Any] = {}
    valid: list[tuple[Criterion, int, str]] = []
    criteria = {c.id: c for c in queries.scored_criteria(lot)}
    for criterion_id, (raw_points, raw_text) in entries.items():
        criterion = criteria.get(criterion_id)
        if criterion is None:
            raise Refused(_l("Dieses Kriterium wird in Los %(number)s nicht bewertet.", number=lot.number))
        if raw_points in (None, "") and not (raw_text or "").strip():
            continue
        points = _check_points(call, raw_points, f"points_{criterion_id}", problems)
        text = _check_text(raw_text, f"justification_{criterion_id}", problems, minimum=justification_min_chars(),
                           what=criterion.code)
        if points is not None and f"justification_{criterion_id}" not in problems:
            valid.append((criterion, points, text))
    if problems:
        raise InvalidEntries(problems)
    existing = {s.criterion_id: s for s in db.session.scalars(
        select(Score).where(Score.bid_id == bid.id, Score.reviewer_id == by.id))}
    saved = []
    for criterion, points, text in valid:
        score = existing.get(criterion.id)
        if score is None:
            score = Score(lot_id=lot.id, bid_id=bid.id, criterion_id=criterion.id, reviewer_id=by.id)
            db.session.add(score)
        score.points, score.justification, score.saved_at = points, text, now()
        saved.append(score)
    _changed()
    _start_review(call, by=by)
    return saved


def bids_to_score(assignment: ReviewAssignment) -> list[Bid]:
    """The bids of the lot this reviewer has to score: counting, not excluded, no conflict declared."""
    lot = assignment.lot
    assert lot is not None
    declarations = queries.lot_declarations(lot)
    return [
        bid for bid in queries.counting_bids(lot)
        if not is_excluded(bid)
        and not ((d := declarations.get((assignment.user_id, bid.organisation_id))) is not None and d.conflict)
    ]


def own_scores(user: Any, lot: Lot) -> dict[tuple[int, int], Score]:
    """{(bid_id, criterion_id): score} of one reviewer."""
    rows = db.session.scalars(select(Score).where(Score.lot_id == lot.id, Score.reviewer_id == user.id))
    return {(s.bid_id, s.criterion_id): s for s in rows}


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def complete(self) -> bool:
        return self.done == self.total


def review_progress(assignment: ReviewAssignment) -> Progress:
    lot = assignment.lot
    assert lot is not None
    scores = own_scores(assignment.user, lot)
    criteria = queries.scored_criteria(lot)
    wanted = [(bid.id, c.id) for bid in bids_to_score(assignment) for c in criteria]
    return Progress(sum(1 for key in wanted if key in scores), len(wanted))


def submit_review(lot: Lot, *, by: Any) -> ReviewAssignment:
    """Submit all of the reviewer's scores for `lot`; afterwards they see the others' scores."""
    assignment = reviewer_assignment(by, lot)
    if assignment is None:
        raise NotPermitted(_l("Sie sind für Los %(number)s nicht mit der Bewertung beauftragt.", number=lot.number))
    _refuse_if_closed(lot)
    if assignment.submitted_at is not None:
        raise Refused(_l("Ihre Bewertung für Los %(number)s ist bereits abgeschlossen.", number=lot.number))
    missing_declarations = undeclared_organisations(by, lot)
    if missing_declarations:
        raise Refused(_l("Bitte geben Sie zuerst Ihre Befangenheitserklärung ab für: %(names)s.",
                         names=", ".join(o.name for o in missing_declarations)))
    progress = review_progress(assignment)
    if not progress.complete:
        raise Refused(_l("Es fehlen noch %(missing)s von %(total)s Bewertungen mit Begründung.",
                         missing=progress.total - progress.done, total=progress.total))
    assignment.submitted_at = now()
    _changed()
    scored = {bid.id for bid in bids_to_score(assignment)}
    values = [
        {"bid": s.bid_id, "criterion": s.criterion.code, "points": s.points, "justification": s.justification}
        for s in sorted(own_scores(by, lot).values(), key=lambda s: (s.bid_id, s.criterion.position, s.criterion_id))
        if s.bid_id in scored
    ]
    record(AuditAction.REVIEW_SUBMITTED, actor=by, subject=assignment,
           data={"call": lot.call.reference, "lot": lot.number, "scores": values})
    return assignment


def reopen_review(lot: Lot, *, by: Any, reason: str) -> ReviewAssignment:
    """Reopen a submitted review to change it; the reason is recorded."""
    assignment = reviewer_assignment(by, lot)
    if assignment is None:
        raise NotPermitted(_l("Sie sind für Los %(number)s nicht mit der Bewertung beauftragt.", number=lot.number))
    _refuse_if_closed(lot)
    if assignment.submitted_at is None:
        raise Refused(_l("Ihre Bewertung für Los %(number)s ist nicht abgeschlossen.", number=lot.number))
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Bitte begründen Sie, warum Sie Ihre Bewertung wieder öffnen."), field="reason")
    submitted_at = assignment.submitted_at
    assignment.submitted_at = None
    _changed()
    record(AuditAction.REVIEW_REOPENED, actor=by, subject=assignment,
           data={"call": lot.call.reference, "lot": lot.number, "reason": reason, "submitted_at": submitted_at})
    return assignment


# --------------------------------------------------------------------------
# Consolidation (by the chair)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistics:
    """The submitted, non-conflicted reviewers' points for one bid and criterion."""

    scores: tuple[Score, ...]

    @property
    def points(self) -> list[int]:
        return sorted(s.points for s in self.scores)

    @property
    def mean(self) -> Decimal | None:
        return Decimal(sum(self.points)) / len(self.points) if self.scores else None

    @property
    def median(self) -> Decimal | None:
        values = self.points
        if not values:
            return None
        middle = len(values) // 2
        if len(values) % 2:
            return Decimal(values[middle])
        return (Decimal(values[middle - 1]) + Decimal(values[middle])) / 2

    @property
    def spread(self) -> int | None:
        return self.points[-1] - self.points[0] if self.scores else None


def submitted_scores(lot: Lot) -> dict[tuple[int, int], Statistics]:
    """{(bid_id, criterion_id): Statistics} over the reviews that count (submitted, no conflict)."""
    submitted = {a.user_id for a in queries.lot_reviewers(lot) if a.submitted_at is not None}
    declarations = queries.lot_declarations(lot)
    bids = {b.id: b for b in queries.counting_bids(lot)}
    grouped: dict[tuple[int, int], list[Score]] = {}
    for score in queries.lot_scores(lot):
        bid = bids.get(score.bid_id)
        declaration = declarations.get((score.reviewer_id, bid.organisation_id)) if bid else None
        if score.reviewer_id in submitted and declaration is not None and not declaration.conflict:
            grouped.setdefault((score.bid_id, score.criterion_id), []).append(score)
    return {key: Statistics(tuple(scores)) for key, scores in grouped.items()}


def consolidation_blockers(lot: Lot) -> list[str]:
    """Why the chair cannot consolidate yet: reviews outstanding."""
    reviewers = queries.lot_reviewers(lot)
    if not reviewers:
        return [str(_l("Für Los %(number)s ist niemand mit der Bewertung beauftragt.", number=lot.number))]
    return [str(_l("Die Bewertung von %(name)s ist noch nicht abgeschlossen.", name=a.user.name))
            for a in reviewers if a.submitted_at is None]


def consolidate_bid(bid: Bid, entries: dict[int, tuple[Any, str]], *, by: Any) -> list[ConsolidatedScore]:
    """Fix the consolidated points of `bid` ({criterion_id: (points, reason)}).

    Possible once all reviews of the lot are in, until the chair closes the
    lot. Points that differ from the reviewers' median need a written reason.
    """
    lot, call = bid.lot, bid.call
    if not is_chair(by, call):
        raise NotPermitted(_l("Nur der Vorsitz des Gremiums konsolidiert die Bewertungen."))
    if not declared_no_conflict(by, bid):
        raise NotPermitted(_l("Sie können diese Interessenbekundung nur nach einer Erklärung, nicht befangen zu sein, "
                              "konsolidieren."))
    _refuse_if_closed(lot)
    blockers = consolidation_blockers(lot)
    if blockers:
        raise Refused(_l("Die Konsolidierung ist erst möglich, wenn alle Bewertungen vorliegen. %(open)s",
                         open=" ".join(blockers)))
    if is_excluded(bid):
        raise Refused(_l("Diese Interessenbekundung ist wegen eines nicht erfüllten Eignungskriteriums ausgeschlossen."))
    statistics = submitted_scores(lot)
    criteria = {c.id: c for c in queries.scored_criteria(lot)}
    problems: dict[str, Any] = {}
    valid: list[tuple[Criterion, int, str, Decimal | None]] = []
    for criterion_id, (raw_points, raw_reason) in entries.items():
        criterion = criteria.get(criterion_id)
        if criterion is None:
            raise Refused(_l("Dieses Kriterium wird in Los %(number)s nicht bewertet.", number=lot.number))
        points = _check_points(call, raw_points, f"points_{criterion_id}", problems)
        reason = (raw_reason or "").strip()
        median = statistics[(bid.id, criterion_id)].median if (bid.id, criterion_id) in statistics else None
        if points is not None and median is not None and Decimal(points) != median and not reason:
            problems[f"reason_{criterion_id}"] = _l(
                "%(code)s: Die Punktzahl weicht vom Median der Gutachten (%(median)s) ab. Bitte begründen Sie das.",
                code=criterion.code, median=format_decimal(median))
        if points is not None and f"reason_{criterion_id}" not in problems:
            valid.append((criterion, points, reason, median))
    if problems:
        raise InvalidEntries(problems)
    existing = {c.criterion_id: c for c in db.session.scalars(
        select(ConsolidatedScore).where(ConsolidatedScore.bid_id == bid.id))}
    saved = []
    for criterion, points, reason, median in valid:
        fixed = existing.get(criterion.id)
        previous = None if fixed is None else {"points": fixed.points, "reason": fixed.reason}
        if previous == {"points": points, "reason": reason}:
            saved.append(fixed)
            continue
        if fixed is None:
            fixed = ConsolidatedScore(lot_id=lot.id, bid_id=bid.id, criterion_id=criterion.id)
            db.session.add(fixed)
        fixed.points, fixed.reason, fixed.set_at, fixed.set_by_id = points, reason, now(), by.id
        db.session.flush()
        record(AuditAction.SCORE_CONSOLIDATED, actor=by, subject=fixed,
               data={"call": call.reference, "lot": lot.number, "bid": bid.id, "criterion": criterion.code,
                     "points": points, "reason": reason, "median": median, "previous": previous})
        saved.append(fixed)
    _changed()
    return saved


def format_decimal(value: Decimal | None) -> str:
    """German spelling of an exact value: 3 → "3", 1.5 → "1,5", 73.334 → "73,334"; long fractions (a mean of
    thirds) are shown to two places."""
    if value is None:
        return "–"
    if value == value.to_integral():
        text = str(value.to_integral())
    else:
        exact = value.normalize()
        text = f"{exact:f}" if -exact.as_tuple().exponent <= 3 else f"{value.quantize(Decimal('0.01')):f}"
    return text.replace(".", ",")


def close_consolidation(lot: Lot, *, by: Any) -> LotReview:
    """The chair closes the consolidation of `lot`: scores are final and the ranking is fixed."""
    if not is_chair(by, lot.call):
        raise NotPermitted(_l("Nur der Vorsitz des Gremiums schließt die Konsolidierung ab."))
    _refuse_if_closed(lot)
    blockers = consolidation_blockers(lot) + closing_gaps(lot)
    if blockers:
        raise Refused(_l("Die Konsolidierung kann noch nicht abgeschlossen werden: %(open)s", open=" ".join(blockers)))
    state = _lot_state(lot)
    state.closed_at, state.closed_by_id = now(), by.id
    _changed()
    record(AuditAction.CONSOLIDATION_CLOSED, actor=by, subject=state,
           data={"call": lot.call.reference, "lot": lot.number})
    _record_ranking(lot, by=by)
    return state


def _record_ranking(lot: Lot, *, by: Any) -> None:
    ranking = rank_lot(lot)
    record(AuditAction.RANKING_FIXED, actor=by, subject=("lot_review", lot.id),
           data={"call": lot.call.reference, "lot": lot.number, **ranking_data(ranking)})


def record_draw(lot: Lot, order: list[int], *, by: Any, witness: str) -> TieDraw:
    """An officer records the drawing of lots that orders bids the published tie-break left equal.

    `order` names every bid of one unresolved tie, the first drawn first.
    """
    if not is_officer(by):
        raise NotPermitted(_l("Nur Mitarbeitende der Vergabestelle können einen Losentscheid festhalten."))
    if not lot_is_closed(lot):
        raise Refused(_l("Ein Losentscheid ist erst nach Abschluss der Konsolidierung möglich."))
    if lot.call.state not in REVIEW_STATES:
        raise Refused(_l("In diesem Verfahrensstand kann kein Losentscheid mehr festgehalten werden."))
    witness = (witness or "").strip()
    if not witness:
        raise Refused(_l("Bitte nennen Sie die Person, die bei der Ziehung anwesend war."), field="witness")
    order = [int(b) for b in order]
    ties = [set(group) for group in unresolved_ties(lot)]
    if len(set(order)) != len(order) or set(order) not in ties:
        raise Refused(_l("Die Reihenfolge muss genau die Interessenbekundungen eines offenen Gleichstands enthalten."),
                      field="order")
    draw = TieDraw(lot_id=lot.id, bid_order=order, witness=witness, drawn_at=now(), drawn_by_id=by.id)
    db.session.add(draw)
    _changed()
    record(AuditAction.TIE_DRAW_RECORDED, actor=by, subject=draw,
           data={"call": lot.call.reference, "lot": lot.number, "order": order, "witness": witness})
    _record_ranking(lot, by=by)
    return draw


def lot_is_decidable(lot: Lot) -> bool:
    """Consolidation closed and nothing blocks a decision (no gaps, no undrawn tie)."""
    ranking = rank_lot(lot)
    return ranking.final and not ranking.gaps


# --------------------------------------------------------------------------
# Refused access
# --------------------------------------------------------------------------


def record_refused_access(user: Any, *, what: str, subject: Any, data: dict[str, Any] | None = None) -> None:
    """An internal audit event for a refused look at a bid or at scores; the caller commits."""
    action = AuditAction.BID_ACCESS_REFUSED if what.startswith("bid") else AuditAction.REVIEW_ACCESS_REFUSED
    record(action, actor=user.id if getattr(user, "is_authenticated", False) else None, subject=subject,
           data={"what": what, **(data or {})})

