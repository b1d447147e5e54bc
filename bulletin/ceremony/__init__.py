"""The key ceremony's mailbox in the board's database: the server relays, never decides.

Trustees run the ceremony (``trustees/ceremony.py``) on their own machines; this package
only stores what they publish or address to each other, and checks every message before it
keeps it, so that a bad message is refused at once with its reason instead of surfacing
later on another trustee's machine:

* the administrator creates a ceremony from a manifest (which fixes n, k and H_P) and a
  group; each trustee gets a random enrolment token, shown once, of which only the SHA-256
  is stored (the token has 256 bits of entropy, so a plain hash is enough);
* a trustee posts its public key (commitments, κ_i and the Schnorr proof: checked here),
  then, once all n keys are in, its encrypted shares (each addressed to one recipient and
  already encrypted to the recipient's κ_ℓ; the proof of the encryption nonce is checked
  here, the share itself can only be checked by its recipient);
* each recipient downloads its shares, checks them against the senders' commitments, and
  posts either a confirmation (with the joint key it computed, compared here with ∏ K_i)
  or a complaint naming the sender, who may then send a new share to that recipient;
* when every trustee has confirmed and no complaint is open, :meth:`CeremonyStore.finish`
  posts the election on the board exactly as ``tohyo board init`` does (manifest, trustee
  public keys, parameters) — the encrypted shares are not part of the record;
* after the tally, a trustee posts its partial decryption with the same token.

These are operational tables beside the log (like ``challenges``, which holds the JPKI
gate's signing nonces): rows change when a ceremony is finished or abandoned, a complaint
resolved or a share replaced. Everything that counts ends up on the log, which alone is
published.

The package, by responsibility: :mod:`.tables` (the mailbox's tables, in the board's
schema), :mod:`.views` (what the store reads back: :class:`Ceremony`, :class:`Progress`…,
and the public summary), :mod:`.checks` (the checks a message passes before it is kept),
:mod:`.errors` (:class:`CeremonyError`) and :mod:`.store` (:class:`CeremonyStore`). Every
public name is importable from ``bulletin.ceremony`` itself.
"""

from bulletin.ceremony.checks import MAX_REASON, check_share_proof
from bulletin.ceremony.errors import CeremonyError
from bulletin.ceremony.store import MAX_TRUSTEES, CeremonyStore, token_hash
from bulletin.ceremony.tables import (
    ceremonies,
    ceremony_complaints,
    ceremony_shares,
    ceremony_trustees,
)
from bulletin.ceremony.views import (
    Caller,
    Ceremony,
    Complaint,
    Progress,
    TrusteeProgress,
    ceremony_summary,
    manifest_document,
)

__all__ = [
    "MAX_REASON",
    "MAX_TRUSTEES",
    "Caller",
    "Ceremony",
    "CeremonyError",
    "CeremonyStore",
    "Complaint",
    "Progress",
    "TrusteeProgress",
    "ceremonies",
    "ceremony_complaints",
    "ceremony_shares",
    "ceremony_summary",
    "ceremony_trustees",
    "check_share_proof",
    "manifest_document",
    "token_hash",
]
