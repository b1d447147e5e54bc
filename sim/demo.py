"""``tohyo demo``: a whole simulated election through the bulletin board, verified at the end.

5 trustees with quorum 3 hold the key (one absent at decryption). The board runs on SQLite
(or ``--db``) behind the JPKI gate; a stand-in CA issues every simulated voter a signing
certificate (JPKI profile) on a simulated card. Worker processes play the voters: each
encrypts its choices, asks the board for a challenge, signs with its card and submits; the
board verifies and appends (several processes appending to one log). Some voters challenge
a ballot first, some re-vote (the last ballot per contest counts), and some submissions are
refused on purpose: a copied ballot, a corrupted proof, malformed bodies, a ballot after the
close, and ineligible cards (つくばみらい市, 土浦市, revoked, expired, another CA, a bad
signature). After the close the board tallies the counted ballots,
the present trustees decrypt, the record is exported and verified by the independent
verifier, and the results are printed beside what the simulation meant to count.
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization

from bulletin.auth import Refusal
from bulletin.board import Board, BoardClock, export_record, load_signing_key
from bulletin.clock import OffsetClock
from bulletin.jpki import (
    DirectoryEvidenceStore,
    JpkiAuthenticator,
    TrustConfig,
    load_anchors,
    load_crl,
)
from bulletin.jpki.evidence import audit, check_record, read_export
from bulletin.nonces import DatabaseNonceStore
from bulletin.store import Store, make_engine
from e2e import codec
from e2e.ballot import EncryptedBallot, challenge, encrypt_ballot
from e2e.cli import print_report, run_verify
from e2e.election import Election, base_hash
from e2e.group import Group, release_gil
from e2e.manifest import Manifest, manifest_from_json
from e2e.rng import DeterministicRng, Rng, SystemRng
from e2e.tally import trustee_commitments
from e2e.threshold import public_share
from sim import witnesses
from sim.rehearsal import open_in_period, pinned
from sim.testca import SimulatedCard, TestCA, TestCAError, new_key, sign_submission
from trustees.ceremony import run_ceremony
from trustees.decrypt import partial_decrypt

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "tsukuba-2025.json"
PSEUDONYM_KEY = b"demo pseudonym key (the election authority's secret)"
CARD_PASSWORD = "123456"  # the simulated cards' signing password (6 to 16 A-Z/0-9)
CHALLENGE_EVERY = 97  # every 97th voter challenges a ballot first
REVOTE_EVERY = 13  # every 13th voter votes again in one category
ATTACK_EVERY = 50  # every 50th voter's worker also tries something the board must refuse


@dataclass
class Chunk:
    """What a worker reports for a range of simulated voters."""

    accepted: int
    challenged: int
    revotes: int
    refused: Counter
    intended: dict[str, dict[str, str | None]]  # voter → contest → final choice


def simulated_choices(manifest: Manifest, rng: Rng) -> dict[str, list[str]]:
    """One voter's choices: usually every category, sometimes a subset; some blank."""
    contests = list(manifest.contests)
    if rng.randbelow(100) < 25:  # a quarter vote only some categories
        k = 1 + rng.randbelow(len(contests))
        picked: list = []
        while len(picked) < k:
            c = contests[rng.randbelow(len(contests))]
            if c not in picked:
                picked.append(c)
        contests = [c for c in manifest.contests if c in picked]
    out: dict[str, list[str]] = {}
    for c in contests:
        if rng.randbelow(100) < 12:
            out[c.id] = []  # blank
            continue
        weights = [5 + 3 * (len(c.options) - j) for j in range(len(c.options))]
        x = rng.randbelow(sum(weights))
        for o, w in zip(c.options, weights, strict=True):
            if x < w:
                out[c.id] = [o.id]
                break
            x -= w
    return out


_BOARD: Board | None = None
_KEYS: list = []


