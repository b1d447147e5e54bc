"""Generate the core test vectors: ``python -m tests.vectors.generate`` (from the repo root).

Every random input (secret key, nonces, proof nonces u_j, simulated challenges c_j) comes
from a DeterministicRng seeded with the file's name and is written out explicitly, so
another implementation (the browser encryptor, web/static/js/tohyo-crypto.js) can
reproduce each output from the listed inputs alone without our RNG. tests/vectors/
test_vectors.py and test_ballot_vectors.py regenerate the files in memory and require them
to be byte-identical, pinning the formats.

* core-<group>.json: hashes, encryptions, range, Schnorr and decryption proofs, and whole
  ballots of the Tsukuba manifest (the election's documents as GET /api/election serves
  them, every random input, the canonical ballot, its confirmation code, the challenged
  ballot).
* board.json: the bulletin board's log — entries, leaf hashes, RFC 9162 inclusion proofs
  for every leaf of every size up to 7, Ed25519-signed tree heads with the board's key and
  a receipt as the board returns it.
* checkpoint.json: board.json's last tree head as a C2SP checkpoint signed by the same
  board key, the manifest's witnessing (three witnesses, quorum 2, their keys from
  DeterministicRng(file name)), notes with their cosignatures — good ones, bad signatures,
  ignored lines of unknown keys, another origin, extension lines, malformed lines — each
  with the verdict of e2e/checkpoint.py, and receipts that carry a checkpoint.
"""

from __future__ import annotations

import base64
import json
import pathlib
import string
from dataclasses import replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from e2e import codec
from e2e.ballot import (
    challenge,
    encrypt_ballot_with,
    identifier_hash,
    plaintext_values,
    selection_nonce,
)
from e2e.board import BoardEntry, BoardEvent, BoardKey, TreeHead, TreeHeadBody, log_id
from e2e.chaum_pedersen import decryption_challenge, prove_decryption_with
from e2e.checkpoint import (
    COSIGN_HEADER,
    COSIGNATURE_V1,
    DASH,
    ED25519,
    Checkpoint,
    Note,
    NoteError,
    Signature,
    cosign,
    key_id,
    parse_note,
    sign_checkpoint,
    verify_board_signature,
    verify_cosignatures,
    vkey,
)
from e2e.election import Election
from e2e.elgamal import PublicKey, SecretKey, encrypt
from e2e.group import STANDARD, TEST, Group
from e2e.hash import DOMAIN, H, H_q, HashValue, parameter_base_hash
from e2e.manifest import (
    Manifest,
    Text,
    Witnessing,
    WitnessKey,
    manifest_from_json,
    with_board,
    with_witnesses,
)
from e2e.merkle import inclusion_proof_from_leaves, leaf_hash, root_from_leaves
from e2e.range_proof import prove_range_with, range_challenge
from e2e.rng import DeterministicRng
from e2e.schnorr import prove_schnorr_with, schnorr_challenge

HERE = pathlib.Path(__file__).parent
FILES = {"core-test-group.json": TEST, "core-standard-group.json": STANDARD}
BOARD_FILE = "board.json"
CHECKPOINT_FILE = "checkpoint.json"
EXAMPLE = HERE.parents[1] / "examples" / "tsukuba-2025.json"
DEVICE = "tohyo-vectors"

#: The ballots of each group's file: contest id -> chosen option ids. The first covers a
#: subset of the contests with one blank; the test group also has a full 3×3 ballot (the
#: standard group's would add 140 kB for no new case).
BALLOTS: dict[str, list[dict[str, list[str]]]] = {
    "core-test-group.json": [
        {"gyosei": ["digital-counter"], "healthcare": []},
        {
            "gyosei": ["internet-voting"],
            "mobility": ["tsukumobi"],
            "healthcare": ["emergency-info"],
        },
    ],
    "core-standard-group.json": [{"gyosei": ["digital-counter"], "healthcare": []}],
}


