"""The ceremony mailbox of one board: :class:`CeremonyStore`, over the tables of
:mod:`.tables`, checking every message (:mod:`.checks`) before it keeps it.

Two locks, by purpose. The log's append lock (:meth:`bulletin.store.Store.write`) is taken
only by the steps that read the log's tip or decide against the board's state: starting a
ceremony (:meth:`CeremonyStore.create`) and finishing it (:meth:`CeremonyStore.finish`),
which must serialise with each other and with :meth:`bulletin.board.Board.setup`. The
trustees' messages never touch the log: they run in the store's operational transactions
(:meth:`bulletin.store.Store.operational`) and lock only their ceremony's row, which
``finish`` locks too, so a message and the finish still come one after the other, and a
trustee's upload never waits for ballots being appended, nor a ballot for an upload.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, select, update

from bulletin.board import Board, BoardError
from bulletin.ceremony.checks import check_share_proof, clean_reason, decode_message
from bulletin.ceremony.errors import CeremonyError
from bulletin.ceremony.tables import (
    ceremonies,
    ceremony_complaints,
    ceremony_shares,
    ceremony_trustees,
)
from bulletin.ceremony.views import Caller, Ceremony, Complaint, Progress, TrusteeProgress
from bulletin.clock import iso
from e2e import codec
from e2e.batch import verify_claims
from e2e.board import Entry
from e2e.election import (
    Election,
    TrusteePublicKey,
    check_trustee_keys,
    joint_key,
    trustee_key_claim,
)
from e2e.errors import ParseError, VerificationError
from e2e.group import GROUPS
from e2e.manifest import (
    Manifest,
    ManifestError,
    manifest_from_canonical,
    validate,
    with_board,
)
from e2e.tally import PartialDecryption
from trustees.ceremony import EncryptedShare  # a message type (bulletin uses trustees' types)

#: The most trustees a web ceremony takes: each sends a share to every other (n² messages),
#: and the tokens are made at once; the manifest's own bound (2^31) is far beyond that.
MAX_TRUSTEES = 100


def token_hash(token: str) -> bytes:
    """What the database keeps of a trustee token."""
    return hashlib.sha256(token.encode("utf-8")).digest()


class CeremonyStore:
    """The ceremony mailbox of one board (one election)."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.store = board.store

    def _now(self) -> str:
        return iso(self.board.clock.now())

    # --- reading -------------------------------------------------------------------------

    @staticmethod
    def _ceremony(row: Any) -> Ceremony:
        return Ceremony(
            id=row.id,
            group_name=row.group_name,
            manifest=manifest_from_canonical(bytes(row.manifest)),
            created=row.created,
            finished=row.finished,
            abandoned=row.abandoned,
        )

    def _current_in(self, conn: Connection) -> Ceremony | None:
        row = conn.execute(
            select(ceremonies)
            .where(ceremonies.c.abandoned.is_(None))
            .order_by(ceremonies.c.id.desc())
            .limit(1)
        ).first()
        return self._ceremony(row) if row is not None else None

    @staticmethod
    def _lock(conn: Connection, ceremony_id: int) -> Any:
        """Lock the ceremony's row until the end of this transaction (``SELECT … FOR
        UPDATE`` on PostgreSQL; on SQLite the write transaction's ``BEGIN IMMEDIATE``
        already excludes every other writer) and return it as it is now."""
        return conn.execute(
            select(ceremonies.c.finished, ceremonies.c.abandoned)
            .where(ceremonies.c.id == ceremony_id)
            .with_for_update()
        ).one()

    def _hold_open(self, conn: Connection, who: Caller) -> None:
        """Lock ``who``'s ceremony (:meth:`_lock`) and check, under that lock, that it is
        neither abandoned nor finished: ``who`` was read before this transaction, and a
        start-over or a finish may have come in between."""
        row = self._lock(conn, who.ceremony.id)
        if row.abandoned is not None:
            raise CeremonyError(
                "unauthenticated", "the trustee token is not valid (a start-over ended it)"
            )
        if row.finished is not None:
            raise CeremonyError("wrong_state", "the key ceremony has finished")

    def current(self) -> Ceremony | None:
        """The ceremony in progress or finished (not abandoned), if any."""
        return self.store.with_reader(self._current_in)

    def progress(self, ceremony: Ceremony | None = None) -> Progress | None:
        """Every trustee's steps and the complaints of the current ceremony."""
        return self.store.with_reader(lambda conn: self._progress_in(conn, ceremony))

    def _progress_in(self, conn: Connection, ceremony: Ceremony | None = None) -> Progress | None:
        ceremony = ceremony or self._current_in(conn)
        if ceremony is None:
            return None
        ct, cs, cc = ceremony_trustees.c, ceremony_shares.c, ceremony_complaints.c
        rows = conn.execute(
            select(ct.trustee, ct.public_key, ct.public_posted, ct.confirmed)
            .where(ct.ceremony == ceremony.id)
            .order_by(ct.trustee)
        ).all()
        pairs = conn.execute(
            select(cs.sender, cs.recipient).where(cs.ceremony == ceremony.id)
        ).all()
        complaints = conn.execute(
            select(cc.complainant, cc.accused, cc.reason, cc.posted, cc.resolved)
            .where(cc.ceremony == ceremony.id)
            .order_by(cc.id)
        ).all()
        keys = [bytes(r.public_key) for r in rows if r.public_key is not None]
        decoded = iter(codec.decode_many(keys, TrusteePublicKey, ceremony.group) if keys else [])
        trustees = []
        for r in rows:
            trustees.append(
                TrusteeProgress(
                    index=r.trustee,
                    public_key=next(decoded) if r.public_key is not None else None,
                    public_posted=r.public_posted,
                    shares_sent=frozenset(p.recipient for p in pairs if p.sender == r.trustee),
                    shares_received=frozenset(p.sender for p in pairs if p.recipient == r.trustee),
                    confirmed=r.confirmed,
                )
            )
        return Progress(
            ceremony,
            tuple(trustees),
            tuple(
                Complaint(c.complainant, c.accused, c.reason, c.posted, c.resolved)
                for c in complaints
            ),
        )

    def public_keys(self, ceremony: Ceremony) -> list[bytes]:
        """The canonical public keys posted so far, in trustee order."""
        ct = ceremony_trustees.c
        rows = self.store.with_reader(
            lambda conn: conn.execute(
                select(ct.public_key)
                .where(ct.ceremony == ceremony.id, ct.public_key.is_not(None))
                .order_by(ct.trustee)
            ).all()
        )
        return [bytes(r.public_key) for r in rows]

    def decryptions(self) -> dict[int, int]:
        """Trustee → log entry of its partial decryption, from the board."""
        return {Entry(data).trustee: idx for idx, _, data in self.store.kinds(["decryption"])}

    # --- the administrator -----------------------------------------------------------------

    def create(
        self,
        manifest: Manifest,
        group_name: str,
        replacing: int | None = None,
        trustees: int | None = None,
        quorum: int | None = None,
    ) -> tuple[Ceremony, list[str]]:
        """Start a ceremony; returns it and the n trustee tokens (token i-1 is trustee i's).

        The tokens are returned once and never stored. ``replacing`` must name the
        ceremony in progress, if there is one (it is abandoned and its tokens stop working):
        so a form submitted twice, or by two administrators, cannot silently replace a
        ceremony it did not see. ``trustees``/``quorum`` override the manifest's n and k.
        Refused once the board holds an election, and once the current ceremony is marked
        finished (its election is then on the board or being posted: see :meth:`finish`).
        """
        if group_name not in GROUPS:
            raise CeremonyError("malformed", f"unknown group {group_name!r}")
        if trustees is not None or quorum is not None:
            manifest = validate(
                replace(
                    manifest,
                    trustees=trustees if trustees is not None else manifest.trustees,
                    quorum=quorum if quorum is not None else manifest.quorum,
                )
            )
        if manifest.trustees > MAX_TRUSTEES:
            raise CeremonyError(
                "malformed", f"{manifest.trustees} trustees; a web ceremony takes {MAX_TRUSTEES}"
            )
        # The trustees hash the manifest with this board's key in it (H_B): the record of
        # this election then verifies only with this board's log (docs/protocol.md, D7).
        try:
            manifest = with_board(manifest, self.board.public)
        except ManifestError as e:
            raise CeremonyError("malformed", str(e)) from None
        canonical = manifest.canonical_bytes()
        tokens = [secrets.token_urlsafe(32) for _ in range(manifest.trustees)]
        now = self._now()
        # The log's append lock, not an operational transaction: the board must be empty as
        # the log's tip shows it, and the lock is what Board.setup and finish hold, so no
        # election can be posted, nor a ceremony marked finished, between this check and
        # the start-over (see finish). The UPDATE that abandons the current ceremony also
        # waits for any trustee message holding that ceremony's row.
        with self.store.write() as conn:
            if self.store.tip(conn)[0]:
                raise CeremonyError("wrong_state", "the board already holds an election")
            current = self._current_in(conn)
            if current is not None and current.finished is not None:
                # Finished with an empty board: its election is being posted (see finish).
                raise CeremonyError(
                    "wrong_state",
                    f"ceremony {current.id} has finished and its election is being posted "
                    "on the board (finish it again if it does not appear)",
                )
            if current is not None and current.id != replacing:
                raise CeremonyError(
                    "wrong_state", f"ceremony {current.id} is in progress (replace it explicitly)"
                )
            if current is None and replacing is not None:
                raise CeremonyError("wrong_state", f"ceremony {replacing} is no longer in progress")
            if current is not None:
                conn.execute(
                    update(ceremonies).where(ceremonies.c.id == current.id).values(abandoned=now)
                )
            new_id = conn.execute(
                ceremonies.insert().values(group_name=group_name, manifest=canonical, created=now)
            ).inserted_primary_key[0]
            conn.execute(
                ceremony_trustees.insert(),
                [
                    {"ceremony": new_id, "trustee": i, "token_hash": token_hash(tok)}
                    for i, tok in enumerate(tokens, start=1)
                ],
            )
        ceremony = Ceremony(new_id, group_name, manifest, now, None, None)
        return ceremony, tokens

    def election(self, progress: Progress) -> tuple[Election, list[TrusteePublicKey]]:
        """The election that the ceremony's public keys define (every key checked again)."""
        c = progress.ceremony
        publics = [t.public_key for t in progress.trustees if t.public_key is not None]
        by_index = check_trustee_keys(c.group, c.h_p, c.n, c.k, publics)
        return Election(c.group, c.manifest, joint_key(c.group, publics)), list(by_index.values())

    def election_documents(self, progress: Progress) -> tuple[bytes, bytes, list[bytes]]:
        """(manifest, parameters, trustee keys) as ``Board.setup`` takes them."""
        election, publics = self.election(progress)
        return (
            progress.ceremony.manifest.canonical_bytes(),
            codec.encode(election.parameters()),
            [codec.encode(t) for t in publics],
        )

    def finish(self) -> Election:
        """Post the election on the board (as ``tohyo board init``) and close the ceremony.

        The ceremony is marked finished *before* the setup, in one write transaction that
        reads it again (still current, not abandoned, every message in, no open complaint,
        every key verified) and checks that the board is still empty. The board's write
        lock is what :meth:`create` takes to abandon a ceremony, so the two cannot
        interleave: either the start-over came first (and this finish sees the ceremony
        abandoned) or the mark did (and :meth:`create` refuses to abandon a finished
        ceremony). The check, the mark and :meth:`Board.setup` cannot share one
        transaction, because ``setup`` takes that lock itself and it is not re-entrant; so
        the mark comes first and freezes the ceremony (trustees can no longer change it).
        If the setup then fails or the process stops, calling ``finish`` again repeats the
        setup from the frozen ceremony: a finished ceremony with an empty board is
        "being posted", never a state in which another ceremony could replace it.

        The trustees' messages do not take the board's write lock; they lock the
        ceremony's row (:meth:`_hold_open`), and the transaction that marks the ceremony
        locks that row before it reads the messages, so each message comes either before
        the check (and is seen by it) or after the mark (and is refused).
        """
        # The log's append lock: the board's tip is read here and the mark is decided
        # against it, and create (the start-over) holds the same lock.
        with self.store.write() as conn:
            current = self._current_in(conn)
            if current is not None:
                self._lock(conn, current.id)  # no trustee message between check and mark
            progress = self._progress_in(conn, current)
            if progress is None:
                raise CeremonyError("not_found", "no key ceremony has been started")
            c = progress.ceremony
            if c.finished is None and not progress.ready:
                raise CeremonyError("wrong_state", "; ".join(progress.blockers()))
            try:
                election, _ = self.election(progress)
            except VerificationError as e:
                raise CeremonyError("invalid_proof", str(e)) from None
            on_board = bool(self.store.tip(conn)[0])
            if c.finished is None and not on_board:
                self._mark_finished(conn, c.id)
        if on_board:
            # The board already holds an election: this ceremony's (finished before this
            # order of steps, or by a concurrent finish) or another (``tohyo board init``).
            try:
                same = self.board.election.parameters() == election.parameters()
            except BoardError:
                same = False
            if not same:
                raise CeremonyError("wrong_state", "the board already holds another election")
            if c.finished is not None:
                raise CeremonyError("wrong_state", "the ceremony has already finished")
            # Marked against the board's state (its election is there): under the log's
            # append lock, like every decision that depends on the log.
            with self.store.write() as conn:
                self._mark_finished(conn, c.id)
            return election
        try:
            self.board.setup(*self.election_documents(progress))
        except BoardError as e:
            # Another finish of the same ceremony posted it meanwhile: already finished.
            try:
                same = self.board.election.parameters() == election.parameters()
            except BoardError:
                same = False
            if same:
                raise CeremonyError("wrong_state", "the ceremony has already finished") from None
            raise CeremonyError("wrong_state", str(e)) from None
        return election

    def _mark_finished(self, conn: Connection, ceremony_id: int) -> None:
        """Mark the ceremony finished, unless it was abandoned (read under the same lock)."""
        done = conn.execute(
            update(ceremonies)
            .where(ceremonies.c.id == ceremony_id, ceremonies.c.abandoned.is_(None))
            .values(finished=self._now())
        ).rowcount
        if done != 1:
            raise CeremonyError("wrong_state", f"ceremony {ceremony_id} was abandoned")

    # --- the trustees ----------------------------------------------------------------------

    def authenticate(self, token: str | None) -> Caller:
        """The trustee whose token this is, in the current ceremony; else ``unauthenticated``."""
        if not token:
            raise CeremonyError("unauthenticated", "send the trustee token as a Bearer token")
        ct = ceremony_trustees.c

        def find(conn: Connection) -> tuple[Ceremony | None, Any]:
            row = conn.execute(
                select(ct.ceremony, ct.trustee).where(ct.token_hash == token_hash(token))
            ).first()
            return self._current_in(conn), row

        current, row = self.store.with_reader(find)
        if row is None or current is None or row.ceremony != current.id:
            raise CeremonyError("unauthenticated", "the trustee token is not valid")
        return Caller(current, row.trustee)

    @staticmethod
    def _not_finished(who: Caller) -> None:
        if who.ceremony.finished:
            raise CeremonyError("wrong_state", "the key ceremony has finished")

    def post_public_key(self, who: Caller, raw: Any) -> bool:
        """Check and keep trustee ``who``'s public key; False if it was already here."""
        self._not_finished(who)
        c = who.ceremony
        key = decode_message(raw, TrusteePublicKey, c.group, "public key")
        if key.index != who.index:
            raise CeremonyError(
                "not_yours",
                f"this is trustee {who.index}'s token; the key is trustee {key.index}'s",
            )
        try:
            verify_claims(c.group, [trustee_key_claim(c.h_p, c.k, key)])
        except VerificationError as e:
            raise CeremonyError("invalid_proof", str(e)) from None
        data = codec.encode(key)
        ct = ceremony_trustees.c
        with self.store.operational() as conn:
            self._hold_open(conn, who)
            old = conn.execute(
                select(ct.public_key).where(ct.ceremony == c.id, ct.trustee == who.index)
            ).scalar_one()
            if old is not None:
                if bytes(old) == data:
                    return False  # a retry of the same upload
                raise CeremonyError(
                    "duplicate", f"trustee {who.index}'s public key is already here"
                )
            conn.execute(
                update(ceremony_trustees)
                .where(ct.ceremony == c.id, ct.trustee == who.index)
                .values(public_key=data, public_posted=self._now())
            )
        return True

    def post_shares(self, who: Caller, raw: Any) -> dict[str, list[int]]:
        """Keep trustee ``who``'s encrypted shares (one per recipient, proofs checked).

        A share already here with the same bytes is a retry and is skipped; with other
        bytes it is refused, unless its recipient has complained about the one here: then
        the new share replaces it and resolves the complaint. All or nothing.
        """
        self._not_finished(who)
        c = who.ceremony
        if not isinstance(raw, Mapping) or not isinstance(raw.get("shares"), list):
            raise CeremonyError("malformed", 'expected {"shares": [EncryptedShare, …]}')
        if not raw["shares"]:
            raise CeremonyError("malformed", "no shares")
        progress = self.progress(c)
        assert progress is not None
        if progress.missing_keys():
            raise CeremonyError(
                "wrong_state",
                f"waiting for the public keys of trustees {progress.missing_keys()}",
            )
        shares: dict[int, tuple[EncryptedShare, bytes]] = {}
        for n, doc in enumerate(raw["shares"]):
            share = decode_message(doc, EncryptedShare, c.group, f"shares[{n}]")
            if share.sender != who.index:
                raise CeremonyError(
                    "not_yours",
                    f"shares[{n}] is from trustee {share.sender}; "
                    f"this is trustee {who.index}'s token",
                )
            if not 1 <= share.recipient <= c.n:
                raise CeremonyError(
                    "unknown_trustee", f"shares[{n}] is addressed to trustee {share.recipient}"
                )
            if share.recipient == who.index:
                raise CeremonyError("malformed", f"shares[{n}]: a trustee keeps its own share")
            if share.recipient in shares:
                raise CeremonyError(
                    "malformed", f"shares[{n}]: two shares for trustee {share.recipient}"
                )
            check_share_proof(c.group, c.h_p, share)
            shares[share.recipient] = (share, codec.encode(share))
        cs, cc = ceremony_shares.c, ceremony_complaints.c
        now = self._now()
        done: dict[str, list[int]] = {"stored": [], "unchanged": [], "replaced": []}
        with self.store.operational() as conn:
            self._hold_open(conn, who)
            old = {
                r.recipient: bytes(r.data)
                for r in conn.execute(
                    select(cs.recipient, cs.data).where(cs.ceremony == c.id, cs.sender == who.index)
                )
            }
            open_complaints = {
                r.complainant: r.id
                for r in conn.execute(
                    select(cc.id, cc.complainant).where(
                        cc.ceremony == c.id, cc.accused == who.index, cc.resolved.is_(None)
                    )
                )
            }
            confirmed = {
                r.trustee
                for r in conn.execute(
                    select(ceremony_trustees.c.trustee).where(
                        ceremony_trustees.c.ceremony == c.id,
                        ceremony_trustees.c.confirmed.is_not(None),
                    )
                )
            }
            for ell, (_, data) in sorted(shares.items()):
                if ell not in old:
                    conn.execute(
                        ceremony_shares.insert().values(
                            ceremony=c.id, sender=who.index, recipient=ell, data=data, posted=now
                        )
                    )
                    done["stored"].append(ell)
                elif old[ell] == data:
                    done["unchanged"].append(ell)
                elif ell in open_complaints and ell not in confirmed:
                    conn.execute(
                        update(ceremony_shares)
                        .where(cs.ceremony == c.id, cs.sender == who.index, cs.recipient == ell)
                        .values(data=data, posted=now)
                    )
                    conn.execute(
                        update(ceremony_complaints)
                        .where(cc.id == open_complaints[ell])
                        .values(resolved=now)
                    )
                    done["replaced"].append(ell)
                else:
                    raise CeremonyError(
                        "duplicate",
                        f"a share from trustee {who.index} to trustee {ell} is already here",
                    )
        return done

    def shares_for(self, who: Caller) -> list[bytes]:
        """The canonical shares addressed to trustee ``who``, by sender."""
        cs = ceremony_shares.c
        rows = self.store.with_reader(
            lambda conn: conn.execute(
                select(cs.data)
                .where(cs.ceremony == who.ceremony.id, cs.recipient == who.index)
                .order_by(cs.sender)
            ).all()
        )
        return [bytes(r.data) for r in rows]

    def post_complaint(self, who: Caller, raw: Any) -> None:
        """Trustee ``who`` found the share from ``raw["sender"]`` bad."""
        self._not_finished(who)
        c = who.ceremony
        if not isinstance(raw, Mapping):
            raise CeremonyError("malformed", 'expected {"sender": I, "reason": "…"}')
        sender = raw.get("sender")
        if type(sender) is not int:
            raise CeremonyError("malformed", "sender must be a trustee number")
        if not 1 <= sender <= c.n:
            raise CeremonyError("unknown_trustee", f"trustee {sender}")
        if sender == who.index:
            raise CeremonyError("malformed", "a trustee cannot complain about itself")
        reason = clean_reason(raw.get("reason"))
        cs, cc, ct = ceremony_shares.c, ceremony_complaints.c, ceremony_trustees.c
        with self.store.operational() as conn:
            self._hold_open(conn, who)
            share = conn.execute(
                select(cs.sender).where(
                    cs.ceremony == c.id, cs.sender == sender, cs.recipient == who.index
                )
            ).first()
            if share is None:
                raise CeremonyError("wrong_state", f"there is no share from trustee {sender} yet")
            confirmed = conn.execute(
                select(ct.confirmed).where(ct.ceremony == c.id, ct.trustee == who.index)
            ).scalar_one()
            if confirmed is not None:
                raise CeremonyError("wrong_state", "this trustee has already confirmed its shares")
            again = conn.execute(
                select(cc.id).where(
                    cc.ceremony == c.id,
                    cc.complainant == who.index,
                    cc.accused == sender,
                    cc.resolved.is_(None),
                )
            ).first()
            if again is not None:
                raise CeremonyError(
                    "duplicate", f"a complaint about trustee {sender} is already open"
                )
            conn.execute(
                ceremony_complaints.insert().values(
                    ceremony=c.id,
                    complainant=who.index,
                    accused=sender,
                    reason=reason,
                    posted=self._now(),
                )
            )

    def post_confirmation(self, who: Caller, raw: Any) -> bool:
        """Trustee ``who`` checked all its shares and computed the joint key ``raw["joint_key"]``
        (hex); it must be ∏ K_i of the posted keys. False if it had confirmed already."""
        self._not_finished(who)
        c = who.ceremony
        if not isinstance(raw, Mapping) or not isinstance(raw.get("joint_key"), str):
            raise CeremonyError("malformed", 'expected {"joint_key": HEX}')
        try:
            claimed = int(raw["joint_key"], 16)
        except ValueError:
            raise CeremonyError("malformed", "joint_key must be hexadecimal") from None
        progress = self.progress(c)
        assert progress is not None
        me = progress.trustees[who.index - 1]
        missing = sorted(set(range(1, c.n + 1)) - {who.index} - me.shares_received)
        if missing:
            raise CeremonyError("wrong_state", f"shares from trustees {missing} are not here yet")
        mine = [x.accused for x in progress.open_complaints if x.complainant == who.index]
        if mine:
            raise CeremonyError(
                "wrong_state", f"this trustee's complaints about trustees {mine} are open"
            )
        keys = [t.public_key for t in progress.trustees if t.public_key is not None]
        k = joint_key(c.group, keys)
        if claimed != int(k):
            raise CeremonyError("mismatch", f"the posted keys give K fingerprint {k.hex()[:32]}")
        ct = ceremony_trustees.c
        with self.store.operational() as conn:
            self._hold_open(conn, who)
            updated = conn.execute(
                update(ceremony_trustees)
                .where(ct.ceremony == c.id, ct.trustee == who.index, ct.confirmed.is_(None))
                .values(confirmed=self._now(), joint_key=k.hex())
            ).rowcount
        return updated == 1

    def post_decryption(self, who: Caller, raw: Any) -> int:
        """Post trustee ``who``'s partial decryption on the board; returns its entry."""
        if not who.ceremony.finished:
            raise CeremonyError("wrong_state", "the key ceremony has not finished")
        try:
            election = self.board.election
        except BoardError:  # finished, but the election is still being posted (see finish)
            raise CeremonyError("wrong_state", "the election is not on the board yet") from None
        partial = decode_message(raw, PartialDecryption, election.group, "partial decryption")
        if partial.trustee != who.index:
            raise CeremonyError(
                "not_yours",
                f"this is trustee {who.index}'s token; "
                f"the decryption is trustee {partial.trustee}'s",
            )
        data = codec.encode(partial)
        if self.store.has_kind("results"):
            # A late share would make results.json disagree with the record's decryptions.
            raise CeremonyError("wrong_state", "the results are already published")
        for idx, _, d in self.store.kinds(["decryption"]):
            entry = Entry(d)
            if entry.trustee == who.index:
                if entry.payload == data:
                    return idx
                raise CeremonyError(
                    "duplicate", f"trustee {who.index}'s partial decryption is on the board"
                )
        try:
            return self.board.post_decryption(data)
        except BoardError as e:
            raise CeremonyError("wrong_state", str(e)) from None
        except VerificationError as e:
            raise CeremonyError("invalid_proof", str(e)) from None
        except ParseError as e:
            raise CeremonyError("malformed", str(e)) from None

    def next_step(self, who: Caller) -> dict[str, Any]:
        """What trustee ``who`` should do next, and what it waits for (for ``/me``)."""
        progress = self.progress(who.ceremony)
        assert progress is not None
        c = who.ceremony
        me = progress.trustees[who.index - 1]
        others = [i for i in range(1, c.n + 1) if i != who.index]
        complaints_against_me = sorted(
            x.complainant for x in progress.open_complaints if x.accused == who.index
        )
        to_send = sorted(
            {i for i in others if i not in me.shares_sent} | set(complaints_against_me)
        )
        info: dict[str, Any] = {
            "ceremony": c.id,
            "trustee": who.index,
            "trustees": c.n,
            "quorum": c.k,
            "group": c.group_name,
            "public_key": me.public_key is not None,
            "shares_to_send": to_send,
            "shares_received": sorted(me.shares_received),
            "confirmed": me.confirmed is not None,
            "complaints_against_me": complaints_against_me,
            "waiting_for": [],
        }
        if c.finished:
            posted = self.decryptions()
            state = self.board.state()
            info["decryption_posted"] = who.index in posted
            if who.index in posted or self.store.has_kind("results"):
                info["next"] = "done"
            elif self.store.has_kind("tally"):
                info["next"] = "decrypt"
            else:
                info["next"] = "wait_tally"
                info["board"] = state
            return info
        info["decryption_posted"] = False
        if me.public_key is None:
            info["next"] = "public_key"
        elif progress.missing_keys():
            info["next"], info["waiting_for"] = "wait_public_keys", progress.missing_keys()
        elif to_send:
            info["next"] = "shares"
        elif len(me.shares_received) < len(others):
            info["next"] = "wait_shares"
            info["waiting_for"] = sorted(set(others) - me.shares_received)
        elif me.confirmed is None:
            info["next"] = "confirm"
        else:
            info["next"] = "wait_finish"
            info["waiting_for"] = progress.unconfirmed()
        return info


__all__ = ["MAX_TRUSTEES", "CeremonyStore", "token_hash"]
