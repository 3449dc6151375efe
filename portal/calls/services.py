"""Preparing, publishing, closing and cancelling calls; lots, criteria, documents.

Every function here is the only code that makes its change: it takes the
acting user as keyword-only `by`, flushes but never commits, and records the
audit event in the same transaction. Draft work is recorded as internal
events, everything that happens to a published call as public events.
Amendments live in `amendments.py`, bidder questions in `questions.py`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.audit.transparency import checkpoint_after_commit
from portal.calls.models import (
    TIE_BREAK_LOT,
    TRANSITIONS,
    Call,
    CallState,
    Criterion,
    CriterionKind,
    Document,
    Lot,
)
from portal.calls.notifications import notify_cancellation
from portal.core.errors import Refused
from portal.core.i18n import datetime_berlin
from portal.core.pdf import PdfRejected, inspect_pdf, safe_display_filename
from portal.core.time import now
from portal.extensions import db

#: The question deadline must lie at least this long before the submission deadline,
#: and an amendment after bids came in must leave at least this long from now.
MIN_QUESTION_GAP = timedelta(days=6)
MIN_EXTENSION = timedelta(days=6)
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024

CALL_FIELDS = (
    "reference", "title", "summary", "description", "funding_note", "contact",
    "question_deadline", "submission_deadline", "decision_planned_on", "standstill_days",
    "scale_min", "scale_max", "scale_labels", "formula_kind", "formula_text", "tie_break_text", "tie_break",
    "consultation_id",
)
LOT_FIELDS = ("number", "title", "region", "municipalities", "positions", "budget", "description")
CRITERION_FIELDS = ("kind", "code", "title", "description", "evidence", "weight", "lot_id")
HUNDRED = Decimal(100)


# --------------------------------------------------------------------------
# The one door for state changes
# --------------------------------------------------------------------------

_STATE_ACTIONS = {
    CallState.PUBLISHED: AuditAction.CALL_PUBLISHED,
    CallState.CANCELLED: AuditAction.CALL_CANCELLED,
    CallState.SUBMISSION_CLOSED: AuditAction.CALL_SUBMISSION_CLOSED,
}


#: Sent after every state change of a call, inside its transaction:
#: ``call_state_changed.send(call, previous=…, target=…, by=…)``. Later domains
#: (awards: cancellation letters) connect to it; calls does not import them.
call_state_changed = Namespace().signal("call-state-changed")


#: Public procedure steps after which a signed checkpoint is issued (docs/transparency.md);
#: amendments and published answers issue one too.
CHECKPOINT_STEPS = frozenset({CallState.PUBLISHED, CallState.CANCELLED})


def set_call_state(call: Call, target: CallState, *, by: Any, reason: str | None = None, at: datetime | None = None) -> Call:
    """Move `call` to `target` if `TRANSITIONS` allows it; record and notify.

    Publication stamps `published_at`; cancellation needs a reason, which is
    shown publicly, and notifies followers and bidders.
    """
    at = at or now()
    if target not in TRANSITIONS[call.state]:
        raise Refused(_l("Ein Aufruf im Zustand „%(state)s“ kann nicht in den Zustand „%(target)s“ wechseln.", state=call.state.value, target=target.value))
    previous = call.state
    data: dict[str, Any] = {"reference": call.reference, "from": previous, "to": target}
    if target == CallState.PUBLISHED:
        call.published_at = at
    if target == CallState.CANCELLED:
        reason = (reason or "").strip()
        if not reason:
            raise Refused(_l("Bitte geben Sie einen Grund für die Aufhebung an; er wird veröffentlicht."), field="reason")
        call.cancel_reason = reason
        call.cancelled_at = at
        data["reason"] = reason
    call.state = target
    db.session.flush()
    # A draft that is cancelled was never public; everything else is.
    public = previous != CallState.DRAFT or target == CallState.PUBLISHED
    record(_STATE_ACTIONS.get(target, AuditAction.CALL_STATE_CHANGED), actor=by, subject=call, data=data, public=public)
    if public and target in CHECKPOINT_STEPS:
        checkpoint_after_commit()
    if target == CallState.CANCELLED and previous != CallState.DRAFT:
        notify_cancellation(call)
    call_state_changed.send(call, previous=previous, target=target, by=by)
    return call


def publish_call(call: Call, *, by: Any, at: datetime | None = None) -> Call:
    """Publish a draft once every item of `publication_checklist` passes."""
    at = at or now()
    problems = [item for item in publication_checklist(call, at) if not item.ok]
    if problems:
        raise Refused(_l("Der Aufruf kann noch nicht veröffentlicht werden: %(problems)s",
                         problems=" ".join(str(p.detail) for p in problems)))
    return set_call_state(call, CallState.PUBLISHED, by=by, at=at)


def cancel_call(call: Call, *, reason: str, by: Any, at: datetime | None = None) -> Call:
    return set_call_state(call, CallState.CANCELLED, by=by, reason=reason, at=at)


def close_due_calls(*, at: datetime | None = None) -> list[Call]:
    """Persist 'submission closed' for published calls whose deadline passed.

    The state already counts as closed from the deadline on (`effective_state`);
    this sweep writes the transition and its public audit event.
    """
    at = at or now()
    due = db.session.scalars(
        select(Call).where(Call.state == CallState.PUBLISHED, Call.submission_deadline <= at).order_by(Call.id)
    ).all()
    for call in due:
        set_call_state(call, CallState.SUBMISSION_CLOSED, by=None, at=at)
    return list(due)


# --------------------------------------------------------------------------
# Drafts: call, lots, criteria
# --------------------------------------------------------------------------


def ensure_draft(call: Call, *, by: Any, what: str) -> None:
    """Refuse any direct change to a published call, and record the attempt.

    The normal UI never offers such a change; reaching this means a crafted
    or stale request, which the audit log keeps (internally).
    """
    if call.state == CallState.DRAFT:
        return
    record(AuditAction.CALL_CHANGE_REFUSED, actor=by, subject=call, data={"what": what, "state": call.state})
    raise CallFrozen(_l("Der Aufruf ist veröffentlicht: Lose, Kriterien, Gewichte, Formel und Fristen sind festgeschrieben. "
                        "Änderungen sind nur über eine Änderungsbekanntmachung möglich."))


class CallFrozen(Refused):
    """A direct change to a published call was refused (and recorded)."""


def _check_deadlines(values: dict[str, Any], at: datetime, *, strict: bool) -> None:
    q, s, d = values.get("question_deadline"), values.get("submission_deadline"), values.get("decision_planned_on")
    if strict:
        if s is None:
            raise Refused(_l("Bitte geben Sie die Frist für Interessenbekundungen an."), field="submission_deadline")
        if q is None:
            raise Refused(_l("Bitte geben Sie die Frist für Fragen an."), field="question_deadline")
    for key in ("question_deadline", "submission_deadline"):
        if values.get(key) is not None and values[key] <= at:
            raise Refused(_l("Die Frist muss in der Zukunft liegen (angegeben: %(when)s).", when=datetime_berlin(values[key])), field=key)
    if q is not None and s is not None and s - q < MIN_QUESTION_GAP:
        raise Refused(_l("Die Frist für Fragen muss mindestens 6 Tage vor der Frist für Interessenbekundungen liegen "
                         "(spätestens %(latest)s).", latest=datetime_berlin(s - MIN_QUESTION_GAP)), field="question_deadline")
    if d is not None and s is not None and d < s.date():
        raise Refused(_l("Die geplante Entscheidung kann nicht vor der Frist für Interessenbekundungen liegen."), field="decision_planned_on")


def _check_reference(reference: str, call: Call | None) -> None:
    stmt = select(func.count()).select_from(Call).where(func.lower(Call.reference) == reference.lower())
    if call is not None and call.id is not None:
        stmt = stmt.where(Call.id != call.id)
    if db.session.scalar(stmt):
        raise Refused(_l("Das Aktenzeichen „%(ref)s“ ist bereits vergeben.", ref=reference), field="reference")


def _check_consultation(consultation_id: int | None) -> None:
    if consultation_id is None:
        return
    from portal.consultation.models import Consultation

    if db.session.get(Consultation, consultation_id) is None:
        raise Refused(_l("Diese Beteiligung gibt es nicht. Bitte wählen Sie eine aus der Liste."), field="consultation_id")


def _check_scale(values: dict[str, Any]) -> None:
    low, high = values.get("scale_min", 0), values.get("scale_max", 5)
    if high <= low:
        raise Refused(_l("Die Bewertungsskala braucht mindestens zwei Punkte (höchster Wert größer als niedrigster)."), field="scale_max")


def create_call(*, by: Any, at: datetime | None = None, **values: Any) -> Call:
    """Create a draft call (internal audit event)."""
    unknown = set(values) - set(CALL_FIELDS)
    if unknown:
        raise TypeError(f"unknown call fields: {sorted(unknown)}")
    at = at or now()
    _check_reference(values["reference"], None)
    _check_deadlines(values, at, strict=False)
    _check_scale(values)
    _check_consultation(values.get("consultation_id"))
    call = Call(created_by_id=getattr(by, "id", None), **values)
    db.session.add(call)
    db.session.flush()
    record(AuditAction.CALL_CREATED, actor=by, subject=call, data={"reference": call.reference})
    return call


def update_call(call: Call, *, by: Any, at: datetime | None = None, **values: Any) -> Call:
    """Change a draft call's fields; a published call goes through `amend_call`."""
    ensure_draft(call, by=by, what="call")
    at = at or now()
    if "reference" in values:
        _check_reference(values["reference"], call)
    merged = {k: values.get(k, getattr(call, k)) for k in CALL_FIELDS}
    _check_deadlines(merged, at, strict=False)
    _check_scale(merged)
    _check_consultation(merged["consultation_id"])
    changed = sorted(k for k, v in values.items() if getattr(call, k) != v)
    for key, value in values.items():
        setattr(call, key, value)
    record(AuditAction.CALL_DRAFT_CHANGED, actor=by, subject=call, data={"what": "call", "fields": changed})
    return call


