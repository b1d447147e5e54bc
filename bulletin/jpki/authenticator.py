"""The JPKI gate as a board authenticator (:class:`bulletin.auth.Authenticator`).

A cast ballot's ``auth`` object is::

    {"certificate": base64 DER, "signature": base64, "challenge": 64 hex digits}

where the challenge came from :meth:`JpkiAuthenticator.new_nonce` and the signature is
the card's over :func:`bulletin.jpki.verify.signed_message` (H_E, the ballot's confirmation
code, the challenge). The receipt time is the board's clock when the submission is
authenticated. The checks run in this order: the auth object, the certificate's encoding,
the signature over the message, the certificate (chain, validity, profile, revocation,
address: :func:`bulletin.jpki.verify.check_certificate`), and only then the challenge is
redeemed, so a submission that fails a check leaves it usable by the voter. On success the
pseudonym of the person (:func:`bulletin.jpki.verify.person_id`) is returned and the
certificate and signature go to the evidence store, never to a log.

A challenge that a signing request handed to an app on another device (``remote``,
:meth:`NonceStore.mark_remote`) signs a voter's first ballot in a category, never a re-vote
(``revote_other_device``): whoever made that request may not be the voter, and a card that
signs it must not replace the voter's own vote (docs/jpki.md, "Which flow protects against
what"). The rule is checked before the challenge is spent, so the voter keeps it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from bulletin.auth import pseudonym
from bulletin.clock import Clock, SystemClock
from bulletin.jpki.certs import MAX_CERTIFICATE, Crl, parse_certificate
from bulletin.jpki.errors import JpkiConfigError, JpkiRefusal
from bulletin.jpki.evidence import Evidence, EvidenceStore
from bulletin.jpki.nonce import NONCE_BYTES, NonceStore, SigningNonce
from bulletin.jpki.verify import (
    TrustConfig,
    check_certificate,
    person_id,
    signed_message,
    verify_signature,
)

MAX_SIGNATURE = 1024


def _b64(auth: Mapping[str, Any], field: str, limit: int) -> bytes:
    value = auth.get(field)
    if not isinstance(value, str) or not value or len(value) > limit * 4 // 3 + 4:
        raise JpkiRefusal("auth_malformed", f"{field}: expected base64")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise JpkiRefusal("auth_malformed", f"{field}: expected base64") from None


def parse_auth(auth: Any) -> tuple[bytes, bytes, bytes]:
    """(certificate DER, signature, challenge) from a submission's ``auth`` object."""
    if not isinstance(auth, Mapping):
        raise JpkiRefusal("auth_malformed", "expected an object")
    cert = _b64(auth, "certificate", MAX_CERTIFICATE)
    signature = _b64(auth, "signature", MAX_SIGNATURE)
    challenge = auth.get("challenge")
    if not isinstance(challenge, str) or len(challenge) != 2 * NONCE_BYTES:
        raise JpkiRefusal("auth_malformed", "challenge: expected 64 hex digits")
    try:
        raw = bytes.fromhex(challenge)
    except ValueError:
        raise JpkiRefusal("auth_malformed", "challenge: expected 64 hex digits") from None
    return cert, signature, raw


class JpkiAuthenticator:
    """Admits holders of an eligible JPKI signing certificate who signed this ballot."""

    def __init__(
        self,
        config: TrustConfig,
        key: bytes,
        h_e: bytes,
        challenges: NonceStore,
        evidence: EvidenceStore,
        clock: Clock | None = None,
        voted: Callable[[str, tuple[int, ...], bytes], bool] | None = None,
    ) -> None:
        """``voted(voter, contests, code)``: whether the voter already has a cast ballot,
        other than the one with confirmation code ``code``, in any of ``contests`` (the
        board's :meth:`bulletin.board.Board.voted_in`); without it, remote challenges are
        not judged (a gate with no board, as in unit tests)."""
        if config.rule is None:
            raise JpkiConfigError("the gate needs the manifest's address rule")
        if len(h_e) != 32:
            raise JpkiConfigError("H_E must be 32 bytes")
        if len(key) < 32:
            raise JpkiConfigError("the pseudonym key must be at least 32 bytes")
        self.config = config
        self._key = key
        self.h_e = h_e
        self.challenges = challenges
        self.evidence = evidence
        self.clock = clock or SystemClock()
        self.voted = voted

    def __repr__(self) -> str:
        return f"JpkiAuthenticator({len(self.config.anchors)} anchors)"

    def set_crls(self, crls: Iterable[Crl]) -> None:
        """Swap in newly delivered CRLs (load them with :func:`bulletin.jpki.load_crl`
        against ``config.anchors``); submissions in flight keep the configuration they read."""
        self.config = dataclasses.replace(self.config, crls=tuple(crls))

    def new_nonce(self) -> SigningNonce:
        """A fresh single-use challenge for the booth (``POST …/challenge``)."""
        return self.challenges.issue(self.clock.now())

    def authenticate(
        self, auth: Mapping[str, Any], ballot_digest: bytes, contests: tuple[int, ...] = ()
    ) -> str:
        """The Authenticator protocol. ``ballot_digest`` must be the ballot's confirmation
        code H_C (32 bytes): that is what the card signed (see the module docstring)."""
        return self.authenticate_ballot(auth, ballot_digest, contests=contests)

    def authenticate_ballot(
        self,
        auth: Mapping[str, Any],
        confirmation_code: bytes,
        at: datetime | None = None,
        contests: tuple[int, ...] = (),
    ) -> str:
        """Check a signed submission at its receipt time; the voter's pseudonym, or refuse."""
        at = at or self.clock.now()
        config = self.config  # one configuration for the whole check (set_crls may swap it)
        cert_der, signature, challenge = parse_auth(auth)
        cert = parse_certificate(cert_der)
        message = signed_message(self.h_e, confirmation_code, challenge)
        verify_signature(cert, message, signature)
        verdict = check_certificate(cert, config, at)
        voter = pseudonym(self._key, person_id(verdict.holder))
        if (
            self.voted is not None
            and self.challenges.is_remote(challenge)
            and self.voted(voter, contests, confirmation_code)
        ):
            raise JpkiRefusal("revote_other_device")
        # The challenge is spent last, and only by an eligible card that signed this ballot:
        # anyone can read it in the signing-request link, and a self-signed certificate signs
        # correctly with its own key, so redeeming it earlier would let a stranger burn it.
        self.challenges.redeem(challenge, confirmation_code, at)
        self.evidence.put(
            Evidence(at, self.h_e, confirmation_code, challenge, voter, cert_der, signature)
        )
        return voter
