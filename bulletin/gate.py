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
``jpki_crls``): each offers the CRLs it loaded, and takes, for each issuer and scope of its
files, the newest any process offered, if it is newer than its own and its signature
verifies under this process's anchors. So one machine's delivery revokes on every machine
within a look or two, a machine whose delivery lags behind judges as the others do, and a
process started with an older file (a delivery re-sent, a machine restored) does not take
revocations back.
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
from bulletin.store import Store

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
    """Which CRLs succeed one another: the same root, distribution point and kind (a full
    CRL or a delta). The same in every process (the root by its fingerprint)."""
    name = f"{c.anchor.fingerprint}\0{c.scope!r}\0{c.delta_base is not None}"
    return hashlib.sha256(name.encode()).hexdigest()


def _later(
    this_update: datetime, number: int | None, than_update: datetime, than: int | None
) -> bool:
    """Whether a CRL (thisUpdate, cRLNumber) succeeds another of the same issuer and scope."""
    if this_update != than_update:
        return this_update > than_update
    return number is not None and than is not None and number > than


class SharedCrls:
    """The newest CRL per issuer and scope that any process of the board loaded (table
    ``jpki_crls``), each read or change one short transaction of its own, never under the
    log's lock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def offer(self, crl: Any, data: bytes) -> bool:
        """Keep ``crl`` (its bytes, ``data``) if it is newer than the one kept for its issuer
        and scope; True if it was kept."""
        t, key = schema.jpki_crls, crl_key(crl)
        values = {
            "this_update": crl.this_update.isoformat(),
            "number": None if crl.number is None else str(crl.number),
            "data": data,
        }
        with self.store.operational() as conn:
            row = conn.execute(
                select(t.c.this_update, t.c.number).where(t.c.key == key).with_for_update()
            ).first()
            if row is None:
                conn.execute(insert(t).values(key=key, **values))
                return True
            if not _later(crl.this_update, crl.number, *_version(row)):
                return False
            conn.execute(update(t).where(t.c.key == key).values(**values))
            return True

    def versions(self, keys: Sequence[str]) -> dict[str, tuple[datetime, int | None]]:
        """The (thisUpdate, cRLNumber) kept for each of ``keys`` that has one."""
        t = schema.jpki_crls
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.key, t.c.this_update, t.c.number).where(t.c.key.in_(list(keys)))
            ).all()
        return {r.key: _version(r) for r in rows}

    def data(self, key: str) -> bytes | None:
        t = schema.jpki_crls
        with self.store.engine.connect() as conn:
            return conn.execute(select(t.c.data).where(t.c.key == key)).scalar_one_or_none()


def _version(row: Any) -> tuple[datetime, int | None]:
    return datetime.fromisoformat(row.this_update), None if row.number is None else int(row.number)


def _older(new: Sequence[Any], used: Sequence[Any]) -> str:
    """Why ``new`` would take back revocations ``used`` holds (one of its CRLs is older than
    the one in use for the same issuer and scope: a re-delivered or lagging file), or ""."""
    latest = {}
    for c in used:
        k = crl_key(c)
        if k not in latest or c.this_update > latest[k].this_update:
            latest[k] = c
    for c in new:
        cur = latest.get(crl_key(c))
        if cur is None:
            continue
        if c.this_update < cur.this_update or (
            c.number is not None and cur.number is not None and c.number < cur.number
        ):
            return (
                f"a CRL of thisUpdate {c.this_update.isoformat()} is older than the one in use, "
                f"of {cur.this_update.isoformat()}"
            )
    return ""


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
        self._offered: set[tuple[str, datetime, int | None]] = set()
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
        states = _file_states(self._crl_paths)
        if states == self._crl_states:
            return False
        self._crl_states = states  # a set that fails is said once, not at every look
        crls, data = [], []
        for p in self._crl_paths:
            try:
                data.append(p.read_bytes())
                crls.append(load_crl(data[-1], self._anchors))
            except (OSError, ValueError, JpkiConfigError) as e:
                why = f"{p.name}: {e}"
                break
        else:
            why = _older(crls, self._crls)
        if why:
            # A process started now would not start with these files: fix them first.
            log.warning(
                "new CRLs not loaded (%s); the ones in use stay: replace the file before "
                "any process starts again",
                why,
            )
            return False
        self._crls, self._crl_data, self._crl_from = crls, data, ["file"] * len(crls)
        return True

    def _share(self) -> bool:
        """Offer the CRLs in use to the other processes, and take for each the newest that
        any of them offered, if newer and its signature verifies here. The database not
        answering costs only the sharing: the CRLs in use stay, and the next look tries
        again."""
        try:
            for c, d in zip(self._crls, self._crl_data, strict=True):
                version = (crl_key(c), c.this_update, c.number)
                if version not in self._offered:
                    self._shared.offer(c, d)
                    self._offered.add(version)
            keys = [crl_key(c) for c in self._crls]
            kept = self._shared.versions(keys)
            taken = False
            crls, data, origin = list(self._crls), list(self._crl_data), list(self._crl_from)
            for i, c in enumerate(crls):
                version = kept.get(keys[i])
                if version is None or not _later(*version, c.this_update, c.number):
                    continue
                raw = self._shared.data(keys[i])
                try:
                    new = load_crl(raw or b"", self._anchors)
                except (ValueError, JpkiConfigError) as e:
                    log.warning("a CRL in the database not loaded (%s); the one in use stays", e)
                    continue
                if crl_key(new) != keys[i] or not _later(
                    new.this_update, new.number, c.this_update, c.number
                ):
                    log.warning("a CRL in the database is not what its row says; not loaded")
                    continue
                crls[i], data[i], origin[i], taken = new, raw or b"", "database", True
                self._offered.add((keys[i], new.this_update, new.number))
        except Exception as e:  # the database down: the CRLs in use stay
            if not self._share_failing:
                log.warning(
                    "CRLs not shared with the other processes for now: %s", type(e).__name__
                )
            self._share_failing = True
            return False
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
