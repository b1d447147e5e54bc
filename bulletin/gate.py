"""The JPKI gate for ``tohyo serve``, built once the board holds an election.

The gate binds signatures to the election (H_E) and takes its address rule from the
manifest, so it cannot exist before the key ceremony has finished; with the administrator's
web flow the server starts first. :class:`DeferredJpkiGate` is the authenticator the board
gets at start: it builds the real :class:`~bulletin.jpki.JpkiAuthenticator` on the first
challenge or submission after the election is on the board, and refuses (``not_open``)
before that.

Each process also watches its ``--crl`` files (:data:`CRL_CHECK_SECONDS`): a CRL delivered
by replacing a file is loaded and swapped into the running gate, so revocation data stays
fresh through a voting period longer than a CRL's validity, without a restart.

The processes share what they load through the board's database (:class:`SharedCrls`, table
``jpki_crls``): each offers the CRLs it loaded, and takes, for each kind of its files
(:func:`crl_key`; not delta CRLs, :func:`shareable`), the newest any process offered, if it
is newer than its own and its signature verifies under this process's anchors. So one
machine's delivery revokes on every machine within a look or two, a machine whose delivery
lags behind judges as the others do, and a process started with an older file (a delivery
re-sent, a machine restored) does not take revocations back.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pathlib
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from bulletin import schema
from bulletin.auth import Refusal
from bulletin.board import Board, BoardClock, BoardError
from bulletin.jpki import (
    DirectoryEvidenceStore,
    JpkiAuthenticator,
    TrustConfig,
    load_anchors,
    load_crl,
)
from bulletin.jpki.errors import JpkiConfigError
from bulletin.jpki.nonce import SigningNonce
from bulletin.nonces import DatabaseNonceStore
from bulletin.store import Store, is_unavailable

MIN_KEY = 32

#: How often each process looks at its --crl files for a new delivery, in seconds.
CRL_CHECK_SECONDS = 30.0

log = logging.getLogger("tohyo.jpki")


def _file_states(paths: Sequence[pathlib.Path]) -> tuple[tuple[int, int, int] | None, ...]:
    """What tells a replaced or rewritten file from the one read before."""
    out: list[tuple[int, int, int] | None] = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            out.append(None)
        else:
            out.append((st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(out)


def crl_key(c: Any) -> str:
    """Which CRLs succeed one another: the same root (by its fingerprint, the same in every
    process) and the same kind of CRL: its distribution point, the certificates and reasons
    it is limited to, indirect or not, full or delta, its unrecognised critical extensions.
    Two CRLs of one root that differ in any of these are not versions of one another."""
    # From the bytes as signed, not from parsed values, whose repr differs between Python
    # versions: machines on two versions must find the same key for the same CRL.
    h = hashlib.sha256(b"tohyo/crl-kind/v1\0")
    h.update(c.anchor.fingerprint.encode() + b"\0")
    h.update(len(c.idp_der).to_bytes(4, "big") + c.idp_der)
    h.update(b"delta\0" if c.delta_base is not None else b"full\0")
    h.update("\0".join(c.unknown_critical).encode())
    return h.hexdigest()


def shareable(c: Any) -> bool:
    """Whether processes may take this CRL from one another. A delta CRL is not shared: it
    lists only the changes since its base, so a newer delta taken without its newer base
    would drop the revocations the older delta listed. Nor is a CRL with an unrecognised
    critical extension, which is never used to vouch anyway."""
    return c.delta_base is None and not c.unknown_critical


def _later(
    this_update: datetime, number: int | None, than_update: datetime, than: int | None
) -> bool:
    """Whether a CRL (thisUpdate, cRLNumber) succeeds another of the same :func:`crl_key`:
    the later thisUpdate, or at the same thisUpdate the higher cRLNumber. The one order
    used everywhere (files against the CRLs in use, the database's rows)."""
    if this_update != than_update:
        return this_update > than_update
    return number is not None and than is not None and number > than


Version = tuple[datetime, int | None]


#: What ``SharedCrls.offer(..., instead_of=)`` is given for a row whose version does not
#: read (such a row is replaced whatever it is).
_UNREADABLE: Version = (datetime.min, None)


def _same(c: Any, version: Version | None) -> bool:
    return (c.this_update, c.number) == version


class SharedCrls:
    """The newest CRL per :func:`crl_key` that any process of the board loaded (table
    ``jpki_crls``), each read or change one short transaction of its own, never under the
    log's lock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def offer(self, crl: Any, data: bytes, instead_of: Version | None = None) -> bool:
        """Keep ``crl`` (its bytes, ``data``; verified by the caller) if no row has its key,
        if it is newer than the row's, or if the row is still ``instead_of`` (a version the
        caller could not load: a row that does not verify would otherwise stop every newer
        CRL that is not newer than what it claims). True if it was kept."""
        t, key = schema.jpki_crls, crl_key(crl)
        values = {
            "this_update": crl.this_update.isoformat(),
            "number": None if crl.number is None else str(crl.number),
            "data": data,
        }
        for attempt in (1, 2):
            try:
                with self.store.operational() as conn:
                    row = conn.execute(
                        select(t.c.this_update, t.c.number).where(t.c.key == key).with_for_update()
                    ).first()
                    if row is None:
                        conn.execute(insert(t).values(key=key, **values))
                        return True
                    kept = _version(row)
                    if kept is not None and kept != instead_of:
                        if not _later(crl.this_update, crl.number, *kept):
                            return False
                    conn.execute(update(t).where(t.c.key == key).values(**values))
                    return True
            except IntegrityError:  # another process inserted the key first: compare again
                if attempt == 2:
                    raise
        return False

    def versions(self, keys: Sequence[str]) -> dict[str, Version | None]:
        """The (thisUpdate, cRLNumber) kept for each of ``keys`` that has one (None: a row
        whose version does not read, which no process of the board wrote)."""
        t = schema.jpki_crls
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.key, t.c.this_update, t.c.number).where(t.c.key.in_(list(keys)))
            ).all()
        return {r.key: _version(r) for r in rows}

    def data(self, key: str) -> tuple[Version | None, bytes] | None:
        """The row's version and bytes, read together (a row replaced between two reads
        would otherwise look like one whose bytes are not its version's)."""
        t = schema.jpki_crls
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(t.c.this_update, t.c.number, t.c.data).where(t.c.key == key)
            ).first()
        return None if row is None else (_version(row), bytes(row.data))


