"""A trustee's side of decryption: partial decryptions of the tally with proofs (§3.6.3)."""

from __future__ import annotations

from e2e.chaum_pedersen import prove_decryption
from e2e.election import Election
from e2e.elgamal import SecretKey
from e2e.group import ElementModP
from e2e.rng import Rng
from e2e.tally import EncryptedTally, PartialContest, PartialDecryption, PartialSelection
from trustees.ceremony import TrusteeSecrets


def partial_decrypt(
    election: Election,
    tally: EncryptedTally,
    secrets_: TrusteeSecrets,
    public_share: ElementModP,
    rng: Rng,
) -> PartialDecryption:
    """M_i = A^(z_i) for every tally selection, each with its proof (difference D4)."""
    if secrets_.share is None:
        raise ValueError("this trustee has not finished the key ceremony")
    if election.group.g_pow(secrets_.share) != public_share:
        raise ValueError("the key share does not match this election's commitments")
    z = SecretKey(secrets_.share)
    i = secrets_.index
    contests = []
    for tc in tally.contests:
        sels = []
        for oi, ct in enumerate(tc.selections, start=1):
            m, proof = prove_decryption(
                election.h_e, (tc.contest, oi), ct, z, rng, (i, public_share)
            )
            sels.append(PartialSelection(m, proof))
        contests.append(PartialContest(tc.contest, tuple(sels)))
    return PartialDecryption(i, tuple(contests))