def _check_lot_number(call: Call, number: int, lot: Lot | None) -> None:
    if any(other.number == number and other is not lot for other in call.lots):
        raise Refused(_l("Es gibt bereits ein Los mit der Nummer %(n)s.", n=number), field="number")


def add_lot(call: Call, *, by: Any, **values: Any) -> Lot:
    ensure_draft(call, by=by, what="lot")
    _check_lot_number(call, values["number"], None)
    lot = Lot(**values)
    call.lots.append(lot)
    db.session.flush()
    record(AuditAction.CALL_DRAFT_CHANGED, actor=by, subject=call, data={"what": "lot", "lot": lot.number, "change": "added"})
    return lot


def update_lot(lot: Lot, *, by: Any, **values: Any) -> Lot:
    ensure_draft(lot.call, by=by, what="lot")
    if "number" in values:
        _check_lot_number(lot.call, values["number"], lot)
    for key, value in values.items():
        setattr(lot, key, value)
    record(AuditAction.CALL_DRAFT_CHANGED, actor=by, subject=lot.call, data={"what": "lot", "lot": lot.number, "change": "changed"})
    return lot


def delete_lot(lot: Lot, *, by: Any) -> None:
    call = lot.call
    ensure_draft(call, by=by, what="lot")
    number = lot.number
    call.lots.remove(lot)
    db.session.flush()
    record(AuditAction.CALL_DRAFT_CHANGED, actor=by, subject=call, data={"what": "lot", "lot": number, "change": "deleted"})