def _q(x: Any) -> str:
    return x.hex()


def build(name: str, group: Group) -> dict[str, Any]:
    rng = DeterministicRng(name)
    s = group.random_scalar(rng)
    key = PublicKey(group.g_pow(s))
    h_p = parameter_base_hash(group, 5, 3)
    h_i = H(h_p, DOMAIN["selection_identifier"], rng.randbits(256).to_bytes(32, "big"))
    h_e = H(h_p, DOMAIN["extended_base_hash"], key.element)
    out: dict[str, Any] = {
        "header": {
            "what": "tohyo core test vectors (ElectionGuard 2.1 hash, ElGamal, proofs)",
            "how": "python -m tests.vectors.generate; inputs from DeterministicRng(file name)",
            "group": group.name,
            "note": "all random inputs are listed; outputs are canonical tohyo/1 documents",
        },
        "parameters": {
            "p": format(int(group.p), "X"),
            "q": format(int(group.q), "X"),
            "g": format(int(group.g), "X"),
        },
        "hashes": [
            {"what": "H_P n=5 k=3", "expected": h_p.hex_upper()},
            {
                "what": "H(H_P; 0x20, b(x,32)) with x from the rng (an identifier hash H_I)",
                "expected": h_i.hex_upper(),
            },
            {"what": "H(H_P; 0x14, K) (stands in for H_E)", "expected": h_e.hex_upper()},
        ],
        "secret_key": _q(s),
        "public_key": key.element.hex(),
        "encryptions": [],
        "range_proofs": [],
    }
    for limit, value in [(1, 0), (1, 1), (3, 2)]:
        xi = group.random_scalar(rng)
        ct = encrypt(key, value, xi)
        us = [group.random_scalar(rng) for _ in range(limit + 1)]
        fake = [group.random_scalar(rng) for _ in range(limit + 1)]
        proof = prove_range_with(key, h_i, (1, 2), ct, xi, value, limit, us, fake)
        out["encryptions"].append(
            {"value": value, "nonce": _q(xi), "ciphertext": codec.to_document(ct)}
        )
        out["range_proofs"].append(
            {
                "h_i": h_i.hex_upper(),
                "indices": [1, 2],
                "value": value,
                "limit": limit,
                "nonce": _q(xi),
                "u": [_q(u) for u in us],
                "simulated_challenges": [None if j == value else _q(c) for j, c in enumerate(fake)],
                "challenge": _q(range_challenge(h_i, (1, 2), ct, proof.commitments)),
                "ciphertext": codec.to_document(ct),
                "proof": codec.to_document(proof),
            }
        )
    coeffs = [group.random_scalar(rng) for _ in range(3)]
    us = [group.random_scalar(rng) for _ in range(3)]
    sp = prove_schnorr_with(group, h_p, 2, coeffs, us)
    out["schnorr"] = {
        "h_p": h_p.hex_upper(),
        "index": 2,
        "secrets": [_q(x) for x in coeffs],
        "u": [_q(u) for u in us],
        "publics": [group.g_pow(x).hex() for x in coeffs],
        "challenge": _q(
            schnorr_challenge(h_p, 2, [group.g_pow(x) for x in coeffs], sp.commitments)
        ),
        "proof": codec.to_document(sp),
    }
    ct = encrypt(key, 7, group.random_scalar(rng))
    u = group.random_scalar(rng)
    m, dp = prove_decryption_with(h_e, (1, 3), ct, SecretKey(s), u)
    out["decryption"] = {
        "h_e": h_e.hex_upper(),
        "indices": [1, 3],
        "u": _q(u),
        "ciphertext": codec.to_document(ct),
        "m": m.hex(),
        "value": 7,
        "challenge": _q(decryption_challenge(h_e, (1, 3), ct, dp.commitment_a, dp.commitment_b, m)),
        "proof": codec.to_document(dp),
    }
    out["h_q_example"] = {
        "what": "H_q(H_P; 0x21, 1, 2, b(5, l_q))",
        "expected": _q(H_q(group, h_p, 0x21, 1, 2, group.scalar(5))),
    }
    out["election"], out["ballots"] = build_ballots(name, group)
    return out


