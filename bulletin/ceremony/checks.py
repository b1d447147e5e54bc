"""The checks a ceremony message passes before the store keeps it, each refusing with a
:class:`CeremonyError` that names what is wrong."""

from __future__ import annotations

import unicodedata
from typing import Any

from bulletin.ceremony.errors import CeremonyError
from e2e import codec
from e2e.errors import ParseError
from e2e.group import Group
from e2e.hash import DOMAIN, H_q, HashValue
from trustees.ceremony import EncryptedShare  # a message type (bulletin uses trustees' types)

#: The longest complaint reason kept (characters).
MAX_REASON = 500


def clean_reason(reason: Any) -> str:
    """A complaint's reason as the administrator's page shows it, or ``malformed``."""
    if not isinstance(reason, str) or not reason.strip():
        raise CeremonyError("malformed", "a complaint needs a reason (a non-empty string)")
    if len(reason) > MAX_REASON:
        raise CeremonyError("malformed", f"the reason is longer than {MAX_REASON} characters")
    # Shown on the administrator's page: no control characters, one line.
    return "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in reason).strip()


def check_share_proof(group: Group, h_p: HashValue, share: EncryptedShare) -> None:
    """The proof of the share-encryption nonce ξ (EG 2.1 eq. 22): γ = g^v · α^c with the
    Fiat-Shamir challenge c = H_q(H_P; 0x12, i, ℓ, γ, C_0, C_1). The same equation as
    ``trustees.ceremony.decrypt_share``; bulletin imports only trustees' types, so it is
    restated here (tests/integration/test_ceremony_api.py pins both to each other)."""
    gamma = share.proof.commitment
    c = H_q(
        group,
        h_p,
        DOMAIN["share_encryption_proof"],
        share.sender,
        share.recipient,
        gamma,
        share.alpha,
        share.data,
    )
    if group.g_pow(share.proof.response) * (share.alpha**c) != gamma:
        raise CeremonyError(
            "invalid_proof",
            f"share from trustee {share.sender} to trustee {share.recipient}: "
            "the proof of the encryption nonce does not verify",
        )


def decode_message(raw: Any, cls: type, group: Group, what: str) -> Any:
    """A posted document as an object of type ``cls``, or ``malformed`` naming ``what``."""
    try:
        return codec.from_document(raw, cls, group)
    except ParseError as e:
        raise CeremonyError("malformed", f"{what}: {e}") from None


__all__ = ["MAX_REASON", "check_share_proof", "clean_reason", "decode_message"]
