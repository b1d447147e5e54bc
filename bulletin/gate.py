"""The JPKI gate for ``tohyo serve``, built once the board holds an election.

The gate binds signatures to the election (H_E) and takes its address rule from the
manifest, so it cannot exist before the key ceremony has finished; with the administrator's
web flow the server starts first. :class:`DeferredJpkiGate` is the authenticator the board
gets at start: it builds the real :class:`~bulletin.jpki.JpkiAuthenticator` on the first
challenge or submission after the election is on the board, and refuses (``not_open``)
before that.
"""

from __future__ import annotations

import pathlib
import threading
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
    ) -> None:
        if len(pseudonym_key) < MIN_KEY:
            raise JpkiConfigError(f"the pseudonym key must be at least {MIN_KEY} bytes")
        self._anchors = [a for p in anchors for a in load_anchors(p.read_bytes())]
        if not self._anchors:
            raise JpkiConfigError("no trust anchor in the --anchor files")
        self._crls = [load_crl(p.read_bytes(), self._anchors) for p in crls]
        self._key = pseudonym_key
        self._evidence = DirectoryEvidenceStore(evidence_dir)
        self._board = board
        self._gate: JpkiAuthenticator | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DeferredJpkiGate({len(self._anchors)} anchors, ready={self._gate is not None})"

    def gate(self) -> JpkiAuthenticator:
        """The real gate, built on first use once the board holds the election."""
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
            return self._gate

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