class RecordingRng:
    """A DeterministicRng that remembers every randbelow answer, so that the proof inputs
    encrypt_ballot_with draws (u_j, then simulated c_j, per proof) can be written out."""

    def __init__(self, rng: DeterministicRng) -> None:
        self._rng = rng
        self.drawn: list[int] = []

    def randbelow(self, n: int) -> int:
        x = self._rng.randbelow(n)
        self.drawn.append(x)
        return x

    def randbits(self, k: int) -> int:
        raise AssertionError("ballot encryption draws only scalars from its rng")


def example_manifest() -> Manifest:
    """The seed manifest as the vectors were first made of it: its contact desk and its
    labels' languages beyond Japanese and English (both added later, for the pages) are
    left out, so the pinned bytes and hashes stay put."""
    m = manifest_from_json(EXAMPLE.read_text(encoding="utf-8"))

    def two(t: Text) -> Text:
        return Text(t.ja, t.en)

    contests = tuple(
        replace(
            c,
            title=two(c.title),
            options=tuple(
                replace(
                    o,
                    label=two(o.label),
                    description=two(o.description) if o.description else None,
                )
                for o in c.options
            ),
        )
        for c in m.contests
    )
    return replace(m, title=two(m.title), contests=contests, contact=None)


def _proof_inputs(
    group: Group, drawn: list[int], value: int, limit: int
) -> tuple[dict[str, list[str | None]], list[int]]:
    """One proof's u_j and simulated c_j from the recorded draws; returns the rest."""
    n = limit + 1
    scalars = [group.scalar_from_int(1 + x) for x in drawn[: 2 * n]]  # random_scalar
    us, fake = scalars[:n], scalars[n:]
    entry = {
        "u": [_q(u) for u in us],
        "c": [None if j == value else _q(c) for j, c in enumerate(fake)],
    }
    return entry, drawn[2 * n :]


