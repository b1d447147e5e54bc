"""The bulletin board: setup, open/close, ballot acceptance, re-voting, receipts, export.

Every state change is a log entry (:class:`e2e.board.BoardEntry`); nothing is updated or
deleted. The board's state (open or closed, the election) is read back from the log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import bindparam, or_, select

from bulletin import schema
from bulletin.auth import Authenticator, Refusal
from bulletin.batcher import Interrupted, Pipeline, Ticket, verify_each
from bulletin.clock import Clock, SystemClock, iso
from bulletin.cosigning import Cosigning
from bulletin.store import Appended, Store, frontier_root, is_unavailable
from e2e import codec
from e2e.ballot import ChallengedBallot, EncryptedBallot, ballot_claims, verify_challenged
from e2e.batch import verify_claims
from e2e.board import (
    BoardEntry,
    BoardEvent,
    BoardKey,
    CastBallot,
    Entry,
    TreeHead,
    TreeHeadBody,
    counted_contests,
    kind_of,
    log_id,
)
from e2e.election import Election, ElectionParameters, TrusteePublicKey, check_trustee_keys
from e2e.errors import ParseError, TohyoError, VerificationError
from e2e.group import GROUPS
from e2e.hash import HashValue
from e2e.manifest import Manifest, manifest_from_canonical
from e2e.merkle import consistency_proof, inclusion_proof, inclusion_proof_nodes
from e2e.record import Layout, payload_path, write_board_record
from e2e.tally import (
    EncryptedTally,
    PartialDecryption,
    Products,
    Results,
    accumulate,
    check_quorum,
    combine,
    partial_claims,
    tally_from_products,
    trustee_commitments,
)


class BoardError(TohyoError):
    """An administrative step is not possible (wrong state, inconsistent setup)."""


def new_signing_key(path: str | os.PathLike[str]) -> BoardKey:
    """Create the board's Ed25519 signing key (PEM, mode 0600); returns its public key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    p = pathlib.Path(path)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return public_key_of(key)


def load_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pathlib.Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise BoardError("the board key must be an Ed25519 key")
    return key


def public_key_of(key: Ed25519PrivateKey) -> BoardKey:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return BoardKey(HashValue(raw))


def _ct_digest(ballot: EncryptedBallot) -> bytes:
    """A digest of all the ballot's ciphertexts: the same ciphertexts under a new id or
    code are still a copy (ballot-copying attack)."""
    h = hashlib.sha256()
    for c in ballot.contests:
        for s in c.selections:
            h.update(s.ciphertext.alpha.to_bytes())
            h.update(s.ciphertext.beta.to_bytes())
    return h.digest()


class _Outcome:
    """Whether a submission's outcome has been reported to the board's observer."""

    __slots__ = ("reported",)

    def __init__(self) -> None:
        self.reported = False


def passing(e: BaseException) -> bool:
    """True for an error that means the board cannot answer for now (the database down, a
    batch cut short by a shutdown: the API's 503 "unavailable"), False for a bug."""
    return isinstance(e, Interrupted) or is_unavailable(e)


def _refusal_code(e: BaseException) -> str:
    """The outcome a failed submission is counted under: what the API answers it with."""
    if isinstance(e, Refusal):
        return e.code
    if isinstance(e, BoardError):  # no election yet
        return "wrong_state"
    if isinstance(e, TohyoError):  # the API's 400
        return "malformed"
    if passing(e):  # the API's 503
        return "unavailable"
    return "internal"  # the API's 500


class _Pending:
    """A submission that passed the cheap checks and waits for the batch."""

    __slots__ = (
        "kind",
        "ballot",
        "payload",
        "digest",
        "voter",
        "claims",
        "ct_digest",
        "members",
        "at",
        "outcome",
    )

    def __init__(
        self,
        kind: str,
        ballot: EncryptedBallot,
        payload: bytes,
        digest: bytes,
        voter: str,
        claims: list,
        members: codec.PendingMembership,
        at: datetime,
        outcome: _Outcome,
    ) -> None:
        self.outcome = outcome  # whether the batch has reported it (accepted, retried)
        self.members = members
        self.at = at  # the board's time when it was admitted
        self.kind = kind
        self.ballot = ballot
        self.payload = payload
        self.digest = digest
        self.voter = voter
        self.claims = claims
        self.ct_digest = _ct_digest(ballot)

    def keys(self) -> tuple[bytes, ...]:
        """What must be unique on the board (the submission digest and the copy checks)."""
        b = self.ballot
        return (self.digest, bytes(b.ballot_id), bytes(b.confirmation_code), self.ct_digest)


