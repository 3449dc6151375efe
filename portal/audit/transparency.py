"""Signed checkpoints of the audit log and the hook that issues them.

A checkpoint commits the portal to the first `size` events: once an outsider
keeps it, no earlier event can change without the next checkpoint failing
its consistency proof. So the portal itself refuses to sign a tree that does
not extend the previous checkpoint, or whose newest leaves do not match their
events. Checkpoints are issued

- by `flask audit checkpoint` (cron, hourly; does nothing without new events),
- after every public procedure step: the service that records the step calls
  `checkpoint_after_commit()`; once the request's transaction has committed, a
  checkpoint covering the step is issued in a transaction of its own.
"""
from __future__ import annotations

import base64
import hmac
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portal.audit import merkle
from portal.audit.checkpoint import load_or_create_key, public_key_bytes, sign_checkpoint, verifier_key
from portal.audit.models import AuditCheckpoint, AuditEvent, AuditSubtree
from portal.audit.services import _lock_chain, canonical_bytes
from portal.audit.tree import DbSubtreeStore
from portal.core.errors import Refused
from portal.core.time import now
from portal.extensions import db

_PENDING = "ibv_checkpoint_pending"


class CheckpointRefused(Refused):
    """The stored tree does not extend the last checkpoint: nothing is signed.

    Raised by the cron job, the demo and the after-commit hook, never inside a
    request: the message is plain German for the operator's log.
    """


@dataclass(frozen=True)
class SigningIdentity:
    private_key: Ed25519PrivateKey
    key_name: str
    origin: str

    @property
    def public_key(self) -> bytes:
        return public_key_bytes(self.private_key.public_key())

    def as_json(self) -> dict[str, str]:
        return {
            "key_name": self.key_name,
            "public_key": base64.b64encode(self.public_key).decode(),
            "vkey": verifier_key(self.key_name, self.public_key),
        }


def _key_path(app: Flask) -> Path:
    configured = app.config.get("AUDIT_SIGNING_KEY_PATH")
    if configured:
        return Path(configured)
    # Testing: a key per test run, never in the repository.
    base = app.config.get("PORTAL_TEST_TMP") or tempfile.gettempdir()
    return Path(base) / f"audit_signing_key_{os.getuid()}.pem"


def signing_identity(app: Flask | None = None) -> SigningIdentity:
    """The log's key, name and origin (loaded once per application)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    identity = app.extensions.get("ibv_audit_signing")
    if identity is None:
        host = urlsplit(app.config.get("PORTAL_BASE_URL") or "http://localhost").netloc or "localhost"
        identity = SigningIdentity(
            private_key=load_or_create_key(_key_path(app)),
            key_name=app.config.get("AUDIT_KEY_NAME") or host,
            origin=app.config.get("AUDIT_LOG_ORIGIN") or f"{host}/audit-log",
        )
        app.extensions["ibv_audit_signing"] = identity
    return identity


def latest_checkpoint(session: Session | None = None) -> AuditCheckpoint | None:
    session = session or db.session
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1))


def all_checkpoints(session: Session | None = None) -> list[AuditCheckpoint]:
    session = session or db.session
    return list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size)))


def covering_checkpoint(seq: int, session: Session | None = None) -> AuditCheckpoint | None:
    """The first checkpoint that includes event `seq` (None until one is issued)."""
    session = session or db.session
    return session.scalar(
        select(AuditCheckpoint).where(AuditCheckpoint.size >= seq).order_by(AuditCheckpoint.size).limit(1)
    )


def _check_new_leaves(session: Session, start: int, size: int) -> None:
    """The leaves added since the last checkpoint must be the hashes of their events."""
    batch = 5000
    for first in range(start, size, batch):
        last = min(first + batch, size)
        stored = {
            index: bytes(value)
            for index, value in session.execute(
                select(AuditSubtree.index, AuditSubtree.hash).where(
                    AuditSubtree.level == 0, AuditSubtree.index >= first, AuditSubtree.index < last
                )
            )
        }
        events = session.execute(
            select(AuditEvent.__table__).where(AuditEvent.seq > first, AuditEvent.seq <= last).order_by(AuditEvent.seq)
        )
        expected = first
        for row in events:
            if row.seq != expected + 1 or not hmac.compare_digest(
                merkle.leaf_hash(canonical_bytes(row)), stored.get(expected, b"")
            ):
                raise CheckpointRefused(
                    f"Eintrag {expected + 1} passt nicht zum gespeicherten Baum; es wird kein Prüfpunkt signiert."
                )
            expected += 1
        if expected != last:
            raise CheckpointRefused(
                f"Eintrag {expected + 1} fehlt im Protokoll; es wird kein Prüfpunkt signiert."
            )


def issue_checkpoint(*, session: Session | None = None) -> AuditCheckpoint | None:
    """Sign the current tree head if the log grew since the last checkpoint.

    Returns the new checkpoint, or None when there is nothing new to sign.
    Refuses (CheckpointRefused) to sign a tree that does not extend the last
    checkpoint or whose new leaves do not match their events. Flushes, never
    commits; runs under the chain lock so that no event slips in between the
    size and the root.
    """
    session = session or db.session
    _lock_chain(session)
    store = DbSubtreeStore(session)
    size = store.size()
    previous = latest_checkpoint(session)
    old_size = previous.size if previous else 0
    if size < old_size:
        raise CheckpointRefused(
            f"Der Baum hat nur {size} Einträge, der letzte Prüfpunkt aber {old_size}."
        )
    if size == old_size:
        return None
    try:
        root = merkle.root_hash(store, size)
        if previous is not None:
            proof = merkle.consistency_proof(store, old_size, size)
            if not merkle.verify_consistency(old_size, size, bytes(previous.root), root, proof):
                raise CheckpointRefused(
                    f"Der gespeicherte Baum ist nicht konsistent mit dem Prüfpunkt über {old_size} Einträge."
                )
        _check_new_leaves(session, old_size, size)
    except KeyError as exc:
        raise CheckpointRefused(f"Im gespeicherten Baum fehlt ein Knoten ({exc}).") from exc
    identity = signing_identity()
    text = sign_checkpoint(identity.origin, size, root, identity.private_key, identity.key_name)
    checkpoint = AuditCheckpoint(size=size, root=root, issued_at=now(), text=text)
    session.add(checkpoint)
    session.flush()
    return checkpoint


def checkpoint_after_commit(session: Session | None = None) -> None:
    """Ask for a checkpoint as soon as the current transaction has committed.

    Call it from the service that records a public procedure step (publication,
    amendment, opening, award notice), right after its `record(..., public=True)`.
    If the transaction rolls back, nothing is issued.
    """
    (session or db.session()).info[_PENDING] = True


def _issue_after_commit(session: Session) -> None:
    # SQLAlchemy also fires after_commit when a savepoint is released; the
    # outer transaction (which may hold the chain lock) is still open then.
    if session.get_nested_transaction() is not None or not session.info.pop(_PENDING, False) or not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with Session(bind=session.get_bind()) as own, own.begin():
            issue_checkpoint(session=own)
    except Exception:  # the step is committed; the hourly run retries and alerts
        app.logger.exception("audit: checkpoint after a public step could not be issued")


def _forget_request(session: Session, previous_transaction: Any = None) -> None:
    session.info.pop(_PENDING, None)


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _issue_after_commit):
        event.listen(Session, "after_commit", _issue_after_commit)
        event.listen(Session, "after_rollback", _forget_request)
