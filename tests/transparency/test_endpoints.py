"""The public transparency endpoints follow the contract in tools/verify_log.py."""
from __future__ import annotations

import base64
import json

import pytest

from portal.audit import merkle
from portal.audit.checkpoint import verify_checkpoint
from portal.audit.transparency import checkpoint_after_commit, issue_checkpoint, latest_checkpoint, signing_identity
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.audit.tree import DbSubtreeStore
from portal.extensions import db
from tests.transparency.conftest import fill_log


def test_checkpoint_key_and_history(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/transparency/checkpoint").status_code == 404
    fill_log(5)
    issue_checkpoint()
    fill_log(4)
    issue_checkpoint()
    assert issue_checkpoint() is None  # nothing new
    db.session.commit()

    key = client.get("/transparency/key").get_json()
    identity = signing_identity()
    assert key == identity.as_json()
    response = client.get("/transparency/checkpoint")
    assert response.content_type == "text/plain; charset=utf-8"
    note = verify_checkpoint(response.get_data(as_text=True), key["key_name"], base64.b64decode(key["public_key"]))
    assert note.size == 9 and note.origin == identity.origin
    history = client.get("/transparency/checkpoints").get_json()["checkpoints"]
    assert [c["size"] for c in history] == [5, 9]
    assert history[1]["text"] == response.get_data(as_text=True)
    assert history[1]["root"] == base64.b64encode(note.root).decode()


def test_proofs_verify_against_the_checkpoint(client) -> None:  # type: ignore[no-untyped-def]
    fill_log(21)
    issue_checkpoint()
    db.session.commit()
    root21 = merkle.root_hash(DbSubtreeStore(), 21)
    root8 = merkle.root_hash(DbSubtreeStore(), 8)
    for seq in (1, 8, 13, 21):
        answer = client.get(f"/transparency/proof/inclusion?seq={seq}&size=21").get_json()
        assert answer["seq"] == seq and answer["leaf_index"] == seq - 1 and answer["tree_size"] == 21
        proof = [bytes.fromhex(p) for p in answer["proof"]]
        assert merkle.verify_inclusion(bytes.fromhex(answer["leaf_hash"]), seq - 1, 21, proof, root21)
    answer = client.get("/transparency/proof/consistency?old=8&new=21").get_json()
    assert answer["old"] == 8 and answer["new"] == 21
    assert merkle.verify_consistency(8, 21, root8, root21, [bytes.fromhex(p) for p in answer["proof"]])
    assert client.get("/transparency/proof/consistency?old=21&new=21").get_json()["proof"] == []


def test_events_show_only_public_content(client) -> None:  # type: ignore[no-untyped-def]
    fill_log(7)
    page = client.get("/transparency/events?from=1&to=5").get_json()
    assert [e["seq"] for e in page["events"]] == [1, 2, 3, 4, 5] and page["next"] == 6
    public, internal = page["events"][0], page["events"][1]
    assert set(internal) == {"seq", "time", "leaf_hash", "public"} and internal["public"] is False
    canonical = base64.b64decode(public["canonical"])
    assert merkle.leaf_hash(canonical).hex() == public["leaf_hash"]
    signed = json.loads(canonical)
    assert {k: signed[k] for k in ("seq", "time", "action", "subject_type", "subject_id", "data")} == {
        k: public[k] for k in ("seq", "time", "action", "subject_type", "subject_id", "data")
    }
    last = client.get("/transparency/events?from=6&to=100").get_json()
    assert [e["seq"] for e in last["events"]] == [6, 7] and last["next"] is None


@pytest.mark.parametrize(
    "url",
    [
        "/transparency/proof/inclusion?seq=0&size=3",
        "/transparency/proof/inclusion?seq=4&size=3",
        "/transparency/proof/inclusion?seq=1&size=99",
        "/transparency/proof/inclusion?seq=abc&size=3",
        "/transparency/proof/inclusion?size=3",
        "/transparency/proof/consistency?old=3&new=2",
        "/transparency/proof/consistency?old=-1&new=2",
        "/transparency/events?from=0&to=3",
        "/transparency/events?from=3&to=2",
    ],
)
def test_bad_parameters_get_a_german_json_error(client, url: str) -> None:  # type: ignore[no-untyped-def]
    fill_log(3)
    response = client.get(url)
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert any(word in message for word in ("muss", "fehlt", "angeben"))


def test_checkpoint_after_commit_covers_the_public_step(app) -> None:  # type: ignore[no-untyped-def]
    fill_log(2)
    record(AuditAction.DEMO_LOADED, subject=("call", "1"), public=True)
    checkpoint_after_commit()
    db.session.rollback()  # rolled back: no checkpoint, no pending request
    db.session.commit()
    assert latest_checkpoint() is None
    record(AuditAction.DEMO_LOADED, subject=("call", "1"), public=True)
    checkpoint_after_commit()
    db.session.commit()
    latest = latest_checkpoint()
    assert latest is not None and latest.size == 3


def test_a_released_savepoint_does_not_issue_the_checkpoint_early(app) -> None:  # type: ignore[no-untyped-def]
    """The outer transaction holds the chain lock; signing on the savepoint's
    release would wait for it forever (seen on PostgreSQL)."""
    fill_log(1)
    record(AuditAction.DEMO_LOADED, subject=("call", "1"), public=True)
    checkpoint_after_commit()
    with db.session.begin_nested():
        record(AuditAction.DEMO_LOADED, subject=("call", "1"))
    assert latest_checkpoint() is None
    db.session.commit()
    latest = latest_checkpoint()
    assert latest is not None and latest.size == 3