class BoardObserver:
    """What a board tells about its work as it goes, for metrics (``web.metrics`` has the
    Prometheus one); this one does nothing. Its methods must be quick; an exception they
    raise is ignored, so an observer never refuses or fails a ballot."""

    def submission(self, kind: str, outcome: str) -> None:
        """A submission of ``kind`` (``ballot`` or ``challenged``) ended: ``accepted`` (its
        entry was appended), ``retried`` (the same submission again, given its first
        receipt), or refused with ``outcome``, the refusal code."""

    def batch(self, size: int) -> None:
        """The acceptance pipeline runs a batch of ``size`` submissions."""

    def append(self, entries: int, seconds: float) -> None:
        """A batch's write transaction, from the moment it holds the log's lock (copy checks,
        append, head, commit), appended ``entries`` entries in ``seconds``: the serial part
        of accepting ballots, the one that more processes or machines do not spread."""


class BoardClock:
    """A :class:`~bulletin.clock.Clock` that tells the board's time (:meth:`Board.now`):
    what the JPKI gate judges a certificate at, so a stepped clock cannot take the receipt
    time back before a revocation the log has already lived past."""

    def __init__(self, board: Board) -> None:
        self.board = board

    def now(self) -> datetime:
        return self.board.now()


class Board:
    """One election's bulletin board over a :class:`Store`."""

    def __init__(
        self,
        store: Store,
        signing_key: Ed25519PrivateKey,
        clock: Clock | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.store = store
        self.key = signing_key
        self.public = public_key_of(signing_key)
        self.log = log_id(self.public)
        self.clock = clock or SystemClock()
        self.authenticator = authenticator
        self._election: Election | None = None
        self._pipeline: Pipeline[_Pending] | None = None
        self._init_lock = threading.Lock()
        self._floor: datetime | None = None  # the latest time this process has used
        self.observer = BoardObserver()  # replaced by the site's metrics
        self.cosigning = Cosigning(self)  # checkpoints and witnesses' cosignatures (§8.4)

    # --- the election, as set up on the log ------------------------------------------------

    @property
    def election(self) -> Election:
        if self._election is None:
            with self._init_lock:  # one Election (and one key table) per board object
                if self._election is None:
                    election = self._load_election()
                    # Every ballot's proofs need g's window table as well as K's. Built
                    # lazily, the first ballot after a start built it (0.6 s of one core
                    # on the development VM) while every other request thread waited.
                    election.group.g_table  # noqa: B018
                    self._election = election
        return self._election

    def _load_election(self) -> Election:
        setup: dict[str, list[bytes]] = {k: [] for k in ("manifest", "parameters")}
        for _, kind, data in self.store.kinds(["manifest", "parameters"]):
            setup[kind].append(Entry(data).payload)
        if not setup["manifest"] or not setup["parameters"]:
            raise BoardError("the board has no election yet (tohyo board init)")
        manifest = manifest_from_canonical(setup["manifest"][0])
        params_raw = setup["parameters"][0]
        group = GROUPS[json.loads(params_raw)["group"]]
        params = codec.decode(params_raw, ElectionParameters, group)
        if manifest.board is not None and manifest.board != self.public:
            # A wrong --key (a typo creates a new one) would sign heads that the record's
            # verifier must refuse, and the log is insert-only: refuse before any write.
            raise BoardError(
                f"the signing key's public key {self.public.public_key.hex_upper()} is not the "
                f"board key {manifest.board.public_key.hex_upper()} that the election's "
                "manifest names: wrong --key?"
            )
        return Election(group, manifest, params.election_key)

    @property
    def manifest(self) -> Manifest:
        return self.election.manifest

    def publics(self) -> list[TrusteePublicKey]:
        g = self.election.group
        return [Entry(d).decode(TrusteePublicKey, g) for _, _, d in self.store.kinds(["trustee"])]

    # --- appending -------------------------------------------------------------------------

    def now(self) -> datetime:
        """The board's time: this process's clock, but never earlier than the log's last
        entry nor than a time this process has already used. Rules that depend on time
        (open, close, a certificate's validity and revocation at receipt) are judged at
        this time, and an entry's own time is decided under the append lock
        (:meth:`bulletin.store.Store.append_many`), so a clock that steps back, or a
        process whose clock is behind another's, can neither make the log go back nor
        reopen a period the log has already passed (docs/protocol.md, "Time on the
        board")."""
        return self._time_after(self.store.log_time())

    def _time_after(self, last: str) -> datetime:
        """:meth:`now`, given the time of the log's last entry ("" for an empty log)."""
        t = self.clock.now()
        if last:
            t = max(t, datetime.fromisoformat(last))
        with self._init_lock:
            if self._floor is not None and t < self._floor:
                t = self._floor
            self._floor = t
        return t

    def _append(self, conn: Any, kind: str, payload: bytes) -> Appended:
        """Append an administrative entry (no voter) at the board's time."""
        text = payload.decode("utf-8")

        def make(index: int, when: str) -> bytes:
            return codec.encode(BoardEntry(index, kind, when, "", text))

        return self.store.append(conn, kind, make, self.clock.now())

    def sign_head(self, conn: Any, appended: Appended) -> TreeHead:
        """Sign the tree head after ``appended`` and store it in the same transaction as
        the entries: a log and the head that covers it are committed together, so no
        crash can leave entries that no signed head covers."""
        # The head carries its last entry's time (decided under the lock): heads' times then
        # never go back either, whatever the clock read meanwhile.
        body = TreeHeadBody(self.log, appended.size, HashValue(appended.root), appended.time)
        sig = self.key.sign(codec.encode(body)).hex().upper()
        head = TreeHead(body.log, body.size, body.root, body.time, sig)
        conn.execute(schema.tree_heads.insert().values(size=body.size, data=codec.encode(head)))
        return head

    def recover(self) -> TreeHead | None:
        """Sign the head of a log that no signed head covers (a board written by a version
        that signed after the commit and was killed in between); None if nothing was
        missing. Called when a board is opened for serving or administration."""
        if self.store.size():
            self.election  # noqa: B018 (refuses a key that is not the manifest's board key)
        with self.store.write() as conn:
            size, frontier = self.store.tip(conn)
            if not size or self.store.head_size(conn) >= size:
                return None
            last = self.store.log_time(conn)
            return self.sign_head(conn, Appended(size - 1, size, frontier_root(frontier), last))

    def post(self, kind: str, payload: bytes) -> int:
        """Append an administrative entry and sign the new head (one transaction)."""
        with self.store.write() as conn:
            a = self._append(conn, kind, payload)
            self.sign_head(conn, a)
        return a.index

    # --- administration --------------------------------------------------------------------

    def setup(
        self,
        manifest: bytes,
        parameters: bytes,
        trustees: Sequence[bytes],
    ) -> None:
        """Post the election: manifest, trustee public keys, parameters (checked first)."""
        if self.store.size():
            raise BoardError("the board already holds an election")
        m = manifest_from_canonical(manifest)
        group_name = json.loads(parameters).get("group")
        if group_name not in GROUPS:
            raise BoardError(f"unknown group {group_name!r}")
        group = GROUPS[group_name]
        params = codec.decode(parameters, ElectionParameters, group)
        publics = codec.decode_many(list(trustees), TrusteePublicKey, group)
        if m.board != self.public:
            raise BoardError(
                "the manifest does not name this board's public key "
                f"{self.public.public_key.hex_upper()} (tohyo board pin-manifest); the key "
                "pins the board in what the trustees hash, so no other board can re-sign the log"
            )
        election = Election(group, m, params.election_key)
        check_trustee_keys(group, election.h_p, m.trustees, m.quorum, publics)
        if election.parameters() != params:
            raise BoardError("parameters.json does not match the manifest and the trustee keys")
        with self.store.write() as conn:
            if self.store.tip(conn)[0]:  # checked again under the lock: one election per board
                raise BoardError("the board already holds an election")
            self._append(conn, "manifest", manifest)
            for t in sorted(publics, key=lambda t: t.index):
                self._append(conn, "trustee", codec.encode(t))
            self.sign_head(conn, self._append(conn, "parameters", parameters))

    def state(self) -> str:
        """``setup`` (no election), ``ready``, ``open``, ``closed``."""
        if not self.store.size():
            return "setup"
        return self._state_name(self.store.with_reader(_last_event))

    def open(self) -> int:
        """Post the ``open`` event (the board must be ready)."""
        return self._event("open", None)

    def close(self) -> int:
        """Post the ``close`` event (the board must be open)."""
        return self._event("close", "open")

    def _event(self, name: str, after: str | None) -> int:
        # The state is checked inside the write transaction, so two administrators cannot
        # both open (or both close) the election.
        with self.store.write() as conn:
            if not self.store.tip(conn)[0]:
                raise BoardError(f"cannot {name}: the board has no election yet")
            last = _last_event(conn)
            if last != after:
                raise BoardError(f"cannot {name}: the board is {self._state_name(last)}")
            a = self._append(conn, "event", codec.encode(BoardEvent(name)))
            self.sign_head(conn, a)
        return a.index

    @staticmethod
    def _state_name(last_event: str | None) -> str:
        return {None: "ready", "open": "open"}.get(last_event, "closed")

    def voted_in(self, voter: str, contests: tuple[int, ...], code: bytes) -> bool:
        """Whether ``voter`` has a cast ballot on the log, other than the one whose
        confirmation code is ``code`` (a retry of the same ballot), that covers any of
        ``contests``. Reads the voter's own few entries (the ballot index by voter)."""
        rows = self.store.voter_ballots(voter, code)
        wanted = set(contests)
        return any(wanted.intersection(Entry(data).contests) for data in rows)

    # --- voters ----------------------------------------------------------------------------

    def _parse_submission(self, body: bytes | Mapping[str, Any], field: str) -> tuple[Any, Any]:
        if isinstance(body, bytes | bytearray):
            try:
                body = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise Refusal("malformed", "not JSON") from None
        if not isinstance(body, Mapping) or field not in body:
            raise Refusal("malformed", f"expected an object with {field!r}")
        return body[field], body.get("auth", {})

    def submit(self, body: bytes | Mapping[str, Any]) -> dict[str, Any]:
        """Accept a cast ballot, or raise Refusal with the reason. Returns the receipt."""
        return self._admit(body, "ballot")

    def submit_challenged(self, body: bytes | Mapping[str, Any]) -> dict[str, Any]:
        """Post a challenged ballot (with its revealed nonce); it never counts."""
        return self._admit(body, "challenged")

    def _report(self, kind: str, outcome: str) -> None:
        with contextlib.suppress(Exception):
            self.observer.submission(kind, outcome)

    def _report_item(self, it: _Pending, outcome: str) -> None:
        it.outcome.reported = True
        self._report(it.kind, outcome)

    def _admit(self, body: bytes | Mapping[str, Any], kind: str) -> dict[str, Any]:
        """:meth:`_admit_checked`, with its outcome reported to the observer once: an error
        after its batch committed it (the receipt's reads, a shutdown) is not counted again
        as a refusal beside "accepted"."""
        outcome = _Outcome()
        try:
            return self._admit_checked(body, kind, outcome)
        except Exception as e:
            if not outcome.reported:
                self._report(kind, _refusal_code(e))
            raise

    def _admit_checked(
        self, body: bytes | Mapping[str, Any], kind: str, outcome: _Outcome
    ) -> dict[str, Any]:
        """The checks that need no lock, then the shared batch (proofs, append, receipt).
        Announced to the pipeline from the start, so that a batch waits for it."""
        with self.pipeline.expecting() as ticket:
            return self._admit_announced(body, kind, ticket, outcome)

    def _admit_announced(
        self, body: bytes | Mapping[str, Any], kind: str, ticket: Ticket, outcome: _Outcome
    ) -> dict[str, Any]:
        raw, auth = self._parse_submission(body, kind)
        election = self.election
        cls = EncryptedBallot if kind == "ballot" else ChallengedBallot
        try:
            obj, members = codec.from_document_deferred(raw, cls, election.group)
        except ParseError as e:
            raise Refusal("malformed", str(e)) from None
        ballot = obj if isinstance(obj, EncryptedBallot) else obj.ballot
        try:
            data = codec.dumps(raw)  # canonical: the strict decode accepted exactly this
        except ParseError as e:  # a lone surrogate in a string has no UTF-8 bytes
            raise Refusal("malformed", str(e)) from None
        digest = hashlib.sha256(data).digest()
        voter = ""  # a challenged ballot is nobody's vote
        if kind == "ballot":
            if self.authenticator is None:
                raise Refusal("unauthenticated", "no authenticator configured")
            # The voter's card signed (H_E, this confirmation code, a server challenge).
            contests = tuple(c.contest for c in ballot.contests)
            voter = self.authenticator.authenticate(auth, bytes(ballot.confirmation_code), contests)
        # One read for what admission asks of the log (a retry, the board's time, whether it
        # is open): one connection and three indexed lookups per submission, not five.
        rows, last_time, event = self.store.with_reader(
            lambda conn: (
                self._copies(conn, digest, bytes(ballot.ballot_id)),
                self.store.log_time(conn),
                _last_event(conn),
            )
        )
        if rows:  # a retry or a copy, never batched: no batch waits while its receipt is built
            self.pipeline.withdraw(ticket)
        first = self._retry(rows, voter, digest)
        if first is not None:
            self._report(kind, "retried")
            return first
        # After the authenticator, which judged the card at the board's time: the entry's
        # time will be at least this one, so the evidence is never later than its entry.
        # (The batch decides again, under the log's lock, whether the board is open.)
        at = self._time_after(last_time)
        m = self.manifest
        if event != "open" or not m.start_time <= at <= m.end_time:
            raise Refusal("not_open")
        try:
            claims = ballot_claims(election, ballot)
            if isinstance(obj, ChallengedBallot):
                verify_challenged(election, obj)
        except VerificationError as e:
            raise Refusal("invalid_ballot", e.reason) from None
        return self.pipeline.submit(
            _Pending(kind, ballot, data, digest, voter, claims, members, at, outcome), ticket
        )

    @staticmethod
    def _copies(conn: Any, digest: bytes, ballot_id: bytes) -> list[Any]:
        """Ballots on the board with this submission digest or this ballot id."""
        return conn.execute(_COPIES, {"digest": digest, "ballot_id": ballot_id}).all()

    def _retry(self, rows: list[Any], voter: str, digest: bytes) -> dict[str, Any] | None:
        """The same submission again (a network retry): the first receipt, nothing added.
        ``rows``: :meth:`_copies` of the submission."""
        for row in rows:
            if row.submission == digest:
                if row.voter != voter:
                    raise Refusal("copy", "this ballot was cast by another voter")
                return self.receipt_for(row.entry)
        if rows:
            raise Refusal("copy", "a ballot with this id is already on the board")
        return None

    @property
    def pipeline(self) -> Pipeline[_Pending]:
        if self._pipeline is None:
            with self._init_lock:
                if self._pipeline is None:
                    self._pipeline = Pipeline(
                        self._accept_batch, observe=lambda n: self.observer.batch(n)
                    )
        return self._pipeline

    def _accept_batch(self, items: list[_Pending]) -> list[Any]:
        """Verify the waiting submissions in one batch and append the good ones in one
        transaction (one commit, one signed tree head); then their receipts."""
        group = self.election.group
        results: list[Any] = [None] * len(items)
        # Membership of every element and every proof of every waiting submission: one test.
        errors = verify_each(group, [it.claims for it in items], [it.members for it in items])
        for n, e in enumerate(errors):
            if isinstance(e, ParseError):
                results[n] = Refusal("malformed", str(e))
            elif e is not None:
                results[n] = Refusal("invalid_proof", str(e))
        appended: dict[int, tuple[int, bytes]] = {}  # item → (entry, code)
        head: TreeHead | None = None
        retried: dict[int, int] = {}  # item → entry of its first copy
        live = [n for n, r in enumerate(results) if r is None]
        if live:
            with self.store.write() as conn:
                # the serial part starts once the log's lock is held (waiting is not its cost)
                # and ends with the commit, when the with block ends
                t_lock = time.perf_counter()
                # The batch's time: the latest of this clock, the log's last entry and the
                # times its items were admitted at (Store.append_many takes the first two).
                now = max([self.clock.now(), *(items[n].at for n in live)])
                if not self._open_in(conn, max(iso(now), self.store.log_time(conn))):
                    for n in live:
                        results[n] = Refusal("not_open")
                    live = []
                on_board = self._on_board(conn, [items[n] for n in live])
                take: list[int] = []
                for n in live:
                    it = items[n]
                    dup = [on_board[k] for k in it.keys() if k in on_board]
                    same = [e for e, sub, voter in dup if sub == it.digest and voter == it.voter]
                    if same:
                        retried[n] = same[0]
                    elif dup:
                        results[n] = Refusal(
                            "copy",
                            "same id, confirmation code or ciphertexts as a ballot on the board",
                        )
                    else:
                        take.append(n)
                        for k in it.keys():  # a later copy in this same batch
                            on_board[k] = (-1 - n, it.digest, it.voter)
                if take:
                    done = self.store.append_many(
                        conn, [(items[n].kind, self._entry_maker(items[n])) for n in take], now
                    )
                    conn.execute(
                        schema.ballots.insert(),
                        [
                            {
                                "entry": a.index,
                                "kind": items[n].kind,
                                "ballot_id": bytes(items[n].ballot.ballot_id),
                                "code": bytes(items[n].ballot.confirmation_code),
                                "ct_digest": items[n].ct_digest,
                                "submission": items[n].digest,
                                "voter": items[n].voter,
                            }
                            for n, a in zip(take, done, strict=True)
                        ],
                    )
                    for n, a in zip(take, done, strict=True):
                        appended[n] = (a.index, bytes(items[n].ballot.confirmation_code))
                    head = self.sign_head(conn, done[-1])
            if appended:
                with contextlib.suppress(Exception):
                    self.observer.append(len(appended), time.perf_counter() - t_lock)
        # a retry of a submission appended earlier in this batch gets that entry's receipt
        first_of = {-1 - n: appended[n][0] for n in appended}
        retried = {n: first_of.get(e, e) for n, e in retried.items()}
        for n in appended:
            self._report_item(items[n], "accepted")  # committed, whatever the receipt does
        if appended and head is not None:
            # One checkpoint for the batch (every receipt of it is against the same head)
            # and the nodes of all their inclusion proofs in one read.
            note = self._checkpoint(head)
            nodes = self._proof_nodes([index for index, _ in appended.values()], head.size)
            for n, (index, code) in appended.items():
                results[n] = self._receipt(index, code, head, note, nodes)
        for n, entry in retried.items():
            results[n] = self.receipt_for(entry)
            self._report_item(items[n], "retried")
        return results

    def _open_in(self, conn: Any, when: str) -> bool:
        """Open at ``when`` (the time the entries will carry), as this write transaction
        sees the log (close is serialised with appends, so no ballot lands after the
        close)."""
        if _last_event(conn) != "open":
            return False
        m = self.manifest
        return m.start_time <= datetime.fromisoformat(when) <= m.end_time

    def _entry_maker(self, it: _Pending) -> Any:
        def make(index: int, when: str) -> bytes:
            return codec.encode(BoardEntry(index, it.kind, when, it.voter, it.payload.decode()))

        return make

    def _on_board(self, conn: Any, items: list[_Pending]) -> dict[bytes, tuple[int, bytes, str]]:
        """Ballots already on the board that share a key with these items, in one query:
        key (submission digest, id, code or ciphertext digest) → (entry, submission, voter)."""
        if not items:
            return {}
        c = schema.ballots.c
        rows = conn.execute(
            select(c.entry, c.submission, c.voter, c.ballot_id, c.code, c.ct_digest).where(
                or_(
                    c.submission.in_([it.digest for it in items]),
                    c.ballot_id.in_([bytes(it.ballot.ballot_id) for it in items]),
                    c.code.in_([bytes(it.ballot.confirmation_code) for it in items]),
                    c.ct_digest.in_([it.ct_digest for it in items]),
                )
            )
        ).all()
        out: dict[bytes, tuple[int, bytes, str]] = {}
        for r in rows:
            for key in (r.submission, r.ballot_id, r.code, r.ct_digest):
                out[bytes(key)] = (r.entry, bytes(r.submission), r.voter)
        return out

    # --- receipts and proofs ---------------------------------------------------------------

    def _checkpoint(self, head: TreeHead) -> str | None:
        """The head as a C2SP checkpoint with the cosignatures collected so far (None in an
        election without witnesses): a client accepts the head only with the manifest's
        quorum of them (docs/protocol.md §8.4)."""
        if self.manifest.witnessing is None:
            return None
        return self.cosigning.note_of(head).render()

    def _proof_nodes(self, indexes: list[int], size: int) -> dict[tuple[int, int], bytes]:
        """The nodes the inclusion proofs of these entries in a log of ``size`` need."""
        ids = list({n for i in indexes for group in inclusion_proof_nodes(i, size) for n in group})
        return self.store.with_reader(lambda conn: self.store.nodes(conn, ids))

    def _receipt(
        self,
        index: int,
        code: bytes,
        head: TreeHead,
        checkpoint: str | None = None,
        nodes: dict[tuple[int, int], bytes] | None = None,
    ) -> dict[str, Any]:
        """A receipt against ``head``; ``checkpoint``: its note, and ``nodes``: those its
        inclusion proof needs (:meth:`_proof_nodes`), if the caller has them."""
        if nodes is None:
            nodes = self._proof_nodes([index], head.size)
        proof = inclusion_proof(index, head.size, lambda lv, i: nodes[(lv, i)])
        out = {
            "entry": index,
            "confirmation_code": code.hex().upper(),
            "tree_head": codec.to_document(head),
            "inclusion_proof": [h.hex().upper() for h in proof],
        }
        note = checkpoint if checkpoint is not None else self._checkpoint(head)
        if note is not None:
            out["checkpoint"] = note
        return out

    def latest_head(self) -> TreeHead:
        data = self.store.tree_head()
        if data is None:
            raise BoardError("the board has no tree head yet")
        return codec.decode(data, TreeHead)

    def receipt_for(self, index: int) -> dict[str, Any]:
        """A receipt for an entry, with a fresh inclusion proof against the latest head
        that a quorum of witnesses cosigned and that covers the entry; without one yet (or
        in an election without witnesses), against the latest head."""
        row = self.store.entry(index)
        if row is None:
            raise Refusal("not_found")
        entry = Entry(row)
        code = b""
        if entry.kind in ("ballot", "challenged"):
            code = bytes.fromhex(entry.confirmation_code)
        size = self.cosigning.witnessed_size(index + 1)
        data = self.store.tree_head(size) if size is not None else None
        head = codec.decode(data, TreeHead) if data is not None else self.latest_head()
        return self._receipt(index, code, head)

    def receipt_by_code(self, code_hex: str) -> dict[str, Any]:
        try:
            code = bytes.fromhex(code_hex)
        except ValueError:
            raise Refusal("malformed", "a confirmation code is 64 hex digits") from None
        row = self.store.ballot_by("code", code)
        if row is None:
            raise Refusal("not_found")
        return self.receipt_for(row.entry)

    def codes_by_short(self, prefix: bytes, limit: int = 20) -> list[dict[str, Any]]:
        """The ballots (cast or challenged) whose confirmation code begins with ``prefix``
        (a short code's 5 bytes, e2e/shortcode.py): each with its full code and entry, for
        the voter to check by the full code. Several match only by accident, and all are
        listed (up to ``limit``), so a collision never hides the voter's ballot."""
        return [
            {"confirmation_code": code.hex().upper(), "entry": entry}
            for entry, code in self.store.codes_from(prefix, limit)
        ]

    def consistency(self, first: int, second: int) -> list[bytes]:
        if not 0 < first <= second <= self.store.size():
            raise Refusal("malformed", "need 0 < first <= second <= log size")
        return self.store.with_reader(
            lambda conn: consistency_proof(
                first, second, lambda lv, i: self.store.node(conn, lv, i)
            )
        )

    # --- after voting ----------------------------------------------------------------------

    def revote_rule(self) -> dict[int, frozenset[int]]:
        """The re-vote rule for the ballots of the voters who cast more than one: entry →
        the contests it counts for. A cast ballot not in the map is its voter's only one
        and counts for every contest it covers.

        Who re-voted comes from the ballot index (no payload); only those voters' entries
        are read, for their contests, and checked against the index (the entry is a cast
        ballot of that voter), so the rule is the log's, whatever the index says
        (:meth:`encrypted_tally` checks the other direction)."""
        again = self.store.revoters_ballots()
        cast: list[CastBallot] = []
        for n in range(0, len(again), 500):
            chunk = dict(again[n : n + 500])
            rows = self.store.entries_at(list(chunk))
            if len(rows) != len(chunk):
                raise BoardError("the ballot index names an entry the log does not hold")
            for idx, kind, data in rows:
                entry = Entry(data)
                if kind != "ballot" or entry.voter != chunk[idx]:
                    raise BoardError(f"the ballot index disagrees with the log at entry {idx}")
                cast.append(CastBallot(idx, entry.voter, entry.contests))
        return counted_contests(cast)

    def encrypted_tally(self, page: int = 500) -> EncryptedTally:
        """The encrypted tally, the product of the counted ballots, in one pass over the
        log's cast ballots, ``page`` at a time: memory is one page of ballots, the running
        products and the re-voters' rule, whatever the number of ballots (a city's ballots
        are gigabytes). The same document as :func:`e2e.tally.aggregate` of every cast
        ballot decoded at once with the re-vote rule (tests/integration compare them)."""
        election = self.election
        rule = self.revote_rule()
        acc: Products = {}
        counts: dict[int, int] = {}
        for rows in self.store.cast_pages(page):
            entries = codec.decode_many([d for _, d, _ in rows], BoardEntry)
            for (idx, _, voter), e in zip(rows, entries, strict=True):
                # Every cast ballot of the log is in the index under its own voter: then
                # nobody who re-voted is missing from the rule.
                if voter != e.voter:
                    raise BoardError(f"the ballot index disagrees with the log at entry {idx}")
            ballots = codec.decode_many(
                [e.payload.encode("utf-8") for e in entries], EncryptedBallot, election.group
            )
            accumulate(
                election,
                [
                    (b, rule[e.index]) if e.index in rule else b
                    for e, b in zip(entries, ballots, strict=True)
                ],
                acc,
                counts,
            )
        return tally_from_products(election, acc, counts)

    def post_tally(self) -> EncryptedTally:
        """Aggregate the counted ballots (:meth:`encrypted_tally`) and post the tally, once,
        after the close.

        The checks run again inside the write transaction: the aggregation takes a while,
        and two requests to tally must not both append (the record admits one tally).
        """
        if self.state() != "closed":
            raise BoardError("the tally comes after the election is closed")
        if self.store.has_kind("tally"):
            raise BoardError("the tally is already on the board")
        tally = self.encrypted_tally()

        def check(conn: Any) -> None:
            if _kinds_in(conn, ["tally"]):
                raise BoardError("the tally is already on the board")

        self._post_checked("tally", codec.encode(tally), check)
        return tally

    def tally(self) -> EncryptedTally:
        rows = self.store.kinds(["tally"])
        if not rows:
            raise BoardError("no tally on the board yet (tohyo board close)")
        return Entry(rows[0][2]).decode(EncryptedTally, self.election.group)

    def post_decryption(self, data: bytes) -> int:
        """Accept a trustee's partial decryption after checking its proofs.

        Refused once the results are out (they name the trustees whose decryptions were
        combined) and for a trustee who already posted; both are checked again inside the
        write transaction, so two concurrent posts cannot both pass.
        """
        election = self.election
        partial = codec.decode(data, PartialDecryption, election.group)
        if not 1 <= partial.trustee <= election.manifest.trustees:
            raise BoardError(f"trustee {partial.trustee} is not one of this election's trustees")
        verify_claims(
            election.group,
            partial_claims(election, self.tally(), partial, trustee_commitments(self.publics())),
        )

        def check(conn: Any) -> None:
            if _kinds_in(conn, ["results"]):
                raise BoardError("the results are already published")
            for d in _kinds_in(conn, ["decryption"]):
                if Entry(d).trustee == partial.trustee:
                    raise BoardError(f"trustee {partial.trustee} has already posted a decryption")

        return self._post_checked("decryption", codec.encode(partial), check)

    def post_results(self) -> Results:
        election = self.election
        partials = [
            Entry(d).decode(PartialDecryption, election.group)
            for _, _, d in self.store.kinds(["decryption"])
        ]
        check_quorum(election, [p.trustee for p in partials])
        results = combine(election, self.tally(), partials)

        def check(conn: Any) -> None:
            if _kinds_in(conn, ["results"]):
                raise BoardError("the results are already published")
            if len(_kinds_in(conn, ["decryption"])) != len(partials):
                raise BoardError("a decryption arrived meanwhile; publish again")

        self._post_checked("results", codec.encode(results), check)
        return results

    def _post_checked(self, kind: str, payload: bytes, check: Callable[[Any], None]) -> int:
        """Append an administrative entry if ``check`` passes inside the write transaction,
        with its signed head in the same transaction."""
        with self.store.write() as conn:
            check(conn)
            a = self._append(conn, kind, payload)
            self.sign_head(conn, a)
        return a.index


def _kinds_in(conn: Any, kinds: list[str]) -> list[bytes]:
    """The data of the entries of these kinds, as this transaction sees the log."""
    rows = conn.execute(
        select(schema.entries.c.data)
        .where(schema.entries.c.kind.in_(kinds))
        .order_by(schema.entries.c.idx)
    ).all()
    return [r[0] for r in rows]


# Read on every submission: built once (a select's construction and cache key cost more
# than its run on SQLite).
_LAST_EVENT = (
    select(schema.entries.c.data)
    .where(schema.entries.c.kind == "event")
    .order_by(schema.entries.c.idx.desc())
    .limit(1)
)
_COPIES = select(schema.ballots.c.entry, schema.ballots.c.submission, schema.ballots.c.voter).where(
    or_(
        schema.ballots.c.submission == bindparam("digest"),
        schema.ballots.c.ballot_id == bindparam("ballot_id"),
    )
)


def _last_event(conn: Any) -> str | None:
    """The name of the log's latest event (``open``/``close``) as ``conn`` sees it."""
    row = conn.execute(_LAST_EVENT).scalar_one_or_none()
    return Entry(row).event if row is not None else None


def _counted_pages(
    pages: Iterator[list[bytes]], progress: Callable[[int], None] | None
) -> Iterator[bytes]:
    """Each item of each page; ``progress(n)`` once a page's ``n`` items have been taken
    (the writer asks for the next item only after it wrote the previous one)."""
    for rows in pages:
        yield from rows
        if progress is not None:
            progress(len(rows))


def export_record(
    board: Board,
    out: str | os.PathLike[str],
    progress: Callable[[int], None] | None = None,
    page: int = 1000,
) -> pathlib.Path:
    """Write the election record (docs/record.md) from the board: every entry in order, every
    signed tree head, the board's public key, and the files the verifier reads
    (:func:`e2e.record.write_board_record`).

    Entries and heads are read ``page`` at a time and written as they come, so memory does
    not grow with the log (a city's log is gigabytes); ``progress(n)`` is told each page of
    ``n`` entries once it is written.

    The log is taken at its size when the export starts: entries appended meanwhile (an
    export while voting is open) and their heads are left out, so the record is always one
    state of the log that a signed head covers (each head is committed with its entries)."""
    size = board.store.size()
    return write_board_record(
        out,
        _counted_pages(board.store.entry_pages(page, size), progress),
        _counted_pages(board.store.head_pages(page, size), None),
        codec.encode(board.public),
        final_checkpoint(board, size),
    )


def final_checkpoint(board: Board, size: int) -> bytes | None:
    """The checkpoint of the log's head at ``size`` with every cosignature collected (None
    in an election without witnesses): the record's ``board/checkpoint.txt``, which binds
    the counted log to what the witnesses saw (docs/record.md)."""
    if not size or board.manifest.witnessing is None:
        return None
    return board.cosigning.note(size).render().encode("utf-8")


def write_record_zip(
    board: Board,
    out: str | os.PathLike[str],
    folder: str = "record",
    page: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> pathlib.Path:
    """Write the election record as a zip straight from the database: the same files, bytes
    and layout as :func:`export_record` (the entries and the payload files beside them, as
    :func:`e2e.record.write_board_record` decides them), under ``folder/``, with no copy on
    disk first. Entries and heads are read ``page`` at a time and streamed into their
    members; the payload files (manifest, trustee keys, tally, decryptions, results) are
    small and kept until the log has been read. The members come in the order of their
    names, as a zip of the exported directory would list them; ``progress`` as for
    :func:`export_record`."""
    root = pathlib.Path(out)
    files: dict[str, bytes] = {}
    size = board.store.size()  # one state of the log, as export_record takes it
    with zipfile.ZipFile(root, "w", zipfile.ZIP_DEFLATED) as z:

        def stream(name: str, lines: Iterator[bytes]) -> None:
            # Zip64 from the start: the size is not known before the end, and a city's
            # entries.jsonl is more than the 2 GiB a plain zip member can hold.
            with z.open(f"{folder}/{name}", "w", force_zip64=True) as f:
                for raw in lines:
                    f.write(raw + b"\n")

        def entries() -> Iterator[bytes]:
            for raw in _counted_pages(board.store.entry_pages(page, size), progress):
                if kind_of(raw) not in ("ballot", "challenged"):  # never parsed: the bulk
                    entry = Entry(raw)
                    name = payload_path(entry)
                    if name is not None:
                        files[name] = entry.payload
                yield raw

        checkpoint = final_checkpoint(board, size)
        if checkpoint is not None:  # board/checkpoint.txt sorts before board/entries.jsonl
            z.writestr(f"{folder}/{Layout.BOARD_CHECKPOINT}", checkpoint)
        stream(Layout.BOARD_ENTRIES, entries())
        z.writestr(f"{folder}/{Layout.BOARD_KEY}", codec.encode(board.public))
        stream(Layout.BOARD_HEADS, _counted_pages(board.store.head_pages(page, size), None))
        for name in sorted(files):
            z.writestr(f"{folder}/{name}", files[name])
    return root
