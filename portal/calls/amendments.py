"""Amendments (Änderungsbekanntmachungen): the only way a published call changes.

`amendable_fields(call)` lists what an amendment may change, each with a
stable path ("call.submission_deadline", "lot.5.positions",
"criterion.<id>.weight"). `amend_call` applies the changed values, stores the
exact before/after of each, records a public audit event and notifies
followers and bidders.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.audit.actions import AuditAction
from portal.audit.services import record, to_jsonable
from portal.audit.transparency import checkpoint_after_commit
from portal.calls import bidding
from portal.calls.models import Amendment, Call, CallState, CriterionKind
from portal.calls.notifications import notify_amendment
from portal.calls.services import HUNDRED, MIN_EXTENSION, _check_deadlines, _pct
from portal.calls.state import effective_state
from portal.core.errors import Refused
from portal.core.i18n import datetime_berlin
from portal.core.time import now
from portal.extensions import db

#: kind -> how a value is shown (and which form field edits it)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KINDS = ("line", "text", "datetime", "date", "int", "decimal", "decimal_optional", "list")

ATTRIBUTE_LABELS = {
    "title": _l("Titel"),
    "summary": _l("Kurzbeschreibung"),
    "description": _l("Beschreibung"),
    "funding_note": _l("Förderung"),
    "contact": _l("Kontakt"),
    "question_deadline": _l("Frist für Fragen"),
    "submission_deadline": _l("Frist für Interessenbekundungen"),
    "decision_planned_on": _l("Geplante Entscheidung"),
    "standstill_days": _l("Stillhaltefrist (Tage)"),
    "formula_text": _l("Formel"),
    "tie_break_text": _l("Regel bei Gleichstand"),
    "region": _l("Region"),
    "municipalities": _l("Kommunen"),
    "positions": _l("Stellen"),
    "budget": _l("Budget (Euro)"),
    "evidence": _l("Nachweis"),
    "weight": _l("Gewicht (%)"),
}


@dataclass(frozen=True)
class Amendable:
    path: str
    attribute: str
    kind: str
    obj: Any
    #: changes to criteria, weights, formula are refused once bids exist
    criteria_related: bool = False
    lot_number: int | None = None
    criterion_code: str | None = None

    @property
    def label(self) -> str:
        return change_label({"attribute": self.attribute, "lot": self.lot_number, "criterion": self.criterion_code})

    @property
    def value(self) -> Any:
        return getattr(self.obj, self.attribute)

    @property
    def group(self) -> str:
        return self.path.rsplit(".", 1)[0]

    @property
    def group_label(self) -> str:
        if self.criterion_code:
            return self.criterion_code + (f" ({_l('Los %(n)s', n=self.lot_number)})" if self.lot_number else "")
        if self.lot_number:
            return str(_l("Los %(n)s", n=self.lot_number))
        return str(_l("Aufruf"))


def change_label(change: dict[str, Any]) -> str:
    """'Los 5: Stellen', 'K1: Gewicht (%)' – in the reader's language, from a stored change row."""
    text = str(ATTRIBUTE_LABELS.get(change.get("attribute", ""), change.get("attribute", "")))
    code, lot = change.get("criterion"), change.get("lot")
    if code and lot:
        return f"{code} ({_l('Los %(n)s', n=lot)}): {text}"
    if code:
        return f"{code}: {text}"
    if lot:
        return f"{_l('Los %(n)s', n=lot)}: {text}"
    return text


def amendable_fields(call: Call) -> list[Amendable]:
    fields = [
        Amendable("call.title", "title", "line", call),
        Amendable("call.summary", "summary", "text", call),
        Amendable("call.description", "description", "text", call),
        Amendable("call.funding_note", "funding_note", "text", call),
        Amendable("call.contact", "contact", "text", call),
        Amendable("call.question_deadline", "question_deadline", "datetime", call),
        Amendable("call.submission_deadline", "submission_deadline", "datetime", call),
        Amendable("call.decision_planned_on", "decision_planned_on", "date", call),
        Amendable("call.standstill_days", "standstill_days", "int", call),
        Amendable("call.formula_text", "formula_text", "text", call, True),
        Amendable("call.tie_break_text", "tie_break_text", "text", call, True),
    ]
    for lot in call.lots:
        fields += [
            Amendable(f"lot.{lot.number}.{attribute}", attribute, kind, lot, lot_number=lot.number)
            for attribute, kind in (("title", "line"), ("region", "line"), ("municipalities", "list"),
                                    ("positions", "decimal"), ("budget", "decimal_optional"), ("description", "text"))
        ]
    lot_numbers = {lot.id: lot.number for lot in call.lots}
    for criterion in call.criteria:
        extra = "weight" if criterion.kind == CriterionKind.SCORED else "evidence"
        fields += [
            Amendable(f"criterion.{criterion.id}.{attribute}", attribute, kind, criterion, True,
                      lot_numbers.get(criterion.lot_id) if criterion.lot_id else None, criterion.code)
            for attribute, kind in (("title", "line"), ("description", "text"), (extra, "decimal" if extra == "weight" else "text"))
        ]
    return fields


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return a == b


