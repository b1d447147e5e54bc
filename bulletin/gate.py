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
"""

from __future__ import annotations

import logging
import os
import pathlib
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

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


def _crl_key(c: Any) -> tuple[int, str, bool]:
    """Which CRLs succeed one another: the same root, distribution point and kind."""
    return (id(c.anchor), repr(c.scope), c.delta_base is not None)


def _older(new: Sequence[Any], used: Sequence[Any]) -> str:
    """Why ``new`` would take back revocations ``used`` holds (one of its CRLs is older than
    the one in use for the same issuer and scope: a re-delivered or lagging file), or ""."""
    latest = {}
    for c in used:
        k = _crl_key(c)
        if k not in latest or c.this_update > latest[k].this_update:
            latest[k] = c
    for c in new:
        cur = latest.get(_crl_key(c))
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
        self._crls = [load_crl(p.read_bytes(), self._anchors) for p in crls]
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
        """Load the CRL files again if any of them changed since they were read; True if new
        CRLs are now in use. A set that does not load (a file half written, a signature that
        does not verify under the anchors, a file gone) is refused as a whole, logged, and
        the CRLs in use stay: revocation data is never silently dropped."""
        with self._crl_lock:
            states = _file_states(self._crl_paths)
            if states == self._crl_states:
                return False
            self._crl_states = states  # a set that fails is said once, not at every look
            crls = []
            for p in self._crl_paths:
                try:
                    crls.append(load_crl(p.read_bytes(), self._anchors))
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
            self._crls = crls
            with self._lock:
                gate = self._gate
            if gate is not None:
                gate.set_crls(crls)
            log.info(
                "CRLs loaded: %s",
                "; ".join(
                    f"{p.name}: {len(c.revoked)} revoked, nextUpdate {c.next_update.isoformat()}"
                    for p, c in zip(self._crl_paths, crls, strict=True)
                ),
            )
            return True

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
