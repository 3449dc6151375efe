"""The only door to sealed bid contents (EU Directive 2014/24/EU, Annex IV (b)–(g)).

Everything a bidder writes or uploads is sealed with the call's data key.
`read_draft`, `read_version` and `read_attachment` are the only functions
that decrypt, and each first asks `can_read_bid_contents`: the bidding
organisation's own members may always read their bid; anybody else only
after the opening was confirmed by a second officer, and only if authorised.
Every refused attempt raises `SealedAccessRefused` *and* writes an internal
audit event; the caller commits it (see `views.refuse_sealed`).
"""
from __future__ import annotations

import json
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.bids.models import Bid, BidAttachment, BidVersion, CallKey
from portal.bids.permissions import can_read_bid_contents, is_own_bid
from portal.core import sealing
from portal.core.errors import NotPermitted
from portal.core.time import now
from portal.extensions import db


class SealedAccessRefused(NotPermitted):
    """Somebody tried to read a sealed bid; the attempt has been recorded.

    `attempt` holds the audit record's arguments, so that a caller whose
    commit failed can write it again in a fresh transaction (`record_again`).
    """

    def __init__(self, message: Any, *, attempt: dict[str, Any]) -> None:
        super().__init__(message)
        self.attempt = attempt

    def record_again(self) -> None:
        record(AuditAction.BID_ACCESS_REFUSED, **self.attempt)


def master_key() -> sealing.MasterKey:
    return sealing.MasterKey.from_text(current_app.config["BID_ENCRYPTION_KEY"])


def _scope(call_id: int) -> str:
    return f"call:{call_id}"


def data_key(call_id: int, *, create: bool = False) -> bytes:
    """The call's data key in clear (memory only); created on first use.

    Two first submissions to one call may race to create the key: the insert
    does nothing on conflict, and both then read the one row that won.
    """
    row = db.session.get(CallKey, call_id)
    if row is None:
        if not create:
            raise sealing.SealError(f"no data key for call {call_id}")
        master = master_key()
        values = {
            "call_id": call_id,
            "master_key_id": master.key_id,
            "wrapped_key": sealing.new_wrapped_data_key(master, _scope(call_id)),
            "created_at": now(),
        }
        dialect = db.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        db.session.execute(insert(CallKey).values(**values).on_conflict_do_nothing(index_elements=["call_id"]))
        row = db.session.get(CallKey, call_id, populate_existing=True)
        assert row is not None
    return sealing.unwrap_data_key(master_key(), _scope(call_id), row.wrapped_key)


def seal_json(call_id: int, value: Any, *, place: str) -> bytes:
    data = json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return sealing.seal(data_key(call_id, create=True), data, place=place)


def seal_bytes(call_id: int, data: bytes, *, place: str) -> bytes:
    return sealing.seal(data_key(call_id, create=True), data, place=place)


# --------------------------------------------------------------------------
# The one guarded door and its thin wrappers
# --------------------------------------------------------------------------


def refuse_access(user: Any, bid: Bid, *, what: str, subject: Any) -> None:
    """Record an attempt to reach a sealed bid (internal audit event) and refuse it."""
    attempt = {
        "actor": user.id if getattr(user, "is_authenticated", False) else None,
        "subject": (getattr(subject, "audit_subject_type", None) or subject.__tablename__, subject.id),
        "data": {"what": what, "bid": bid.id, "call": bid.call_id},
    }
    record(AuditAction.BID_ACCESS_REFUSED, **attempt)
    raise SealedAccessRefused(
        _l(
            "Diese Interessenbekundung ist versiegelt. Sie kann erst nach der Öffnung durch zwei "
            "Mitarbeitende der Vergabestelle gelesen werden. Der Zugriffsversuch wurde protokolliert."
        ),
        attempt=attempt,
    )


def unseal_for(user: Any, bid: Bid, blob: bytes, *, place: str, what: str, subject: Any) -> bytes:
    """Decrypt `blob` of `bid` for `user`, or record the attempt and refuse.

    The only function in the portal that decrypts bid contents.
    """
    if not can_read_bid_contents(user, bid):
        refuse_access(user, bid, what=what, subject=subject)
    if not is_own_bid(user, bid):
        # Opened data stays traceable: every read by the authority is logged.
        record(AuditAction.BID_CONTENT_READ, actor=user, subject=subject, data={"what": what, "bid": bid.id})
    return sealing.unseal(data_key(bid.call_id), blob, place=place)


EMPTY_DRAFT: dict[str, Any] = {"answers": {}, "declarations": {}, "contact": {}}


def draft_place(bid: Bid) -> str:
    return f"bid:{bid.id}:draft"


def read_draft(bid: Bid, *, user: Any) -> dict[str, Any]:
    """The working copy: {"answers": {criterion_id: text}, "declarations": {id: bool}, "contact": {...}}."""
    if bid.sealed_draft is None:
        return {key: dict(value) for key, value in EMPTY_DRAFT.items()}
    data = unseal_for(user, bid, bid.sealed_draft, place=draft_place(bid), what="draft", subject=bid)
    return json.loads(data)


def read_version(version: BidVersion, *, user: Any) -> bytes:
    """The canonical document of `version` (its SHA-256 is the receipt digest)."""
    return unseal_for(user, version.bid, version.sealed_content, place=version.place, what="version", subject=version)


def read_attachment_meta(attachment: BidAttachment, *, user: Any) -> dict[str, Any]:
    """{"title": ..., "filename": ...} of an attachment."""
    data = unseal_for(
        user, attachment.bid, attachment.sealed_meta, place=attachment.meta_place, what="attachment_meta", subject=attachment
    )
    return json.loads(data)


def read_attachment(attachment: BidAttachment, *, user: Any) -> bytes:
    return unseal_for(
        user, attachment.bid, attachment.content, place=attachment.content_place, what="attachment", subject=attachment
    )