def display_value(kind: str, value: Any) -> str:
    """How an amendment's stored before/after value reads on the public page."""
    if value in (None, "", []):
        return "–"
    if kind == "datetime":
        return datetime_berlin(datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value)
    if kind == "date":
        parsed = date.fromisoformat(value) if isinstance(value, str) else value
        return parsed.strftime("%d.%m.%Y")
    if kind in {"decimal", "decimal_optional"}:
        return _pct(Decimal(str(value)))
    if kind == "list":
        return ", ".join(value)
    return str(value)


def amend_call(call: Call, *, changes: dict[str, Any], reason: str, by: Any, at: datetime | None = None) -> Amendment:
    """Publish an amendment that sets the fields in `changes` (path -> new value).

    Refused unless the call is open; without a reason; when nothing changes;
    when criteria, weights or formula would change after the first bid was
    submitted; and, if bids exist, unless the submission deadline is extended
    to at least six days from now. Weights must still add up to 100.
    """
    at = at or now()
    if effective_state(call, at) != CallState.PUBLISHED:
        raise Refused(_l("Nur ein veröffentlichter Aufruf vor Ablauf der Frist kann geändert werden."))
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Bitte begründen Sie die Änderung; die Begründung wird veröffentlicht."), field="reason")
    fields = {f.path: f for f in amendable_fields(call)}
    unknown = set(changes) - set(fields)
    if unknown:
        raise Refused(_l("Diese Angaben können nicht geändert werden: %(fields)s", fields=", ".join(sorted(unknown))))
    changed = [(fields[path], value) for path, value in changes.items() if not _same(fields[path].value, value)]
    if not changed:
        raise Refused(_l("Die Änderungsbekanntmachung enthält keine Änderung."))
    bids_exist = bidding.has_submitted_bids(call)
    if bids_exist:
        for field, _value in changed:
            if field.criteria_related:
                raise Refused(_l("Kriterien, Gewichte und Formel können nicht mehr geändert werden, weil bereits "
                                 "Interessenbekundungen eingereicht wurden."), field=field.path)
        new_deadline = changes.get("call.submission_deadline")
        if new_deadline is None or new_deadline < at + MIN_EXTENSION or new_deadline <= call.submission_deadline:
            raise Refused(_l("Es liegen bereits Interessenbekundungen vor: Die Frist muss verlängert werden, auf mindestens "
                             "%(earliest)s.", earliest=datetime_berlin(max(at + MIN_EXTENSION, call.submission_deadline))),
                          field="call.submission_deadline")
    _validate(call, changed, at)
    rows = []
    for field, value in changed:
        rows.append({"field": field.path, "attribute": field.attribute, "lot": field.lot_number,
                     "criterion": field.criterion_code, "kind": field.kind,
                     "before": to_jsonable(field.value), "after": to_jsonable(value)})
        setattr(field.obj, field.attribute, value)
    amendment = Amendment(number=len(call.amendments) + 1, reason=reason, published_at=at,
                          published_by_id=getattr(by, "id", None), changes=rows)
    call.amendments.append(amendment)
    db.session.flush()
    record(AuditAction.CALL_AMENDED, actor=by, subject=call, public=True,
           data={"reference": call.reference, "number": amendment.number, "reason": reason, "changes": rows})
    checkpoint_after_commit()
    notify_amendment(call, amendment, bids_exist=bids_exist)
    return amendment


def _validate(call: Call, changed: list[tuple[Amendable, Any]], at: datetime) -> None:
    dates = {k: getattr(call, k) for k in ("question_deadline", "submission_deadline", "decision_planned_on")}
    touched = set()
    for field, value in changed:
        if field.obj is call and field.attribute in dates:
            dates[field.attribute] = value
            touched.add(field.attribute)
        if field.kind in {"line"} and not str(value or "").strip():
            raise Refused(_l("„%(label)s“ darf nicht leer sein.", label=field.label), field=field.path)
        if field.attribute == "positions" and (value is None or value <= 0):
            raise Refused(_l("Die Zahl der Stellen muss größer als 0 sein."), field=field.path)
        if field.attribute == "weight" and (value is None or value <= 0):
            raise Refused(_l("Das Gewicht muss größer als 0 % sein."), field=field.path)
    if touched:
        # Only the changed deadlines must lie in the future; the order holds for all.
        try:
            _check_deadlines({k: (v if k in touched else None) for k, v in dates.items()}, at, strict=False)
            _check_deadlines(dates, EPOCH, strict=True)
        except Refused as exc:
            exc.field = f"call.{exc.field}" if exc.field else None
            raise
    new_weights = {id(f.obj): v for f, v in changed if f.attribute == "weight"}
    if new_weights:
        for lot_id in {c.lot_id for c in call.criteria}:
            scored = [c for c in call.criteria if c.lot_id == lot_id and c.kind == CriterionKind.SCORED]
            total = sum((new_weights.get(id(c), c.weight) or Decimal(0) for c in scored), Decimal(0))
            if scored and total != HUNDRED:
                raise Refused(_l("Die Gewichte ergäben zusammen %(total)s %% statt genau 100 %%.", total=_pct(total)),
                              field=next(f.path for f, _ in changed if f.attribute == "weight"))
