"""What the ceremony store reads back: the read models, and the public summary of one.

Frozen dataclasses built from the mailbox's rows (:mod:`.store`); nothing here touches the
database. :func:`ceremony_summary` is the public JSON status of a ceremony, which the API
(``GET /api/ceremony``) serves: no tokens, no shares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from e2e import codec
from e2e.election import TrusteePublicKey, base_hash, joint_key
from e2e.group import GROUPS, Group
from e2e.hash import HashValue
from e2e.manifest import Manifest


@dataclass(frozen=True)
class Ceremony:
    """One key ceremony: the manifest (which fixes n and k) and the group."""

    id: int
    group_name: str
    manifest: Manifest
    created: str
    finished: str | None
    abandoned: str | None

    @property
    def group(self) -> Group:
        return GROUPS[self.group_name]

    @property
    def n(self) -> int:
        return self.manifest.trustees

    @property
    def k(self) -> int:
        return self.manifest.quorum

    @property
    def h_p(self) -> HashValue:
        return base_hash(self.group, self.manifest)[0]


@dataclass(frozen=True)
class Complaint:
    """Trustee ``complainant`` found the share from ``accused`` bad."""

    complainant: int
    accused: int
    reason: str
    posted: str
    resolved: str | None


@dataclass(frozen=True)
class TrusteeProgress:
    """One trustee's steps in the ceremony (public information only)."""

    index: int
    public_key: TrusteePublicKey | None
    public_posted: str | None
    shares_sent: frozenset[int]  # recipients
    shares_received: frozenset[int]  # senders
    confirmed: str | None

    def fingerprint(self) -> str:
        """A short fingerprint of K_i, for people to compare."""
        if self.public_key is None:
            return ""
        return hashlib.sha256(self.public_key.key.to_bytes()).hexdigest()[:16].upper()


@dataclass(frozen=True)
class Progress:
    """The whole ceremony as the administrator and the public pages see it."""

    ceremony: Ceremony
    trustees: tuple[TrusteeProgress, ...]
    complaints: tuple[Complaint, ...]

    @property
    def open_complaints(self) -> list[Complaint]:
        return [c for c in self.complaints if c.resolved is None]

    def missing_keys(self) -> list[int]:
        return [t.index for t in self.trustees if t.public_key is None]

    def missing_shares(self) -> list[tuple[int, int]]:
        """(sender, recipient) pairs whose share has not been posted."""
        n = self.ceremony.n
        got = {(t.index, r) for t in self.trustees for r in t.shares_sent}
        return [
            (s, r) for s in range(1, n + 1) for r in range(1, n + 1) if s != r and (s, r) not in got
        ]

    def unconfirmed(self) -> list[int]:
        return [t.index for t in self.trustees if t.confirmed is None]

    @property
    def ready(self) -> bool:
        """Every key, share and confirmation is in and no complaint is open."""
        return not (
            self.missing_keys()
            or self.missing_shares()
            or self.unconfirmed()
            or self.open_complaints
        )

    def blockers(self) -> list[str]:
        """Why the ceremony cannot finish yet, one English phrase each (for error details)."""
        out = []
        if self.missing_keys():
            out.append(f"public keys missing from trustees {self.missing_keys()}")
        if self.missing_shares():
            senders = sorted({s for s, _ in self.missing_shares()})
            out.append(f"shares missing from trustees {senders}")
        if self.unconfirmed():
            out.append(f"not confirmed by trustees {self.unconfirmed()}")
        for c in self.open_complaints:
            out.append(f"trustee {c.complainant} complains about trustee {c.accused}'s share")
        return out

    def joint_key_fingerprint(self) -> str:
        """Fingerprint of K as the trustee CLI prints it (first 32 hex digits), or ''."""
        if self.missing_keys():
            return ""
        keys = [t.public_key for t in self.trustees if t.public_key is not None]
        return joint_key(self.ceremony.group, keys).hex()[:32]


@dataclass(frozen=True)
class Caller:
    """A trustee authenticated by its enrolment token."""

    ceremony: Ceremony
    index: int


def manifest_document(ceremony: Ceremony) -> dict[str, Any]:
    """The ceremony's manifest as a canonical document (what the trustees hash into H_B)."""
    return codec.to_document(ceremony.manifest)


def ceremony_summary(progress: Progress, decryptions: Mapping[int, int]) -> dict[str, Any]:
    """The public status of a ceremony (no tokens, no shares)."""
    c = progress.ceremony
    return {
        "ceremony": c.id,
        "group": c.group_name,
        "trustees": c.n,
        "quorum": c.k,
        "created": c.created,
        "finished": c.finished,
        "manifest": manifest_document(c),
        "public_keys": [
            codec.to_document(t.public_key) for t in progress.trustees if t.public_key is not None
        ],
        "joint_key_fingerprint": progress.joint_key_fingerprint(),
        "progress": [
            {
                "trustee": t.index,
                "public_key": t.public_key is not None,
                "shares_sent": sorted(t.shares_sent),
                "shares_received": sorted(t.shares_received),
                "confirmed": t.confirmed is not None,
                "decryption": t.index in decryptions,
            }
            for t in progress.trustees
        ],
        "open_complaints": [
            {"complainant": x.complainant, "accused": x.accused} for x in progress.open_complaints
        ],
    }


__all__ = [
    "Caller",
    "Ceremony",
    "Complaint",
    "Progress",
    "TrusteeProgress",
    "ceremony_summary",
    "manifest_document",
]
