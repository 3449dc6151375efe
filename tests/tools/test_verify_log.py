"""The outsiders' verifier: stdlib Ed25519, Merkle agreement, end-to-end runs."""

from __future__ import annotations

import ast
import base64
import contextlib
import hashlib
import http.server
import importlib.util
import io
import json
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.audit import merkle
from portal.audit.checkpoint import public_key_bytes, sign_checkpoint, verifier_key

ROOT_DIR = Path(__file__).resolve().parents[2]
SCRIPT = ROOT_DIR / "tools" / "verify_log.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("verify_log_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


vl = _load_script()


# --- Ed25519 ------------------------------------------------------------------

RFC8032 = [  # RFC 8032 §7.1, TEST 1-3: (public key, message, signature)
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("public", "message", "signature"), RFC8032)
def test_rfc8032_vectors(public: str, message: str, signature: str) -> None:
    pk, msg, sig = bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature)
    assert vl.ed25519_verify(pk, msg, sig)
    assert not vl.ed25519_verify(pk, msg + b"\x00", sig)
    assert not vl.ed25519_verify(pk, msg, sig[:-1] + bytes([sig[-1] ^ 1]))
    assert not vl.ed25519_verify(pk, msg, bytes([sig[0] ^ 1]) + sig[1:])
    assert not vl.ed25519_verify(bytes([pk[0] ^ 1]) + pk[1:], msg, sig)
    # S + L is the same scalar but not canonical: RFC 8032 requires rejecting it.
    s = int.from_bytes(sig[32:], "little") + vl._L
    assert not vl.ed25519_verify(pk, msg, sig[:32] + s.to_bytes(32, "little"))
    assert not vl.ed25519_verify(pk, msg, sig[:63])
    assert not vl.ed25519_verify(pk[:31], msg, sig)


def test_invalid_point_encodings_are_rejected() -> None:
    assert vl._decode_point((vl._P).to_bytes(32, "little")) is None  # y >= p
    assert vl._decode_point((2).to_bytes(32, "little")) is None  # no x for y = 2
    sig = bytes.fromhex(RFC8032[0][2])
    assert not vl.ed25519_verify(b"\xff" * 32, b"", sig)


def test_signatures_made_by_cryptography_verify() -> None:
    for n in range(16):
        private = Ed25519PrivateKey.generate()
        public = public_key_bytes(private.public_key())
        message = f"Nachricht {n} – Prüfpunkt".encode() * n
        signature = private.sign(message)
        assert vl.ed25519_verify(public, message, signature)
        assert not vl.ed25519_verify(public, message + b"!", signature)
        other = public_key_bytes(Ed25519PrivateKey.generate().public_key())
        assert not vl.ed25519_verify(other, message, signature)


def test_script_uses_only_the_standard_library() -> None:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    assert modules, "no imports found"
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}, modules - set(sys.stdlib_module_names)


# --- Merkle and notes agree with the portal -----------------------------------


def test_merkle_functions_agree_with_portal() -> None:
    leaves = [merkle.leaf_hash(f"e{x}".encode()) for x in range(70)]
    store = merkle.InMemoryStore()
    builder = vl.TreeBuilder()
    for leaf in leaves:
        store.append(leaf)
        builder.append(leaf)
    assert vl.leaf_hash(b"x") == merkle.leaf_hash(b"x")
    assert vl.node_hash(leaves[0], leaves[1]) == merkle.node_hash(leaves[0], leaves[1])
    for size in range(71):
        root = merkle.root_hash(store, size)
        assert vl.mth(leaves[:size]) == root == builder.root(size)
        for index in range(size):
            proof = merkle.inclusion_proof(store, index, size)
            assert vl.verify_inclusion(leaves[index], index, size, proof, root)
            assert not vl.verify_inclusion(leaves[index], index, size, proof, vl.node_hash(root, root))
            if proof:
                assert not vl.verify_inclusion(leaves[index], index, size, [*proof[:-1], root], root)
        for old in range(size + 1):
            proof = merkle.consistency_proof(store, old, size)
            old_root = merkle.root_hash(store, old)
            assert vl.verify_consistency(old, size, old_root, root, proof)
            if 0 < old < size:
                assert not vl.verify_consistency(old, size, old_root, root, proof[:-1])
                assert not vl.verify_consistency(old, size, root, root, proof)