def _gate(board: Board, ca_pem: bytes, crl: bytes, work: pathlib.Path) -> JpkiAuthenticator:
    """The JPKI gate as the board runs it: the CA as anchor, its CRL, the manifest's rule."""
    anchors = load_anchors(ca_pem)
    election = board.election
    config = TrustConfig.build(
        anchors,
        [load_crl(crl, anchors)],
        address_prefixes=election.manifest.eligibility.address_prefixes,
    )
    return JpkiAuthenticator(
        config,
        PSEUDONYM_KEY,
        bytes(election.h_e),
        DatabaseNonceStore(board.store),
        DirectoryEvidenceStore(work / "evidence"),
        BoardClock(board),
    )


def _init(
    db: str, key: str, offset: float, ca_pem: bytes, crl: bytes, work: str, keys: list[bytes]
) -> None:
    global _BOARD, _KEYS
    release_gil()
    _BOARD = Board(Store(make_engine(db)), load_signing_key(key), OffsetClock(offset))
    _BOARD.authenticator = _gate(_BOARD, ca_pem, crl, pathlib.Path(work))
    _KEYS = [serialization.load_pem_private_key(k, None) for k in keys]


def _card(v: int, cert: bytes) -> SimulatedCard:
    # A few keys are shared by the simulated cards: 1,000 RSA keys would take a minute to make.
    return SimulatedCard.create(_KEYS[v % len(_KEYS)], cert, CARD_PASSWORD, iterations=1000)


def _card_main(keys: list, cert: bytes) -> SimulatedCard:
    return SimulatedCard.create(keys[0], cert, CARD_PASSWORD, iterations=1000)


def _cast(board: Board, ballot: EncryptedBallot, card: SimulatedCard) -> dict:
    """What the booth does on "cast": a challenge from the board, the card's signature."""
    gate = board.authenticator
    assert isinstance(gate, JpkiAuthenticator)
    code = bytes(ballot.confirmation_code)
    ch = gate.new_nonce()
    auth = sign_submission(card, CARD_PASSWORD, bytes(board.election.h_e), code, ch.value)
    return board.submit({"ballot": codec.to_document(ballot), "auth": auth})


def _voters(args: tuple[int, int, str | None, dict[int, bytes]]) -> Chunk:
    """Simulate voters [start, stop): encrypt, sometimes challenge, cast, sometimes re-vote."""
    start, stop, seed, certs = args
    board = _BOARD
    assert board is not None
    election = board.election
    chunk = Chunk(0, 0, 0, Counter(), {})
    for v in range(start, stop):
        rng: Rng = DeterministicRng(f"{seed}/voter/{v}") if seed is not None else SystemRng()
        card = _card(v, certs[v])
        choices = simulated_choices(election.manifest, rng)
        if v % CHALLENGE_EVERY == CHALLENGE_EVERY - 1:
            ballot, secret = encrypt_ballot(election, choices, rng, device="demo-booth")
            board.submit_challenged({"challenged": codec.to_document(challenge(ballot, secret))})
            chunk.challenged += 1
        ballot, _ = encrypt_ballot(election, choices, rng, device="demo-booth")
        _cast(board, ballot, card)
        chunk.accepted += 1
        final = {c: (ch[0] if ch else None) for c, ch in choices.items()}
        if v % REVOTE_EVERY == REVOTE_EVERY - 1:
            # vote again in one category, with the same card: that category's new choice
            # replaces the old one, the voter's other categories keep counting
            contest = election.manifest.contests[rng.randbelow(len(election.manifest.contests))]
            new = [contest.options[rng.randbelow(len(contest.options))].id]
            again, _ = encrypt_ballot(election, {contest.id: new}, rng, device="demo-booth")
            _cast(board, again, card)
            chunk.revotes += 1
            final[contest.id] = new[0]
        chunk.intended[f"person-{v}"] = final
        if v % ATTACK_EVERY == ATTACK_EVERY - 1 and v + 1 in certs:
            _attacks(board, ballot, election, rng, chunk, _card(v + 1, certs[v + 1]))
    return chunk