def criterion_set(call: Call, lot_id: int | None) -> list[Criterion]:
    """The criteria defined for exactly this scope (call-wide when `lot_id` is None)."""
    return [c for c in call.criteria if c.lot_id == lot_id]


def weight_total(criteria: Iterable[Criterion]) -> Decimal:
    return sum((c.weight or Decimal(0) for c in criteria if c.kind == CriterionKind.SCORED), Decimal(0))


def _check_criterion(call: Call, values: dict[str, Any], criterion: Criterion | None) -> None:
    lot_id = values.get("lot_id")
    if lot_id is not None and not any(lot.id == lot_id for lot in call.lots):
        raise Refused(_l("Das gewählte Los gehört nicht zu diesem Aufruf."), field="lot_id")
    siblings = [c for c in criterion_set(call, lot_id) if c is not criterion]
    code = values["code"].strip()
    if any(c.code.lower() == code.lower() for c in siblings):
        raise Refused(_l("Der Kürzel „%(code)s“ wird in diesem Kriteriensatz schon verwendet.", code=code), field="code")
    if values["kind"] == CriterionKind.SCORED:
        weight = values.get("weight")
        if weight is None or weight <= 0:
            raise Refused(_l("Das Gewicht muss größer als 0 % sein."), field="weight")
        total = weight_total(siblings) + weight
        if total > HUNDRED:
            raise Refused(_l("Mit diesem Gewicht wäre die Summe %(total)s %%; zusammen sind genau 100 %% erlaubt "
                             "(noch verfügbar: %(left)s %%).", total=_pct(total), left=_pct(HUNDRED - weight_total(siblings))),
                          field="weight")
    else:
        values["weight"] = None


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def add_criterion(call: Call, *, by: Any, **values: Any) -> Criterion:
    ensure_draft(call, by=by, what="criterion")
    _check_criterion(call, values, None)
    values["code"] = values["code"].strip()
    position = len(criterion_set(call, values.get("lot_id"))) + 1
    criterion = Criterion(position=position, **values)
    call.criteria.append(criterion)
    db.session.flush()
    record(AuditAction.CALL_DRAFT_CHANGED, actor=by, subject=call,
           data={"what": "criterion", "code": criterion.code, "change": "added"})
    return criterion