def test_note_verification_agrees_with_portal() -> None:
    private = Ed25519PrivateKey.generate()
    public = public_key_bytes(private.public_key())
    root = hashlib.sha256(b"r").digest()
    text = sign_checkpoint("portal.example/log", 9, root, private, "portal.example/log")
    checkpoint = vl.verify_note_checkpoint(text, "portal.example/log", public)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == ("portal.example/log", 9, root)
    assert vl.make_vkey("portal.example/log", public) == verifier_key("portal.example/log", public)
    assert vl.parse_vkey(verifier_key("portal.example/log", public)) == ("portal.example/log", public)
    with pytest.raises(vl.NoteError):
        vl.verify_note_checkpoint(text.replace("\n9\n", "\n10\n"), "portal.example/log", public)
    with pytest.raises(vl.NoteError):
        other = public_key_bytes(Ed25519PrivateKey.generate().public_key())
        vl.verify_note_checkpoint(text, "portal.example/log", other)


# --- a fake portal implementing the documented server contract ----------------

ORIGIN = "kreis.example/ibv-audit"
KEY_NAME = "kreis.example/ibv-audit"


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def make_events(count: int, change: dict[int, dict] | None = None) -> list[dict]:
    """Events as the portal stores them; ``change`` overrides fields of some seqs."""
    events = []
    for seq in range(1, count + 1):
        event = {
            "seq": seq,
            "time": f"2025-03-{seq % 28 + 1:02d}T10:00:00.000000Z",
            "actor": seq % 3 or None,
            "action": "call.published" if seq % 2 else "bid.submitted",
            "subject_type": "call",
            "subject_id": str(seq // 4 + 1),
            "data": {"titel": f"Aufruf {seq}", "los": seq % 5},
            "public": seq % 2 == 1,
            "prev_hash": "0" * 64,
        }
        event.update((change or {}).get(seq, {}))
        events.append(event)
    return events


class FakePortal:
    """Answers the transparency endpoints exactly as tools/verify_log.py documents them."""

    def __init__(self, events: list[dict], key: Ed25519PrivateKey, checkpoint_sizes: list[int]) -> None:
        self.events = events
        self.key = key
        self.store = merkle.InMemoryStore()
        self.store.extend(merkle.leaf_hash(canonical(e)) for e in events)
        self.history = [self.sign(size) for size in checkpoint_sizes]
        self.latest = self.history[-1]
        self.page_limit = 4  # the server may return fewer than asked for
        self.listing_override: dict[int, dict] = {}

    def sign(self, size: int) -> dict:
        root = merkle.root_hash(self.store, size)
        text = sign_checkpoint(ORIGIN, size, root, self.key, KEY_NAME)
        return {"size": size, "root": base64.b64encode(root).decode(), "issued_at": "2025-03-01T00:00:00Z", "text": text}

    def listing(self, event: dict) -> dict:
        seq = event["seq"]
        raw = canonical(event)
        item = {"seq": seq, "time": event["time"], "leaf_hash": merkle.leaf_hash(raw).hex(), "public": event["public"]}
        if event["public"]:
            item.update({k: event[k] for k in ("action", "subject_type", "subject_id", "data")})
            item["canonical"] = base64.b64encode(raw).decode()
        item.update(self.listing_override.get(seq, {}))
        return item

    def respond(self, path: str, params: dict[str, int]) -> tuple[int, str, bytes]:
        size = self.store.size
        if path == "transparency/checkpoint":
            return 200, "text/plain; charset=utf-8", self.latest["text"].encode()
        if path == "transparency/checkpoints":
            return 200, "application/json", json.dumps({"checkpoints": self.history}).encode()
        if path == "transparency/key":
            public = public_key_bytes(self.key.public_key())
            body = {"key_name": KEY_NAME, "public_key": base64.b64encode(public).decode(), "vkey": verifier_key(KEY_NAME, public)}
            return 200, "application/json", json.dumps(body).encode()
        if path == "transparency/proof/inclusion":
            seq, tree_size = params["seq"], params["size"]
            if not 1 <= seq <= tree_size <= size:
                return 400, "application/json", b'{"error": "bad range"}'
            proof = merkle.inclusion_proof(self.store, seq - 1, tree_size)
            body = {
                "seq": seq,
                "leaf_index": seq - 1,
                "tree_size": tree_size,
                "leaf_hash": self.store.get(0, seq - 1).hex(),
                "proof": [p.hex() for p in proof],
            }
            return 200, "application/json", json.dumps(body).encode()
        if path == "transparency/proof/consistency":
            old, new = params["old"], params["new"]
            if not 0 <= old <= new <= size:
                return 400, "application/json", b'{"error": "bad range"}'
            proof = merkle.consistency_proof(self.store, old, new)
            return 200, "application/json", json.dumps({"old": old, "new": new, "proof": [p.hex() for p in proof]}).encode()
        if path == "transparency/events":
            first = params["from"]
            last = min(params["to"], first + self.page_limit - 1, size)
            page = [self.listing(e) for e in self.events[first - 1 : last]]
            following = last + 1 if last < size else None
            return 200, "application/json", json.dumps({"events": page, "next": following}).encode()
        return 404, "text/plain", b"not found"

    def write_directory(self, directory: Path) -> None:
        """Mirror every answer the verifier may ask for into files (offline mode)."""
        n = self.latest["size"]
        wanted: list[tuple[str, list[tuple[str, int]]]] = [
            ("transparency/checkpoint", []),
            ("transparency/checkpoints", []),
            ("transparency/key", []),
        ]
        wanted += [("transparency/proof/consistency", [("old", m), ("new", n)]) for m in range(1, n)]
        wanted += [("transparency/proof/inclusion", [("seq", s), ("size", n)]) for s in range(1, n + 1)]
        wanted += [("transparency/events", [("from", s), ("to", s)]) for s in range(1, n + 1)]
        wanted.append(("transparency/events", [("from", 1), ("to", n)]))
        self.page_limit = n
        for path, params in wanted:
            status, _, body = self.respond(path, dict(params))
            assert status == 200
            target = directory / path
            if params:
                target = target / ",".join(f"{k}={v}" for k, v in params)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)