def build_ballots(name: str, group: Group) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Tsukuba election under a random key, and whole ballots with all their inputs."""
    rng = DeterministicRng(name + "/ballots")
    election = Election(group, example_manifest(), group.g_pow(group.random_scalar(rng)))
    documents = {
        "what": "the election's documents, as GET /api/election serves them",
        "manifest": codec.to_document(election.manifest),
        "parameters": codec.to_document(election.parameters()),
    }
    ballots = []
    for choices in BALLOTS[name]:
        values = plaintext_values(election, choices)
        ballot_id = HashValue(rng.randbits(256).to_bytes(32, "big"))
        nonce = HashValue(rng.randbits(256).to_bytes(32, "big"))
        recorder = RecordingRng(rng.fork(ballot_id.hex()))
        ballot, secret = encrypt_ballot_with(election, values, ballot_id, nonce, recorder, DEVICE)
        drawn = recorder.drawn
        h_i = identifier_hash(election, ballot_id)
        randomness = []
        for ci, row in values.items():
            limit = election.manifest.contest(ci).limit
            selections = []
            for v in row:
                entry, drawn = _proof_inputs(group, drawn, v, 1)
                selections.append(entry)
            limit_entry, drawn = _proof_inputs(group, drawn, sum(row), limit)
            randomness.append({"contest": ci, "selections": selections, "limit": limit_entry})
        assert not drawn, "every recorded draw belongs to a proof"
        ballots.append(
            {
                "choices": choices,
                "values": [[ci, list(row)] for ci, row in values.items()],
                "device": DEVICE,
                "ballot_id": ballot_id.hex_upper(),
                "ballot_nonce": nonce.hex_upper(),
                "proof_randomness": randomness,
                "h_i": h_i.hex_upper(),
                "selection_nonces": [
                    [
                        _q(selection_nonce(election, h_i, ci, oi, nonce))
                        for oi in range(1, len(r) + 1)
                    ]
                    for ci, r in values.items()
                ],
                "ballot": codec.encode(ballot).decode("utf-8"),
                "confirmation_code": ballot.confirmation_code.hex_upper(),
                "challenged": codec.encode(challenge(ballot, secret)).decode("utf-8"),
            }
        )
    return documents, ballots


def board_signer() -> Ed25519PrivateKey:
    """The board's signing key of board.json and checkpoint.json."""
    rng = DeterministicRng(BOARD_FILE)
    return Ed25519PrivateKey.from_private_bytes(rng.randbits(256).to_bytes(32, "big"))


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def build_board() -> dict[str, Any]:
    """Log entries, inclusion proofs, signed tree heads and a receipt (group-independent)."""
    signer = board_signer()
    raw_key = _raw(signer)
    key = BoardKey(HashValue(raw_key))
    election, ballots = build_ballots("core-test-group.json", TEST)
    ballot = ballots[0]["ballot"]
    payloads = [
        ("manifest", "", codec.encode(codec.from_document(election["manifest"], Manifest))),
        ("parameters", "", codec.dumps(election["parameters"])),
        ("event", "", codec.encode(BoardEvent("open"))),
        ("ballot", "pseudonym-1", ballot.encode("utf-8")),
        ("challenged", "", ballots[0]["challenged"].encode("utf-8")),
        ("ballot", "pseudonym-2", ballots[1]["ballot"].encode("utf-8")),
        ("event", "", codec.encode(BoardEvent("close"))),
    ]
    entries = [
        codec.encode(
            BoardEntry(i, kind, f"2025-03-01T03:00:0{i}.000000+00:00", voter, data.decode("utf-8"))
        )
        for i, (kind, voter, data) in enumerate(payloads)
    ]
    leaves = [leaf_hash(e) for e in entries]

    def head(size: int) -> TreeHead:
        body = TreeHeadBody(
            log_id(key),
            size,
            HashValue(root_from_leaves(leaves[:size])),
            f"2025-03-01T04:00:0{size}.000000+00:00",
        )
        sig = signer.sign(codec.encode(body)).hex().upper()
        return TreeHead(body.log, body.size, body.root, body.time, sig)

    heads = {size: head(size) for size in (1, 4, len(entries))}
    last = heads[len(entries)]
    return {
        "header": {
            "what": "tohyo board vectors (RFC 9162 Merkle tree, Ed25519 tree heads, receipt)",
            "how": "python -m tests.vectors.generate; the key from DeterministicRng(file name)",
            "note": "entries are canonical BoardEntry documents; a leaf is SHA-256(0x00 || entry)",
        },
        "board_key": codec.to_document(key),
        "entries": [e.decode("utf-8") for e in entries],
        "leaf_hashes": [h.hex().upper() for h in leaves],
        "roots": [root_from_leaves(leaves[:n]).hex().upper() for n in range(1, len(entries) + 1)],
        "inclusion_proofs": [
            {
                "index": i,
                "size": n,
                "proof": [h.hex().upper() for h in inclusion_proof_from_leaves(i, leaves[:n])],
            }
            for n in range(1, len(entries) + 1)
            for i in range(n)
        ],
        "tree_heads": [codec.to_document(h) for h in heads.values()],
        "signed_body": codec.encode(last.body()).decode("utf-8"),
        "receipt": {
            "entry": 3,
            "confirmation_code": json.loads(ballot)["confirmation_code"],
            "tree_head": codec.to_document(last),
            "inclusion_proof": [h.hex().upper() for h in inclusion_proof_from_leaves(3, leaves)],
        },
    }