def _attacks(
    board: Board,
    ballot: EncryptedBallot,
    election: Election,
    rng: Rng,
    chunk: Chunk,
    other: SimulatedCard,
) -> None:
    """Submissions the board must refuse, each with its own reason."""
    fresh, _ = encrypt_ballot(election, {election.manifest.contests[0].id: []}, rng)
    tries = {
        "copied ballot signed by another voter's card": lambda: _cast(board, ballot, other),
        "no card signature": lambda: board.submit(
            {"ballot": codec.to_document(ballot), "auth": {}}
        ),
        "corrupted proof": lambda: _cast(board, _corrupt(fresh), other),
        "not JSON": lambda: board.submit(b"{not json"),
    }
    for name, attempt in tries.items():
        try:
            attempt()
            chunk.refused[f"ACCEPTED?! {name}"] += 1
        except Refusal as e:
            chunk.refused[f"{name}: {e.code}"] += 1


def _corrupt(ballot: EncryptedBallot) -> EncryptedBallot:
    """The same ballot with one proof response changed (its hashes still match)."""
    c = ballot.contests[0]
    s = c.selections[0]
    proof = replace(s.proof, responses=(s.proof.responses[0] + 1, *s.proof.responses[1:]))
    sels = (replace(s, proof=proof), *c.selections[1:])
    return replace(ballot, contests=(replace(c, selections=sels), *ballot.contests[1:]))


def _birth(year: int, month: int, day: int) -> str:
    """JPKI's EYYYYMMDD: the era digit (3 昭和, 4 平成), then the Gregorian date."""
    era = 3 if (year, month, day) < (1989, 1, 8) else 4
    return f"{era}{year}{month:02d}{day:02d}"


def _people(ca: TestCA, keys: list, voters: int, start: datetime) -> dict[int, bytes]:
    """A signing certificate for every simulated voter, all living in つくば市."""
    issued = start - timedelta(days=200)
    return {
        v: ca.issue(
            name=f"投票　太郎{v}",
            birth=_birth(1950 + v % 50, 1 + v % 12, 1 + v % 28),
            sex="1" if v % 2 else "2",
            address=f"茨城県つくば市研究学園{1 + v % 9}丁目{1 + v % 30}番地",
            issued=issued,
            key=keys[v % len(keys)],
        ).public_bytes(serialization.Encoding.DER)
        for v in range(voters + 1)
    }


def _ineligible(ca: TestCA, keys: list, start: datetime) -> dict[str, SimulatedCard]:
    """Cards the gate must refuse, each for its own reason (revoked ones go on the CRL)."""
    issued = start - timedelta(days=200)
    other_ca = TestCA.create(not_before=start - timedelta(days=400), key=keys[-1])
    holder = {
        "name": "試験　花子",
        "birth": "319800101",
        "sex": "2",
        "address": "茨城県つくば市千現1丁目1番地",
        "issued": issued,
        "key": keys[0],
    }
    certs = {
        "resident of つくばみらい市": ca.issue(
            **{**holder, "address": "茨城県つくばみらい市陽光台1丁目"}
        ),
        "resident of 土浦市": ca.issue(**{**holder, "address": "茨城県土浦市大和町1番1号"}),
        "expired certificate": ca.issue(
            **{
                **holder,
                "issued": start - timedelta(days=2000),
                "not_after": start - timedelta(days=1),
            }
        ),
        "certificate of another CA": other_ca.issue(**holder),
        "revoked certificate": ca.issue(**holder),
    }
    ca.revoke(certs["revoked certificate"].serial_number, start - timedelta(days=10))
    der = {k: c.public_bytes(serialization.Encoding.DER) for k, c in certs.items()}
    cards = {
        k: SimulatedCard.create(keys[0], v, CARD_PASSWORD, iterations=1000) for k, v in der.items()
    }
    # the right certificate, the wrong key: the signature does not verify
    good = ca.issue(**holder).public_bytes(serialization.Encoding.DER)
    cards["signature by another key"] = SimulatedCard.create(
        keys[1], good, CARD_PASSWORD, iterations=1000
    )
    return cards