def update_criterion(criterion: Criterion, *, by: Any, **values: Any) -> Criterion:
    ensure_draft(criterion.call, by=by, what="criterion")
    merged = {k: values.get(k, getattr(criterion, k)) for k in CRITERION_FIELDS}
    _check_criterion(criterion.call, merged, criterion)
    merged["code"] = merged["code"].strip()
    for key, value in merged.items():
        setattr(criterion, key, value)
    record(AuditAction.CALL_DRAFT_CHANGED, actor=by, subject=criterion.call,
           data={"what": "criterion", "code": criterion.code, "change": "changed"})
    return criterion


def delete_criterion(criterion: Criterion, *, by: Any) -> None:
    call = criterion.call
    ensure_draft(call, by=by, what="criterion")
    code = criterion.code
    call.criteria.remove(criterion)
    db.session.flush()
    record(AuditAction.CALL_DRAFT_CHANGED, actor=by, subject=call, data={"what": "criterion", "code": code, "change": "deleted"})


# --------------------------------------------------------------------------
# Validation for publication
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckItem:
    key: str
    label: Any
    ok: bool
    detail: Any = ""


def criteria_problems(call: Call) -> list[Any]:
    """Why the criteria are not publishable (empty when fine), per criteria set."""
    problems: list[Any] = []
    scopes: list[tuple[int | None, Any]] = []
    if not call.lots or any(not criterion_set(call, lot.id) for lot in call.lots):
        scopes.append((None, _l("alle Lose")))
    scopes += [(lot.id, _l("Los %(n)s", n=lot.number)) for lot in call.lots if criterion_set(call, lot.id)]
    for lot_id, scope in scopes:
        criteria = criterion_set(call, lot_id)
        scored = [c for c in criteria if c.kind == CriterionKind.SCORED]
        if not scored:
            problems.append(_l("Es gibt keine Bewertungskriterien für %(scope)s.", scope=scope))
            continue
        total = weight_total(scored)
        if total != HUNDRED:
            problems.append(_l("Die Gewichte für %(scope)s ergeben %(total)s %% statt genau 100 %%.", scope=scope, total=_pct(total)))
        if any(c.weight is None or c.weight <= 0 for c in scored):
            problems.append(_l("Jedes Gewicht muss größer als 0 % sein."))
        codes = [c.code.lower() for c in criteria]
        if len(codes) != len(set(codes)):
            problems.append(_l("Die Kürzel der Kriterien für %(scope)s sind nicht eindeutig.", scope=scope))
    return problems


def tie_break_problems(call: Call) -> list[Any]:
    codes = {c.code for c in call.criteria if c.kind == CriterionKind.SCORED}
    steps = list(call.tie_break or [])
    problems: list[Any] = []
    if not call.formula_text.strip() or not call.tie_break_text.strip():
        problems.append(_l("Formel und Regel bei Gleichstand müssen in Worten beschrieben sein."))
    if not steps or steps[-1] != TIE_BREAK_LOT:
        problems.append(_l("Die Regel bei Gleichstand muss mit dem Los („Los“) enden."))
    unknown = [s for s in steps if s != TIE_BREAK_LOT and s not in codes]
    if unknown:
        problems.append(_l("Die Regel bei Gleichstand nennt unbekannte Kriterien: %(codes)s.", codes=", ".join(unknown)))
    return problems


