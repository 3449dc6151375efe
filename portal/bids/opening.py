"""The opening of a call's bids (Öffnung, VgV § 55) and its record (Öffnungsprotokoll).

After the submission deadline one officer starts the opening and a second,
different officer confirms it. Only the confirmation unseals the bids for
authorised persons (`permissions.can_read_bid_contents`). The opening record
lists, per lot, every bid with the version that counts (the last submission
before the deadline), its receipt number, time and digest, and the withdrawn
bids. It is built from clear-text receipt data only, never from contents.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.accounts.permissions import is_officer
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.audit.transparency import checkpoint_after_commit
from portal.bids import canonical
from portal.bids.models import Bid, BidState, BidVersion, Opening
from portal.bids.permissions import opening_for
from portal.calls.models import Call, CallState
from portal.calls.services import set_call_state
from portal.calls.state import effective_state
from portal.core.errors import NotPermitted, Refused
from portal.core.time import transaction_now
from portal.extensions import db


@dataclass
class RecordEntry:
    organisation: str
    state: BidState
    version: BidVersion | None
    withdrawal: BidVersion | None


@dataclass
class RecordLot:
    number: int
    title: str
    bids: list[RecordEntry] = field(default_factory=list)
    withdrawn: list[RecordEntry] = field(default_factory=list)


def bid_counts(call: Call) -> dict[int, int]:
    """Bids that count, per lot number (only shown after the deadline)."""
    rows = db.session.execute(
        select(Bid.lot_id).where(Bid.call_id == call.id, Bid.state == BidState.SUBMITTED)
    ).scalars()
    by_lot = Counter(rows)
    return {lot.number: by_lot.get(lot.id, 0) for lot in call.lots}


def start_opening(call: Call, *, by: Any) -> Opening:
    """First officer: start the opening of `call` once the deadline has passed."""
    if not is_officer(by):
        raise NotPermitted(_l("Nur Mitarbeitende der Vergabestelle können die Öffnung einleiten."))
    at = transaction_now(db.session)
    if effective_state(call, at) != CallState.SUBMISSION_CLOSED:
        raise Refused(_l("Die Öffnung ist erst nach Ablauf der Frist für Interessenbekundungen möglich."))
    if opening_for(call) is not None:
        raise Refused(_l("Die Öffnung wurde bereits eingeleitet."))
    opening = Opening(call_id=call.id, started_at=at, started_by_id=by.id)
    try:
        with db.session.begin_nested():
            db.session.add(opening)
            db.session.flush()
    except IntegrityError:
        raise Refused(_l("Die Öffnung wurde bereits eingeleitet.")) from None
    record(AuditAction.BID_OPENING_STARTED, actor=by, subject=opening, public=True,
           data={"call": call.reference, "started_at": at})
    return opening


def confirm_opening(opening: Opening, *, by: Any) -> Opening:
    """Second officer: confirm the opening; the call moves to 'opened' and the record is fixed."""
    opening = db.session.scalar(
        select(Opening).where(Opening.id == opening.id).with_for_update().execution_options(populate_existing=True)
    )
    assert opening is not None
    if not is_officer(by):
        raise NotPermitted(_l("Nur Mitarbeitende der Vergabestelle können die Öffnung bestätigen."))
    if opening.is_confirmed:
        raise Refused(_l("Die Öffnung wurde bereits bestätigt."))
    if opening.started_by_id == by.id:
        raise Refused(_l("Die Öffnung muss von einer zweiten, anderen Person der Vergabestelle bestätigt werden "
                         "(Vier-Augen-Prinzip, § 55 VgV)."))
    call = opening.call
    at = transaction_now(db.session)
    if call.state == CallState.PUBLISHED:
        set_call_state(call, CallState.SUBMISSION_CLOSED, by=None, at=at)
    set_call_state(call, CallState.OPENED, by=by, at=at)
    opening.confirmed_at = at
    opening.confirmed_by_id = by.id
    db.session.flush()
    public = public_record_data(call, opening)
    opening.record_digest = canonical.digest(canonical.canonical_bytes(public))
    db.session.flush()
    record(AuditAction.BID_OPENING_CONFIRMED, actor=by, subject=opening, public=True,
           data={**public, "record_digest": opening.record_digest})
    # The opening is a public procedure step: outsiders get a signed checkpoint over it.
    checkpoint_after_commit()
    return opening


def opening_record(call: Call) -> list[RecordLot]:
    """Per lot: the bids that count (last submission before the deadline) and the withdrawn ones."""
    bids = db.session.scalars(
        select(Bid)
        .where(Bid.call_id == call.id, Bid.state != BidState.DRAFT)
        .options(selectinload(Bid.versions), selectinload(Bid.organisation))
    ).all()
    lots = {lot.id: RecordLot(number=lot.number, title=lot.title) for lot in call.lots}
    for bid in sorted(bids, key=lambda b: b.organisation.name):
        target = lots[bid.lot_id]
        latest = bid.latest_version
        if bid.state == BidState.SUBMITTED:
            target.bids.append(RecordEntry(bid.organisation.name, bid.state, latest, None))
        else:
            target.withdrawn.append(RecordEntry(bid.organisation.name, bid.state, bid.latest_submission, latest))
    return [lots[lot.id] for lot in call.lots]


def _entry(version: BidVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {"receipt": version.receipt_number, "version": version.number,
            "submitted_at": _utc(version.submitted_at), "digest": version.digest}


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def public_record_data(call: Call, opening: Opening) -> dict[str, Any]:
    """The opening record without names or contents, for the public audit event."""
    return {
        "call": call.reference,
        "started_at": _utc(opening.started_at),
        "confirmed_at": _utc(opening.confirmed_at) if opening.confirmed_at else None,
        "lots": [
            {
                "lot": lot.number,
                "bids": [_entry(e.version) for e in lot.bids],
                "withdrawn": [_entry(e.withdrawal) for e in lot.withdrawn],
            }
            for lot in opening_record(call)
        ],
    }