def _version(row: Any) -> Version | None:
    """A row's (thisUpdate, cRLNumber), or None if it does not read as one."""
    try:
        when = datetime.fromisoformat(row.this_update)
        number = None if row.number is None else int(row.number)
    except (TypeError, ValueError):
        return None
    return (when, number) if when.tzinfo is not None else None


class DeferredJpkiGate:
    """A JPKI gate whose configuration is read at start and whose election is read from the
    board on first use (the gate needs H_E and the manifest's address rule)."""

    def __init__(
        self,
        board: Board,
        anchors: Sequence[pathlib.Path],
        crls: Sequence[pathlib.Path],
        pseudonym_key: bytes,
        evidence_dir: pathlib.Path,
        crl_check_seconds: float = CRL_CHECK_SECONDS,
    ) -> None:
        if len(pseudonym_key) < MIN_KEY:
            raise JpkiConfigError(f"the pseudonym key must be at least {MIN_KEY} bytes")
        self._anchors = [a for p in anchors for a in load_anchors(p.read_bytes())]
        if not self._anchors:
            raise JpkiConfigError("no trust anchor in the --anchor files")
        self._crl_paths = list(crls)
        self._crl_states = _file_states(self._crl_paths)
        self._crl_data = [p.read_bytes() for p in crls]
        self._crls = [load_crl(d, self._anchors) for d in self._crl_data]
        self._crl_from = ["file"] * len(crls)  # where each CRL in use came from
        self._shared = SharedCrls(board.store)
        self._share_failing = False
        self._crl_check = crl_check_seconds
        self._crl_lock = threading.Lock()
        self._watching = False
        self._key = pseudonym_key
        self._evidence = DirectoryEvidenceStore(evidence_dir)
        self._board = board
        self._gate: JpkiAuthenticator | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DeferredJpkiGate({len(self._anchors)} anchors, ready={self._gate is not None})"

    def gate(self) -> JpkiAuthenticator:
        """The real gate, built on first use once the board holds the election."""
        if self._gate is None:
            self.reload_crls()  # a gate built long after the start takes what is there now
        with self._lock:
            if self._gate is None:
                try:
                    election = self._board.election
                except BoardError:
                    raise Refusal("not_open", "the election is not set up yet") from None
                config = TrustConfig.build(
                    self._anchors,
                    self._crls,
                    address_prefixes=election.manifest.eligibility.address_prefixes,
                )
                self._gate = JpkiAuthenticator(
                    config,
                    self._key,
                    bytes(election.h_e),
                    DatabaseNonceStore(self._board.store),
                    self._evidence,
                    BoardClock(self._board),
                    voted=self._board.voted_in,
                )
                self._watch()
            return self._gate

    # --- new CRLs, delivered as files -------------------------------------------------------

    def _watch(self) -> None:
        """Start looking at the CRL files (in the process that serves: the gate is built on
        first use, never in the parent that forks the workers)."""
        if self._watching or not self._crl_paths or self._crl_check <= 0:
            return
        self._watching = True
        ref, every = weakref.ref(self), self._crl_check

        def loop() -> None:
            while True:
                time.sleep(every)
                gate = ref()
                if gate is None:  # the gate is gone (a test's, or a board replaced)
                    return
                try:
                    gate.reload_crls()
                except Exception:  # never let the watcher die: the next look may succeed
                    log.exception("the CRL watcher failed; it goes on")
                del gate

        threading.Thread(target=loop, name="tohyo-crl-watch", daemon=True).start()

    def reload_crls(self) -> bool:
        """Load the CRL files again if any of them changed since they were read, then share
        with the other processes through the database (:class:`SharedCrls`); True if new
        CRLs are now in use. A set of files that does not load (a file half written, a
        signature that does not verify under the anchors, a file gone) is refused as a
        whole, logged, and the CRLs in use stay: revocation data is never silently
        dropped."""
        with self._crl_lock:
            changed = self._reload_files()
            changed = self._share() or changed
            if not changed:
                return False
            with self._lock:
                gate = self._gate
            if gate is not None:
                gate.set_crls(self._crls)
            log.info(
                "CRLs loaded: %s",
                "; ".join(
                    f"{p.name}{' (from the database)' if src == 'database' else ''}: "
                    f"{len(c.revoked)} revoked, nextUpdate {c.next_update.isoformat()}"
                    for p, c, src in zip(self._crl_paths, self._crls, self._crl_from, strict=True)
                ),
            )
            return True

    def _reload_files(self) -> bool:
        """The files again, if any changed. A set that does not load is refused whole; a
        file older than the CRL in use for it (yesterday's file delivered again, or a file
        behind the CRL this process took from the database) leaves that CRL in use, and the
        other files are taken."""
        states = _file_states(self._crl_paths)
        if states == self._crl_states:
            return False
        self._crl_states = states  # a set that fails is said once, not at every look
        loaded = []
        for p in self._crl_paths:
            try:
                data = p.read_bytes()
                loaded.append((load_crl(data, self._anchors), data))
            except (OSError, ValueError, JpkiConfigError) as e:
                # A process started now would not start with these files: fix them first.
                log.warning(
                    "new CRLs not loaded (%s: %s); the ones in use stay: replace the file "
                    "before any process starts again",
                    p.name,
                    e,
                )
                return False
        crls, data, origin = list(self._crls), list(self._crl_data), list(self._crl_from)
        changed = False
        for i, (p, (c, d)) in enumerate(zip(self._crl_paths, loaded, strict=True)):
            cur = crls[i]
            if crl_key(cur) == crl_key(c) and _later(
                cur.this_update, cur.number, c.this_update, c.number
            ):
                log.warning(
                    "%s not loaded: a CRL of thisUpdate %s is older than the one in use, of %s "
                    "(which stays: it would take revocations back)",
                    p.name,
                    c.this_update.isoformat(),
                    cur.this_update.isoformat(),
                )
                continue
            if d != data[i]:
                crls[i], data[i], origin[i], changed = c, d, "file", True
        self._crls, self._crl_data, self._crl_from = crls, data, origin
        return changed

    def _share(self) -> bool:
        """Offer the CRLs in use to the other processes (where the database has none of
        their kind, or an older one), and take for each the newest that any of them offered,
        if newer and its signature verifies under this process's anchors. The database not
        answering costs only the sharing: the CRLs in use stay, and the next look tries
        again. True if a CRL was taken."""
        indexes = [i for i, c in enumerate(self._crls) if shareable(c)]
        if not indexes:
            return False
        crls, data, origin = list(self._crls), list(self._crl_data), list(self._crl_from)
        taken = False
        try:
            keys = {i: crl_key(crls[i]) for i in indexes}
            kept = self._shared.versions(sorted(set(keys.values())))
            for i in indexes:
                c, k = crls[i], keys[i]
                if k not in kept or (
                    kept[k] is not None and _later(c.this_update, c.number, *kept[k])
                ):
                    if self._shared.offer(c, data[i]):
                        kept[k] = (c.this_update, c.number)  # a second file of this kind
                    continue
                if kept[k] is not None and not _later(*kept[k], c.this_update, c.number):
                    continue  # the same version as this process's
                row = self._shared.data(k)
                if row is None:  # removed meanwhile: offered at the next look
                    continue
                version, raw = row
                try:
                    new = load_crl(raw, self._anchors)
                    wrong = "" if crl_key(new) == k and _same(new, version) else "not its row's"
                except (ValueError, JpkiConfigError) as e:
                    wrong = str(e)
                if not wrong and not _later(new.this_update, new.number, c.this_update, c.number):
                    continue  # replaced meanwhile by one no newer than this process's
                if wrong:
                    # Written by no process of this board (each offers only what verified):
                    # this process's own CRL takes its place, while the row is still that one
                    # (compare and set), so that it holds back no newer delivery.
                    log.warning(
                        "%s: the CRL in the database does not load (%s); this process's "
                        "own takes its place",
                        self._crl_paths[i].name,
                        wrong,
                    )
                    self._shared.offer(c, data[i], instead_of=version or _UNREADABLE)
                    continue
                crls[i], data[i], origin[i], taken = new, raw, "database", True
        except Exception as e:
            if not is_unavailable(e):
                log.exception("the CRLs could not be shared with the other processes")
                return False
            if not self._share_failing:
                why = type(e).__name__
                log.warning("CRLs not shared with the other processes for now: %s", why)
            self._share_failing = True
            return False
        if self._share_failing:
            log.info("CRLs shared with the other processes again")
        self._share_failing = False
        if taken:
            self._crls, self._crl_data, self._crl_from = crls, data, origin
        return taken

    def new_nonce(self) -> SigningNonce:
        return self.gate().new_nonce()

    def mark_remote(self, challenge: bytes) -> bool:
        """Mark a challenge as handed to a signing app on another device (web/signing.py)."""
        gate = self.gate()
        return gate.challenges.mark_remote(challenge, gate.clock.now())

    def challenge_live(self, challenge: bytes) -> bool:
        """Whether a ballot signed with this challenge now could still be taken (the
        signing app asks before it reads the card, web/signing.py)."""
        gate = self.gate()
        return gate.challenges.is_live(challenge, gate.clock.now())

    def authenticate(
        self, auth: Mapping[str, Any], confirmation_code: bytes, contests: tuple[int, ...] = ()
    ) -> str:
        return self.gate().authenticate(auth, confirmation_code, contests)