#: checkpoint.json: the election's log origin, its witnesses (the first three of the
#: file's keys) and a fourth key the manifest does not name; all cosign at fixed times.
ORIGIN = "tsukuba.example/tohyo/vectors"
DASH_SP = DASH + " "
WITNESSES = (
    "witness.univ.example/tohyo",
    "witness.news.example/tohyo",
    "witness.ngo.example/tohyo",
)
STRANGER = "witness.elsewhere.example/tohyo"
QUORUM = 2
COSIGNED_AT = 1_740_801_600  # 2025-03-01T04:00:00Z
B64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"


def _flip(data: bytes, i: int = -1) -> bytes:
    out = bytearray(data)
    out[i] ^= 1
    return bytes(out)


def verdict(
    note: str, head: dict[str, Any], witnessing: Witnessing, board_key: bytes
) -> dict[str, Any]:
    """What a client concludes about a receipt's checkpoint ``note`` for its JSON tree
    ``head`` (tohyo-crypto.js verifyCheckpoint does the same, in this order): the note
    parses, the board signed it under the manifest's origin, it is that head, and every
    manifest witness's cosignature on it verifies. Too few cosignatures is a verdict
    (``witnessed`` false), not an error."""
    try:
        parsed = parse_note(note)
        cp = verify_board_signature(parsed, witnessing.origin, board_key)
        if cp.size != head["size"] or cp.root != bytes.fromhex(head["root"]):
            raise NoteError(
                f"the checkpoint is not the tree head of size {head['size']}",
                f"checkpoint {cp.size}",
            )
        cosigners = [c.witness for c in verify_cosignatures(parsed, witnessing.keys())]
    except NoteError as e:
        return {"error": str(e)}
    return {
        "size": cp.size,
        "root": cp.root.hex().upper(),
        "cosigners": cosigners,
        "witnessed": len(cosigners) >= witnessing.quorum,
    }