@contextlib.contextmanager
def serve(portal: FakePortal) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            params = {k: int(v) for k, v in urllib.parse.parse_qsl(url.query)}
            status, content_type, body = portal.respond(url.path.strip("/"), params)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = vl.main(list(args), out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def stored_sizes(state_dir: Path) -> list[int]:
    state = json.loads((state_dir / "state.json").read_text(encoding="utf-8"))
    return [c["size"] for c in state["checkpoints"]]


def test_good_log_passes_and_later_growth_is_accepted(tmp_path: Path, key) -> None:
    state = tmp_path / "state"
    portal = FakePortal(make_events(10), key, [3, 6, 10])
    with serve(portal) as base:
        code, out = run(base, "--state-dir", str(state), "--events")
    assert code == 0, out
    assert "Alles in Ordnung" in out
    assert "zum ersten Mal gesehen" in out
    assert stored_sizes(state) == [10]

    grown = FakePortal(make_events(15), key, [3, 6, 10, 15])
    with serve(grown) as base:
        code, out = run(base, "--state-dir", str(state), "--seq", "2", "--seq", "15")
    assert code == 0, out
    assert "Konsistent mit 1 Prüfpunkt(en) aus früheren Läufen" in out
    assert "Nr. 2, 15" in out
    assert stored_sizes(state) == [10, 15]


def test_rewritten_earlier_event_is_detected(tmp_path: Path, key) -> None:
    state = tmp_path / "state"
    honest = FakePortal(make_events(10), key, [4, 10])
    with serve(honest) as base:
        assert run(base, "--state-dir", str(state))[0] == 0
    before = (state / "state.json").read_bytes()

    # The operator changes event 3, appends two more and re-signs a fresh history.
    rewritten = FakePortal(make_events(12, change={3: {"data": {"titel": "geändert"}}}), key, [4, 10, 12])
    with serve(rewritten) as base:
        code, out = run(base, "--state-dir", str(state), "--events")
    assert code == 1, out
    assert "Prüfpunkt mit 10 Einträgen" in out and "NICHT konsistent" in out
    assert "NICHT in Ordnung" in out
    assert (state / "state.json").read_bytes() == before  # nothing stored after a failure

    # Same size, different content: also caught.
    same_size = FakePortal(make_events(10, change={3: {"action": "bid.withdrawn"}}), key, [10])
    with serve(same_size) as base:
        code, out = run(base, "--state-dir", str(state))
    assert code == 1 and "Prüfpunkt mit 10 Einträgen" in out, out


def test_history_kept_from_before_a_rewrite_is_detected(tmp_path: Path, key) -> None:
    honest = FakePortal(make_events(8), key, [5, 8])
    rewritten = FakePortal(make_events(9, change={2: {"subject_id": "99"}}), key, [9])
    rewritten.history = honest.history + rewritten.history
    with serve(rewritten) as base:
        code, out = run(base, "--state-dir", str(tmp_path / "fresh"), "--lang", "en")
    assert code == 1, out
    assert "no. 1 of the portal's checkpoint history" in out and "NOT consistent" in out


def test_lying_event_list_names_the_first_bad_event(tmp_path: Path, key) -> None:
    portal = FakePortal(make_events(13), key, [13])
    fake_leaf = merkle.leaf_hash(b"invented").hex()
    # Internal events (even numbers here) only show their hash, so only the tree can tell.
    portal.listing_override = {6: {"leaf_hash": fake_leaf}, 10: {"leaf_hash": fake_leaf}}
    with serve(portal) as base:
        code, out = run(base, "--state-dir", str(tmp_path / "s"), "--events")
    assert code == 1, out
    assert "Ereignis Nr. 6 gehört nicht zum signierten Baum" in out


def test_public_fields_must_match_signed_content(tmp_path: Path, key) -> None:
    portal = FakePortal(make_events(9), key, [9])
    portal.listing_override = {5: {"action": "call.cancelled"}}
    with serve(portal) as base:
        code, out = run(base, "--state-dir", str(tmp_path / "a"), "--events")
    assert code == 1 and "Ereignis Nr. 5" in out and "action" in out, out

    portal.listing_override = {7: {"canonical": base64.b64encode(b'{"seq":7}').decode()}}
    with serve(portal) as base:
        code, out = run(base, "--state-dir", str(tmp_path / "b"), "--seq", "7")
    assert code == 1 and "Ereignis Nr. 7: der veröffentlichte Inhalt passt nicht zum Hash" in out, out


def test_changed_key_and_bad_signature_fail(tmp_path: Path, key) -> None:
    state = tmp_path / "state"
    portal = FakePortal(make_events(5), key, [5])
    with serve(portal) as base:
        assert run(base, "--state-dir", str(state))[0] == 0
    other = FakePortal(make_events(5), Ed25519PrivateKey.generate(), [5])
    with serve(other) as base:
        code, out = run(base, "--state-dir", str(state))
    assert code == 1 and "anderen Signaturschlüssel" in out, out

    # Pinned key, but the checkpoint is signed by somebody else.
    public = public_key_bytes(key.public_key())
    forged = FakePortal(make_events(5), key, [5])
    forged.latest = other.latest
    with serve(forged) as base:
        code, out = run(base, "--state-dir", str(tmp_path / "p"), "--vkey", verifier_key(KEY_NAME, public))
    assert code == 1 and "nicht gültig signiert" in out, out


def test_offline_directory_mode(tmp_path: Path, key) -> None:
    portal = FakePortal(make_events(11), key, [2, 7, 11])
    mirror = tmp_path / "dump"
    portal.write_directory(mirror)
    key_file = tmp_path / "key.txt"
    key_file.write_text(verifier_key(KEY_NAME, public_key_bytes(key.public_key())) + "\n")
    code, out = run(str(mirror), "--state-dir", str(tmp_path / "s"), "--events", "--key-file", str(key_file))
    assert code == 0, out
    assert "Nr. 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11" in out
    # The script also works as a program, without pytest and without the portal.
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(mirror), "--state-dir", str(tmp_path / "t"), "--lang", "en"],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "everything holds" in result.stdout


def test_usage_and_network_errors_exit_2(tmp_path: Path) -> None:
    assert run()[0] == 2
    assert run("ftp://nowhere", "--state-dir", str(tmp_path))[0] == 2
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens on this port any more
    code, out = run(f"http://127.0.0.1:{port}", "--state-dir", str(tmp_path), "--timeout", "5")
    assert code == 2 and "Prüfung nicht möglich" in out, out
    assert not (tmp_path / "state.json").exists()