def run_demo(
    group: Group,
    manifest: Manifest,
    voters: int,
    trustees: int,
    quorum: int,
    absent: int,
    seed: str | None,
    out: pathlib.Path,
    jobs: int,
    echo: Callable[[str], None],
    db: str | None = None,
) -> bool:
    """Run the simulated election; True if the verified results equal the intended counts."""
    t0 = time.perf_counter()
    if absent > trustees - quorum:
        raise SystemExit(f"--absent {absent} leaves fewer than the quorum {quorum} of {trustees}")
    rng: Rng = DeterministicRng(f"{seed}/ceremony") if seed is not None else SystemRng()
    work = pathlib.Path(tempfile.mkdtemp(prefix="tohyo-demo-"))
    key_path = work / "board.key"
    # The board's key is named in the manifest before the ceremony: it is part of H_B.
    manifest = pinned(replace(manifest, trustees=trustees, quorum=quorum), key_path)
    # Two independent witnesses, named in the manifest too (docs/protocol.md §8.4).
    wits = witnesses.create(work / "witnesses")
    manifest = witnesses.witnessed(manifest, wits)
    h_p, _ = base_hash(group, manifest)
    echo(f"election: {manifest.title.ja} / {manifest.title.en}")
    echo(f"group: {group.name}")
    echo(f"board key (in the manifest): {manifest.board.public_key.hex_upper()}")
    assert manifest.witnessing is not None
    echo(
        f"witnesses (in the manifest): {', '.join(w.name for w in wits)}; both must cosign "
        f"each head; origin {manifest.witnessing.origin}"
    )
    echo(f"key ceremony: {trustees} trustees, quorum {quorum}")
    secrets_list, publics = run_ceremony(group, h_p, trustees, quorum, rng)
    election = Election(group, manifest, group.product(t.key for t in publics))
    echo(f"  joint key K ready; H_E = {election.h_e.hex_upper()[:32]}…")

    try:
        db = db or f"sqlite:///{work / 'board.db'}"
        board, offset = open_in_period(db, key_path, election, publics)
        start = board.clock.now()
        t_ca = time.perf_counter()
        keys = [new_key() for _ in range(4)]
        ca = TestCA.create(not_before=start - timedelta(days=1000))
        certs = _people(ca, keys, voters, start)
        bad_cards = _ineligible(ca, keys, start)
        crl = ca.crl(start - timedelta(days=1), manifest.end_time + timedelta(days=1))
        board.authenticator = _gate(board, ca.pem, crl, work)
        echo(
            f"board: {board.store.engine.dialect.name}, opened; stand-in JPKI CA issued "
            f"{len(certs)} certificates and cards ({time.perf_counter() - t_ca:.1f} s)"
        )
        echo(f"voting: {voters} voters in {jobs} processes, each signing with its card")

        t1 = time.perf_counter()
        per = max(1, min(100, voters // (4 * jobs) or 1))
        ranges = [
            (
                s,
                min(s + per, voters),
                seed,
                {v: certs[v] for v in range(s, min(s + per, voters) + 1)},
            )
            for s in range(0, voters, per)
        ]
        total = Chunk(0, 0, 0, Counter(), {})
        keys_pem = [
            k.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            for k in keys
        ]
        args = (db, str(key_path), offset, ca.pem, crl, str(work), keys_pem)
        with ProcessPoolExecutor(jobs, initializer=_init, initargs=args) as pool:
            # The voters' processes are forked before the witnesses' threads start: a fork
            # taken while a thread is inside SQLite can leave the child a lock it never
            # releases (fork copies the memory, not the threads).
            pool.submit(int).result()
            with witnesses.running(board, wits, alert=echo) as cosigned:
                for chunk in pool.map(_voters, ranges):
                    total.accepted += chunk.accepted
                    total.challenged += chunk.challenged
                    total.revotes += chunk.revotes
                    total.refused.update(chunk.refused)
                    total.intended.update(chunk.intended)
            for name, card in bad_cards.items():
                ballot, _ = encrypt_ballot(election, {manifest.contests[0].id: []}, rng)
                try:
                    _cast(board, ballot, card)
                    total.refused[f"ACCEPTED?! {name}"] += 1
                except Refusal as e:
                    total.refused[f"{name}: {e.code}"] += 1
            locked = SimulatedCard.create(keys[0], certs[0], CARD_PASSWORD, iterations=1000)
            for _ in range(SimulatedCard.TRIES):
                try:
                    locked.sign(b"x", "WRONG1")
                except TestCAError:
                    pass
            total.refused[f"card after {SimulatedCard.TRIES} wrong passwords: locked"] += int(
                locked.locked
            )
            board.close()
        echo(
            f"witnesses: {cosigned.get('cosigned', 0)} cosignatures while voting was open "
            f"(heads the board offered them)"
        )
        late, _ = encrypt_ballot(election, {manifest.contests[0].id: []}, rng)
        try:
            _cast(board, late, _card_main(keys, certs[0]))
        except Refusal as e:
            total.refused[f"ballot after the close: {e.code}"] += 1
        echo(
            f"voting: {total.accepted} ballots cast, {total.revotes} re-votes, "
            f"{total.challenged} challenged; {time.perf_counter() - t1:.1f} s"
        )
        echo("refused on purpose (the board must refuse each):")
        for reason, n in sorted(total.refused.items()):
            echo(f"  {n:4d}  {reason}")

        tally = board.post_tally()
        away = set(range(2, 2 + absent))
        present = [s for s in secrets_list if s.index not in away]
        echo(
            f"decryption: trustees {[s.index for s in present]} present, "
            f"{sorted(away) or 'none'} absent"
        )
        commitments = trustee_commitments(publics)
        for s in present:
            drng = (
                DeterministicRng(f"{seed}/decrypt/{s.index}") if seed is not None else SystemRng()
            )
            partial = partial_decrypt(
                election, tally, s, public_share(group, commitments, s.index), drng
            )
            board.post_decryption(codec.encode(partial))
        board.post_results()
        if not witnesses.cosign_final(board, wits):
            raise SystemExit("demo failed: the witnesses did not cosign the final head")
        echo(f"witnesses: both cosigned the final head (size {board.store.size()})")
        if out.exists():
            shutil.rmtree(out)
        export_record(board, out)
        echo(f"record exported to {out} ({board.store.size()} log entries)")
        # The auditor's view: the evidence store (certificates and signatures, never
        # published) re-verified offline, and every cast ballot in the record covered by it.
        gate = board.authenticator
        assert isinstance(gate, JpkiAuthenticator)
        records = list(read_export(work / "evidence"))
        lines = audit(records, gate.config, PSEUDONYM_KEY)
        problems = check_record(out, records, lines)
        ok_lines = sum(1 for line in lines if line.result == "ok")
        echo(
            f"audit: {ok_lines} of {len(lines)} evidence records re-verify; "
            f"{'every cast ballot has evidence' if not problems else problems[:3]}"
        )
        if problems:
            raise SystemExit("demo failed: the evidence does not cover the cast ballots")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    echo("verifying the record independently (tohyo verify)…")
    t2 = time.perf_counter()
    report = run_verify(str(out), jobs, echo, show_progress=False)
    print_report(report, time.perf_counter() - t2, echo)

    intended: Counter = Counter()
    for final in total.intended.values():
        for contest_id, option_id in final.items():
            if option_id is not None:
                intended[(contest_id, option_id)] += 1
    ok = not any(k.startswith("ACCEPTED") for k in total.refused)
    echo("")
    echo(f"{'contest':<12} {'option':<22} {'decrypted':>9} {'intended':>9}")
    for c in report.results.contests if report.results else ():
        for o in c.options:
            want = intended[(c.contest, o.option)]
            ok &= want == o.votes
            mark = "" if want == o.votes else "  MISMATCH"
            echo(f"{c.contest:<12} {o.option:<22} {o.votes:>9} {want:>9}{mark}")
    echo(f"{'all equal' if ok else 'RESULTS DIFFER'}; total {time.perf_counter() - t0:.1f} s")
    return ok


def load_manifest(path: pathlib.Path) -> Manifest:
    return manifest_from_json(path.read_text(encoding="utf-8"))
