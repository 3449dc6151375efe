"""The procurement record (Vergabevermerk, VgV § 8): generated, never typed.

Built from the call's data and its audit events: every step with date,
person and reason, from publication to the award notice (or the
cancellation), followed by the complete list of the call's audit events with
their hashes. The hash of the last of these events is the call's "final audit
hash", printed on the record: anyone holding the log can check that the record
covers the log up to that point.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.audit.labels import action_label
from portal.audit.models import AuditEvent
from portal.awards.models import AwardDecision, AwardNotice, AwardRound, InformationLetter, LetterDelivery, Objection
from portal.bids.models import Bid, BidVersion
from portal.bids.opening import opening_record
from portal.bids.permissions import opening_for
from portal.calls.models import Call, CriterionKind
from portal.extensions import db


@dataclass
class Step:
    when: datetime | None
    who: str
    what: str
    detail: str = ""


@dataclass
class Section:
    key: str
    title: str
    steps: list[Step] = field(default_factory=list)
    empty: str = "—"


@dataclass
class ProcurementRecord:
    call: Call
    sections: list[Section]
    events: list[AuditEvent]
    names: dict[int, str]

    @property
    def final_hash(self) -> str | None:
        return self.events[-1].hash if self.events else None

    @property
    def final_seq(self) -> int | None:
        return self.events[-1].seq if self.events else None


class _Names:
    def __init__(self) -> None:
        self.cache: dict[int, str] = {}

    def preload(self, user_ids: Iterable[int | None]) -> None:
        """Look up the names of many people in one query (bidders who objected are one per objection)."""
        missing = {i for i in user_ids if i is not None and i not in self.cache}
        if missing:
            self.cache.update({id_: name for id_, name in db.session.execute(select(User.id, User.name).where(User.id.in_(missing)))})

    def __call__(self, user_id: int | None) -> str:
        if user_id is None:
            return "System (Uhr des Portals)"
        if user_id not in self.cache:
            user = db.session.get(User, user_id)
            self.cache[user_id] = user.name if user is not None else f"#{user_id}"
        return self.cache[user_id]


def _events_by_action(events: list[AuditEvent]) -> dict[str, list[AuditEvent]]:
    grouped: dict[str, list[AuditEvent]] = {}
    for event in events:
        grouped.setdefault(event.action, []).append(event)
    return grouped


def _subjects(call: Call) -> list[tuple[str, list[int]]]:
    """Every audit subject that belongs to the call (ids per subject type)."""
    from portal.bids.models import Opening

    lot_ids = [lot.id for lot in call.lots]
    bid_ids = list(db.session.scalars(select(Bid.id).where(Bid.call_id == call.id)))
    subjects: list[tuple[str, list[int]]] = [
        ("call", [call.id]),
        ("amendment", [a.id for a in call.amendments]),
        ("question", [q.id for q in call.questions]),
        ("call_document", [d.id for d in call.documents]),
        ("bid", bid_ids),
        ("bid_version", list(db.session.scalars(select(BidVersion.id).where(BidVersion.bid_id.in_(bid_ids))))),
        ("bid_opening", list(db.session.scalars(select(Opening.id).where(Opening.call_id == call.id)))),
        ("award_decision", list(db.session.scalars(select(AwardDecision.id).where(AwardDecision.call_id == call.id)))),
        ("award_round", list(db.session.scalars(select(AwardRound.id).where(AwardRound.call_id == call.id)))),
        ("award_letter", list(db.session.scalars(select(InformationLetter.id).where(InformationLetter.call_id == call.id)))),
        ("award_objection", list(db.session.scalars(select(Objection.id).where(Objection.call_id == call.id)))),
        ("award_notice", list(db.session.scalars(select(AwardNotice.id).where(AwardNotice.call_id == call.id)))),
        ("lot", lot_ids),
    ]
    subjects += _review_subjects(call, lot_ids, bid_ids)
    return subjects


def _review_subjects(call: Call, lot_ids: list[int], bid_ids: list[int]) -> list[tuple[str, list[int]]]:
    from portal.review import models as rv

    return [
        (rv.ReviewAssignment.audit_subject_type,
         list(db.session.scalars(select(rv.ReviewAssignment.id).where(rv.ReviewAssignment.call_id == call.id)))),
        (rv.ConflictDeclaration.audit_subject_type,
         list(db.session.scalars(select(rv.ConflictDeclaration.id).where(rv.ConflictDeclaration.call_id == call.id)))),
        (rv.EligibilityDecision.audit_subject_type,
         list(db.session.scalars(select(rv.EligibilityDecision.id).where(rv.EligibilityDecision.bid_id.in_(bid_ids))))),
        (rv.Score.audit_subject_type, list(db.session.scalars(select(rv.Score.id).where(rv.Score.lot_id.in_(lot_ids))))),
        (rv.ConsolidatedScore.audit_subject_type,
         list(db.session.scalars(select(rv.ConsolidatedScore.id).where(rv.ConsolidatedScore.lot_id.in_(lot_ids))))),
        (rv.LotReview.audit_subject_type, lot_ids),
        (rv.TieDraw.audit_subject_type, list(db.session.scalars(select(rv.TieDraw.id).where(rv.TieDraw.lot_id.in_(lot_ids))))),
    ]


def call_events(call: Call) -> list[AuditEvent]:
    """All audit events (public and internal) of the call and everything that belongs to it, in log order."""
    clauses = [
        and_(AuditEvent.subject_type == kind, AuditEvent.subject_id.in_([str(i) for i in ids]))
        for kind, ids in _subjects(call) if ids
    ]
    return list(db.session.scalars(select(AuditEvent).where(or_(*clauses)).order_by(AuditEvent.seq)))


def _actor(events: dict[str, list[AuditEvent]], action: str) -> tuple[datetime | None, int | None]:
    found = events.get(action) or []
    return (found[0].occurred_at, found[0].actor_id) if found else (None, None)


def build_record(call: Call) -> ProcurementRecord:
    names = _Names()
    events = call_events(call)
    grouped = _events_by_action(events)
    sections: list[Section] = []

    # 1. Publication, amendments, questions
    publication = Section("publication", "Veröffentlichung und Änderungen")
    when, who = _actor(grouped, "call.published")
    publication.steps.append(Step(when or call.published_at, names(who) if when else "", f"Aufruf {call.reference} veröffentlicht",
                                  f"{call.title}. Frist: {call.submission_deadline:%Y-%m-%d %H:%M} UTC. "
                                  f"Stillhaltefrist: {call.standstill_days} Tage." if call.submission_deadline else call.title))
    criteria = "; ".join(f"{c.code} {c.title} ({c.weight} %)" if c.kind == CriterionKind.SCORED else f"{c.code} {c.title} (Eignung)"
                         for c in call.criteria)
    publication.steps.append(Step(call.published_at, "", "Kriterien, Gewichte und Formel",
                                  f"{criteria}. Formel: {call.formula_text} Gleichstand: {call.tie_break_text}"))
    for amendment in call.amendments:
        publication.steps.append(Step(amendment.published_at, names(amendment.published_by_id),
                                      f"Änderungsbekanntmachung Nr. {amendment.number}",
                                      f"Grund: {amendment.reason} ({len(amendment.changes)} geänderte Angaben)"))
    sections.append(publication)

    questions = Section("questions", "Bieterfragen", empty="Keine Bieterfragen.")
    for question in call.questions:
        detail = f"Frage: {question.public_text}"
        if question.answer:
            detail += f" Antwort: {question.answer}"
        questions.steps.append(Step(question.asked_at, "Bieter (Name nicht veröffentlicht)",
                                    f"Frage {question.number or ''} ({question.state.value})".replace("  ", " "), detail))
        if question.answered_at:
            questions.steps.append(Step(question.answered_at, names(question.answered_by_id), f"Frage {question.number} beantwortet"))
    sections.append(questions)

    # 2. Bids received and opening
    received = Section("bids", "Eingegangene Interessenbekundungen", empty="Keine Interessenbekundungen.")
    opening = opening_for(call)
    for lot in opening_record(call) if opening is not None else []:
        for entry in lot.bids:
            version = entry.version
            received.steps.append(Step(version.submitted_at, entry.organisation,
                                       f"Los {lot.number}: Eingang Nr. {version.receipt_number} (Fassung {version.number})",
                                       f"SHA-256 {version.digest}"))
        for entry in lot.withdrawn:
            received.steps.append(Step(entry.withdrawal.submitted_at, entry.organisation,
                                       f"Los {lot.number}: zurückgezogen, Nr. {entry.withdrawal.receipt_number}",
                                       f"SHA-256 {entry.withdrawal.digest}"))
    sections.append(received)
    opened = Section("opening", "Öffnung (zwei Personen der Vergabestelle)", empty="Noch nicht geöffnet.")
    if opening is not None:
        opened.steps.append(Step(opening.started_at, names(opening.started_by_id), "Öffnung eingeleitet"))
        if opening.confirmed_at:
            opened.steps.append(Step(opening.confirmed_at, names(opening.confirmed_by_id), "Öffnung bestätigt",
                                     f"Prüfsumme des Öffnungsprotokolls: {opening.record_digest}"))
    sections.append(opened)

    sections += _review_sections(call, names)

    # 3. Ranking and decision
    decisions = list(db.session.scalars(
        select(AwardDecision).where(AwardDecision.call_id == call.id)
        .options(selectinload(AwardDecision.winners), selectinload(AwardDecision.lot)).order_by(AwardDecision.id)
    ))
    ranked = Section("ranking", "Rangfolge nach der veröffentlichten Formel", empty="Noch keine Rangfolge festgestellt.")
    decided = Section("decision", "Vergabevorschlag und Freigabe (Vier-Augen-Prinzip)", empty="Noch keine Vergabeentscheidung.")
    for decision in decisions:
        lot = decision.lot
        if decision.state.value in {"approved", "superseded"}:
            for entry in decision.ranking["entries"]:
                if entry["excluded"]:
                    text = f"ausgeschlossen: {entry['exclusion_reason']}"
                else:
                    text = "; ".join(f"{c['code']}: {c['points']} Punkte × {c['weight']} % = {c['weighted']}" for c in entry["criteria"])
                    text = f"Summe {entry['total']}. {text}" + (f" Gleichstand: {entry['tie_note']}" if entry["tie_note"] else "")
                ranked.steps.append(Step(decision.proposed_at, "",
                                         f"Los {lot.number}: Rang {entry['rank'] or '–'} {entry['organisation_name']}", text))
        outcome = ("keine Vergabe: " + (decision.no_award_reason or "")) if decision.outcome.value == "no_award" else \
            "Vergabe an " + ", ".join(w.organisation.name for w in decision.winners)
        detail = outcome
        if decision.deviates:
            detail += f". Abweichung von der Rangfolge: {decision.deviation_reason}"
        if decision.revision_reason:
            detail += f". Überarbeitung: {decision.revision_reason}"
        decided.steps.append(Step(decision.proposed_at, names(decision.proposed_by_id), f"Los {lot.number}: Vergabe vorgeschlagen", detail))
        if decision.returned_at:
            decided.steps.append(Step(decision.returned_at, names(decision.returned_by_id), f"Los {lot.number}: Vorschlag zurückgegeben",
                                      decision.returned_reason or ""))
        if decision.approved_at:
            decided.steps.append(Step(decision.approved_at, names(decision.approved_by_id), f"Los {lot.number}: Vergabe freigegeben"))
        if decision.superseded_at:
            decided.steps.append(Step(decision.superseded_at, "", f"Los {lot.number}: Entscheidung durch Überarbeitung ersetzt"))
    sections += [ranked, decided]

    # 4. Letters, standstill, objections, notice
    lettered = Section("letters", "Informationsschreiben und Stillhaltefrist", empty="Noch keine Schreiben versandt.")
    rounds = list(db.session.scalars(select(AwardRound).where(AwardRound.call_id == call.id).order_by(AwardRound.number)))
    for award_round in rounds:
        lettered.steps.append(Step(award_round.letters_sent_at, names(award_round.sent_by_id),
                                   f"Informationsschreiben versandt (Runde {award_round.number})",
                                   f"Stillhaltefrist {award_round.standstill_days} Tage, Ende {award_round.standstill_ends_at:%Y-%m-%d %H:%M} UTC"
                                   + (f". Grund der Überarbeitung: {award_round.reason}" if award_round.reason else "")))
    for letter in db.session.scalars(select(InformationLetter).where(InformationLetter.call_id == call.id)
                                     .options(selectinload(InformationLetter.deliveries).selectinload(LetterDelivery.mail),
                                              selectinload(InformationLetter.organisation))
                                     .order_by(InformationLetter.id)):
        deliveries = ", ".join(f"{d.to_address}: {d.mail.status.value}" + (f" {d.mail.sent_at:%Y-%m-%d %H:%M} UTC" if d.mail.sent_at else "")
                               for d in letter.deliveries)
        read = f"; im Portal gelesen {letter.first_read_at:%Y-%m-%d %H:%M} UTC" if letter.first_read_at else ""
        lettered.steps.append(Step(letter.created_at, letter.organisation.name, f"Schreiben ({_kind(letter)}) an {letter.organisation.name}",
                                   f"PDF SHA-256 {letter.pdf_sha256}. Zustellung: {deliveries or '—'}{read}"))
    when, who = _actor(grouped, "award.standstill_ended")
    if when:
        lettered.steps.append(Step(when, names(who), "Stillhaltefrist abgelaufen, keine offene Rüge"))
    sections.append(lettered)

    objected = Section("objections", "Rügen und Antworten", empty="Keine Rügen.")
    objections = list(db.session.scalars(select(Objection).where(Objection.call_id == call.id)
                                         .options(selectinload(Objection.organisation)).order_by(Objection.id)))
    names.preload(id_ for o in objections for id_ in (o.lodged_by_id, o.answered_by_id))
    for objection in objections:
        objected.steps.append(Step(objection.lodged_at, f"{names(objection.lodged_by_id)} ({objection.organisation.name})",
                                   "Rüge erhoben", objection.text))
        if objection.answered_at:
            verdict = "abgeholfen" if objection.state.value == "upheld" else "zurückgewiesen"
            objected.steps.append(Step(objection.answered_at, names(objection.answered_by_id), f"Rüge {verdict}", objection.answer or ""))
    sections.append(objected)

    final = Section("notice", "Bekanntmachung und Abschluss", empty="Noch nicht bekannt gemacht.")
    notice = db.session.scalar(select(AwardNotice).where(AwardNotice.call_id == call.id))
    if notice is not None:
        final.steps.append(Step(notice.published_at, "System (Uhr des Portals)", "Vergabebekanntmachung veröffentlicht",
                                f"SHA-256 der Bekanntmachung {notice.sha256}"))
    if call.cancelled_at is not None:
        when, who = _actor(grouped, "call.cancelled")
        final.steps.append(Step(call.cancelled_at, names(who), "Aufruf aufgehoben", f"Grund: {call.cancel_reason}"))
    sections.append(final)
    return ProcurementRecord(call=call, sections=sections, events=events, names=names.cache)


def _kind(letter: InformationLetter) -> str:
    return {"information": "Information nach § 134 GWB", "cancellation": "Aufhebung",
            "objection_answer": "Antwort auf Rüge"}[letter.kind.value]


def _review_sections(call: Call, names: _Names) -> list[Section]:
    from portal.review import models as rv

    lot_ids = [lot.id for lot in call.lots]
    numbers = {lot.id: lot.number for lot in call.lots}
    bids = {b.id: b for b in db.session.scalars(select(Bid).where(Bid.call_id == call.id).options(selectinload(Bid.organisation)))}
    panel = Section("panel", "Bewertungsgremium und Befangenheitserklärungen", empty="Noch niemand beauftragt.")
    for a in db.session.scalars(select(rv.ReviewAssignment).where(rv.ReviewAssignment.call_id == call.id).order_by(rv.ReviewAssignment.id)):
        what = "Vorsitz der Bewertung" if a.role.value == "chair" else f"Los {numbers.get(a.lot_id)}: Gutachter:in"
        panel.steps.append(Step(a.assigned_at, names(a.assigned_by_id), f"{what}: {names(a.user_id)} beauftragt"))
        if a.submitted_at:
            panel.steps.append(Step(a.submitted_at, names(a.user_id), f"Los {numbers.get(a.lot_id)}: Bewertung abgeschlossen"))
    for d in db.session.scalars(select(rv.ConflictDeclaration).where(rv.ConflictDeclaration.call_id == call.id)
                                .options(selectinload(rv.ConflictDeclaration.organisation))
                                .order_by(rv.ConflictDeclaration.id)):
        verdict = f"befangen ({d.kind.value if d.kind else ''}): {d.reason}" if d.conflict else "keine Befangenheit"
        panel.steps.append(Step(d.revised_at or d.declared_at, names(d.user_id),
                                f"Los {numbers.get(d.lot_id)}: Erklärung zu {d.organisation.name}", verdict))
    eligibility = Section("eligibility", "Prüfung der Eignung", empty="Noch keine Eignungsentscheidungen.")
    for e in db.session.scalars(select(rv.EligibilityDecision).where(rv.EligibilityDecision.bid_id.in_(list(bids)))
                                .order_by(rv.EligibilityDecision.id)):
        bid = bids[e.bid_id]
        eligibility.steps.append(Step(e.decided_at, names(e.decided_by_id),
                                      f"Los {numbers.get(bid.lot_id)}: {bid.organisation.name}, {e.criterion.code} "
                                      f"{'erfüllt' if e.met else 'nicht erfüllt'}", e.reason))
    reviews = Section("reviews", "Bewertungen (wer hat was mit welcher Begründung bewertet)", empty="Noch keine Bewertungen.")
    for s in db.session.scalars(select(rv.Score).where(rv.Score.lot_id.in_(lot_ids)).order_by(rv.Score.lot_id, rv.Score.bid_id, rv.Score.id)):
        bid = bids[s.bid_id]
        reviews.steps.append(Step(s.saved_at, names(s.reviewer_id),
                                  f"Los {numbers.get(s.lot_id)}: {bid.organisation.name}, {s.criterion.code}: {s.points} Punkte",
                                  s.justification))
    consolidation = Section("consolidation", "Konsolidierung durch den Vorsitz", empty="Noch keine Konsolidierung.")
    for c in db.session.scalars(select(rv.ConsolidatedScore).where(rv.ConsolidatedScore.lot_id.in_(lot_ids))
                                .order_by(rv.ConsolidatedScore.lot_id, rv.ConsolidatedScore.bid_id, rv.ConsolidatedScore.id)):
        bid = bids[c.bid_id]
        consolidation.steps.append(Step(c.set_at, names(c.set_by_id),
                                        f"Los {numbers.get(c.lot_id)}: {bid.organisation.name}, {c.criterion.code}: {c.points} Punkte",
                                        c.reason))
    for lr in db.session.scalars(select(rv.LotReview).where(rv.LotReview.lot_id.in_(lot_ids))):
        if lr.closed_at:
            consolidation.steps.append(Step(lr.closed_at, names(lr.closed_by_id), f"Los {numbers.get(lr.lot_id)}: Konsolidierung abgeschlossen"))
    for draw in db.session.scalars(select(rv.TieDraw).where(rv.TieDraw.lot_id.in_(lot_ids)).order_by(rv.TieDraw.id)):
        order = ", ".join(bids[b].organisation.name for b in draw.bid_order if b in bids)
        consolidation.steps.append(Step(draw.drawn_at, names(draw.drawn_by_id), f"Los {numbers.get(draw.lot_id)}: Losentscheid",
                                        f"Reihenfolge: {order}; Zeuge: {draw.witness}"))
    return [panel, eligibility, reviews, consolidation]


def event_label(event: AuditEvent) -> str:
    return action_label(event.action)