def scale_problems(call: Call) -> list[Any]:
    if call.scale_max <= call.scale_min:
        return [_l("Die Bewertungsskala braucht mindestens zwei Punkte.")]
    labels = call.scale_labels or {}
    missing = [str(p) for p in range(call.scale_min, call.scale_max + 1) if not str(labels.get(str(p), "")).strip()]
    if missing:
        return [_l("Auf der Skala fehlt eine Beschreibung für die Punkte %(points)s.", points=", ".join(missing))]
    return []


def deadline_problems(call: Call, at: datetime) -> list[Any]:
    values = {k: getattr(call, k) for k in ("question_deadline", "submission_deadline", "decision_planned_on")}
    try:
        _check_deadlines(values, at, strict=True)
    except Refused as exc:
        return [exc.message]
    return []


def publication_checklist(call: Call, at: datetime | None = None) -> list[CheckItem]:
    """What must hold before a draft may be published; the officer page shows it."""
    at = at or now()
    texts_ok = all(getattr(call, k).strip() for k in ("title", "summary", "description", "contact"))
    items = [
        CheckItem("texts", _l("Titel, Kurzbeschreibung, Beschreibung und Kontakt"), texts_ok,
                  "" if texts_ok else _l("Titel, Kurzbeschreibung, Beschreibung und Kontakt müssen ausgefüllt sein.")),
        CheckItem("lots", _l("Mindestens ein Los"), bool(call.lots), "" if call.lots else _l("Es gibt noch kein Los.")),
    ]
    for key, label, problems in (
        ("criteria", _l("Kriterien und Gewichte (Summe genau 100 %)"), criteria_problems(call)),
        ("scale", _l("Bewertungsskala mit Beschreibung jedes Punkts"), scale_problems(call)),
        ("formula", _l("Formel und Regel bei Gleichstand"), tie_break_problems(call)),
        ("deadlines", _l("Fristen in der Zukunft, Fragen mindestens 6 Tage vor Abgabe"), deadline_problems(call, at)),
    ):
        items.append(CheckItem(key, label, not problems, " ".join(str(p) for p in problems)))
    return items


# --------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------


def _accept_pdf(data: bytes) -> tuple[str, int]:
    limit = current_app.config.get("CALL_DOCUMENT_MAX_BYTES", DOCUMENT_MAX_BYTES)
    try:
        info = inspect_pdf(data, max_bytes=limit)
    except PdfRejected as exc:
        raise Refused(exc.message, field="file") from exc
    return info.sha256, info.size


def add_document(call: Call, *, title: str, filename: str, data: bytes, by: Any, lot: Lot | None = None,
                 replaces: Document | None = None) -> Document:
    """Attach a checked PDF to a call (or lot). Public event once the call is public."""
    if call.state in {CallState.CANCELLED, CallState.AWARDED}:
        raise Refused(_l("Zu einem abgeschlossenen Aufruf können keine Dokumente mehr hinzugefügt werden."))
    sha256, size = _accept_pdf(data)
    document = Document(
        title=title.strip(), filename=safe_display_filename(filename), sha256=sha256, size=size, content=data,
        lot_id=lot.id if lot else None, uploaded_by_id=getattr(by, "id", None), uploaded_at=now(),
    )
    call.documents.append(document)
    db.session.flush()
    data_out: dict[str, Any] = {"reference": call.reference, "title": document.title, "sha256": sha256, "size": size}
    action = AuditAction.CALL_DOCUMENT_ADDED
    if replaces is not None:
        replaces.superseded_at = document.uploaded_at
        replaces.superseded_by_id = document.id
        data_out.update(replaces_id=replaces.id, replaces_sha256=replaces.sha256)
        action = AuditAction.CALL_DOCUMENT_REPLACED
    record(action, actor=by, subject=document, data=data_out, public=call.is_public)
    return document


def replace_document(old: Document, *, filename: str, data: bytes, by: Any, title: str | None = None) -> Document:
    """Upload a new version; the old one stays listed as superseded."""
    if old.superseded_at is not None:
        raise Refused(_l("Dieses Dokument wurde bereits ersetzt; bitte ersetzen Sie die aktuelle Fassung."))
    return add_document(old.call, title=title or old.title, filename=filename, data=data, by=by, lot=old.lot, replaces=old)