def build_checkpoint() -> dict[str, Any]:
    """board.json's last head as a checkpoint, cosigned and corrupted in many ways."""
    board = build_board()
    signer = board_signer()
    board_key = _raw(signer)
    rng = DeterministicRng(CHECKPOINT_FILE)
    seeds = [rng.randbits(256).to_bytes(32, "big") for _ in range(len(WITNESSES) + 1)]
    keys = [Ed25519PrivateKey.from_private_bytes(s) for s in seeds]
    names = (*WITNESSES, STRANGER)
    witnessing = Witnessing(
        ORIGIN,
        QUORUM,
        tuple(WitnessKey(n, HashValue(_raw(k))) for n, k in zip(WITNESSES, keys, strict=False)),
    )
    manifest = with_board(example_manifest(), BoardKey(HashValue(board_key)))
    manifest = with_witnesses(manifest, witnessing)
    heads = board["tree_heads"]
    head = heads[-1]
    cp = Checkpoint(ORIGIN, head["size"], bytes.fromhex(head["root"]))
    signed = sign_checkpoint(cp, signer)
    text = signed.text
    board_sig = signed.signatures[0]

    def co(i: int, of: str = text, name: str | None = None) -> Signature:
        return cosign(of, name or names[i], keys[i], COSIGNED_AT)

    def note(*sigs: Signature) -> str:
        return Note(text, sigs).render()

    def by_board(t: str) -> str:
        """Another text signed by the board's key under the origin (parse must refuse it)."""
        return Note(t, (Signature(ORIGIN, board_sig.key_id, signer.sign(t.encode())),)).render()

    w0, w1, w2 = co(0), co(1), co(2)
    good = note(board_sig, w0, w1)
    lines = good.split("\n")
    stranger_key = key_id(STRANGER, COSIGNATURE_V1, _raw(keys[3]))
    w0_id = key_id(WITNESSES[0], COSIGNATURE_V1, _raw(keys[0]))
    root_b64 = text.split("\n")[2]
    # The last base64 digit of a 32-byte root carries two unused bits; set one.
    loose = root_b64[:-2] + B64[B64.index(root_b64[-2]) ^ 1] + "="
    cases: list[tuple[str, str, int]] = [
        ("the board and 2 of the 3 witnesses: witnessed", good, 2),
        ("the board and all 3 witnesses", note(board_sig, w0, w1, w2), 2),
        ("the board's signature alone: not witnessed", signed.render(), 2),
        ("the board and 1 witness: not witnessed (quorum 2)", note(board_sig, w2), 2),
        ("cosignatures before the board's signature", note(w1, w0, board_sig), 2),
        ("the same cosignature twice counts once", note(board_sig, w0, w0), 2),
        (
            "a cosignature of a key the manifest does not name is ignored",
            note(board_sig, w0, co(3), w1),
            2,
        ),
        (
            "an unknown key's line with a garbage signature is ignored",
            note(board_sig, Signature(STRANGER, b"\0\0\0\0", b"garbage"), w1),
            2,
        ),
        (
            "a manifest witness's name under another key is ignored",
            note(board_sig, co(3, name=WITNESSES[0]), w1),
            2,
        ),
        (
            "another key's signature under the origin is ignored",
            note(Signature(ORIGIN, b"\1\2\3\4", _flip(board_sig.signature)), board_sig, w0, w1),
            2,
        ),
        (
            "a bad board signature",
            note(Signature(ORIGIN, board_sig.key_id, _flip(board_sig.signature)), w0, w1),
            2,
        ),
        (
            "a good and a bad signature of the board's key",
            note(
                board_sig,
                Signature(ORIGIN, board_sig.key_id, _flip(board_sig.signature, 0)),
                w0,
                w1,
            ),
            2,
        ),
        (
            "a bad cosignature",
            note(board_sig, w0, Signature(w1.name, w1.key_id, _flip(w1.signature))),
            2,
        ),
        (
            "a cosignature whose time was changed",
            note(board_sig, w0, Signature(w1.name, w1.key_id, _flip(w1.signature, 7))),
            2,
        ),
        (
            "a cosignature of another checkpoint",
            note(board_sig, w0, co(1, of=Checkpoint(ORIGIN, 4, cp.root).text())),
            2,
        ),
        (
            "a cosignature of the wrong length",
            note(board_sig, Signature(WITNESSES[0], w0_id, w0.signature[8:]), w1),
            2,
        ),
        (
            "a cosignature time of 2^63",
            note(
                board_sig,
                Signature(WITNESSES[0], w0_id, (2**63).to_bytes(8, "big") + w0.signature[8:]),
                w1,
            ),
            2,
        ),
        ("not signed by the board", note(w0, w1), 2),
        (
            "another origin",
            Note(
                Checkpoint("other.example/log", cp.size, cp.root).text(),
                (
                    sign_checkpoint(
                        Checkpoint("other.example/log", cp.size, cp.root), signer
                    ).signatures[0],
                ),
            ).render(),
            2,
        ),
        ("the tree head of another size", good, 1),
        ("an extension line", by_board(text + "extension line\n"), 2),
        ("a size with a leading zero", by_board(f"{ORIGIN}\n0{cp.size}\n{root_b64}\n"), 2),
        ("a size that is not a number", by_board(f"{ORIGIN}\n+{cp.size}\n{root_b64}\n"), 2),
        ("a root in loose base64", by_board(f"{ORIGIN}\n{cp.size}\n{loose}\n"), 2),
        (
            "a root of 31 bytes",
            by_board(f"{ORIGIN}\n{cp.size}\n{base64.b64encode(cp.root[:31]).decode()}\n"),
            2,
        ),
        ("an origin with a space", by_board(f"tsukuba example\n{cp.size}\n{root_b64}\n"), 2),
        ("no blank line before the signatures", good.replace("\n\n", "\n"), 2),
        ("no signature lines", text + "\n", 2),
        ("an empty line after the signatures", good + "\n", 2),
        ("no final newline", good[:-1], 2),
        ("a hyphen for the em dash", good.replace(DASH_SP, "- ", 1), 2),
        (
            "two spaces in a signature line",
            "\n".join([*lines[:-2], lines[-2].replace(" ", "  ", 1), ""]),
            2,
        ),
        ("a signature that is not base64", good.replace(lines[-2].split(" ")[2], "not*base64"), 2),
        (
            "a signature without its padding",
            good.replace(lines[-2].split(" ")[2], lines[-2].split(" ")[2].rstrip("=")),
            2,
        ),
        ("a signature of 4 bytes", note(board_sig) + f"{DASH_SP}{STRANGER} AQIDBA==\n", 2),
        ("a key name starting with {", note(board_sig) + f"{DASH_SP}{{board}} AQIDBAU=\n", 2),
        ("a key name with a plus", note(board_sig) + f"{DASH_SP}a+b AQIDBAU=\n", 2),
        (
            "a key name with an ideographic space",
            note(board_sig) + f"{DASH_SP}a\u3000b AQIDBAU=\n",
            2,
        ),
        ("a tab in the text", by_board(f"{ORIGIN}\n{cp.size}\n{root_b64}\t\n"), 2),
        ("CRLF line ends", good.replace("\n", "\r\n"), 2),
        (
            "65 signature lines",
            note(
                board_sig, *[Signature(STRANGER, stranger_key, bytes([i]) * 64) for i in range(64)]
            ),
            2,
        ),
    ]
    return {
        "header": {
            "what": "tohyo checkpoint vectors (C2SP signed-note, tlog-checkpoint, -cosignature)",
            "how": "python -m tests.vectors.generate; witness keys: DeterministicRng(file name)",
            "note": "the board key and tree heads are board.json's; each verdict is "
            "e2e/checkpoint.py's: parse, board signature, same head, cosignatures",
        },
        "board_key": board["board_key"],
        "board_vkey": vkey(ORIGIN, ED25519, board_key),
        "board_key_id": key_id(ORIGIN, ED25519, board_key).hex(),
        # As a manifest carries it (the manifest's checks pass: with_witnesses validates).
        "witnessing": codec.to_document(manifest)["witnessing"],
        "witnesses": [
            {
                "name": n,
                "seed": s.hex().upper(),
                "vkey": vkey(n, COSIGNATURE_V1, _raw(k)),
                "key_id": key_id(n, COSIGNATURE_V1, _raw(k)).hex(),
                "in_manifest": n in WITNESSES,
            }
            for n, s, k in zip(names, seeds, keys, strict=True)
        ],
        "tree_heads": heads,
        "checkpoint": text,
        "cosigned_message": (COSIGN_HEADER + f"time {COSIGNED_AT}\n" + text),
        "cosigned_at": COSIGNED_AT,
        "notes": [
            {
                "what": what,
                "note": n,
                "head": h,
                "expect": verdict(n, heads[h], witnessing, board_key),
            }
            for what, n, h in cases
        ],
        "entry": board["entries"][board["receipt"]["entry"]],
        "receipts": [
            {
                "what": what,
                "receipt": {**board["receipt"], "checkpoint": n},
                "expect": verdict(n, head, witnessing, board_key),
            }
            for what, n in [
                ("a witnessed receipt", good),
                ("a receipt the witnesses have not cosigned yet", signed.render()),
                (
                    "a receipt with a bad cosignature",
                    note(board_sig, w0, Signature(w1.name, w1.key_id, _flip(w1.signature))),
                ),
            ]
        ],
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    for name, group in FILES.items():
        (HERE / name).write_text(render(build(name, group)), encoding="utf-8")
        print(f"wrote {HERE / name}")
    (HERE / BOARD_FILE).write_text(render(build_board()), encoding="utf-8")
    print(f"wrote {HERE / BOARD_FILE}")
    (HERE / CHECKPOINT_FILE).write_text(render(build_checkpoint()), encoding="utf-8")
    print(f"wrote {HERE / CHECKPOINT_FILE}")


if __name__ == "__main__":
    main()
