"""The JPKI gate: only holders of an eligible My Number Card signing certificate
(署名用電子証明書) who signed the ballot may cast it (docs/protocol.md §9, docs/jpki.md).

- :mod:`.certs`: parsing of the JPKI certificate profile, anchors and CRLs, and the J-LIS
  roots shipped in ``anchors/`` (:func:`jlis_anchors`, :func:`jlis_anchor_paths`);
- :mod:`.address`: the address rule (NFKC, prefix, substitute characters);
- :mod:`.verify`: the eligibility checks and the signed message;
- :mod:`.challenge`: single-use server challenges;
- :mod:`.evidence`: the access-controlled evidence store and its offline audit;
- :mod:`.authenticator`: the board's :class:`bulletin.auth.Authenticator`;
- :mod:`.cli`: ``tohyo jpki check`` and ``tohyo audit evidence …``.

The stand-in CA and the simulated cards of demos, rehearsals and tests are the
simulation's (:mod:`sim.testca`); production code never imports them.

docs/jpki.md is the administrator's guide.
"""

from bulletin.jpki.address import AddressRule
from bulletin.jpki.authenticator import JpkiAuthenticator, parse_auth
from bulletin.jpki.certs import (
    JLIS_ROOTS,
    POLICY_PRODUCTION,
    POLICY_TEST,
    Anchor,
    Crl,
    JpkiCertificate,
    jlis_anchor_paths,
    jlis_anchors,
    load_anchors,
    load_crl,
    parse_certificate,
)
from bulletin.jpki.errors import REASONS, JpkiConfigError, JpkiRefusal
from bulletin.jpki.evidence import DirectoryEvidenceStore, Evidence, EvidenceStore, reverify
from bulletin.jpki.nonce import MemoryNonceStore, NonceStore, SigningNonce
from bulletin.jpki.verify import (
    TrustConfig,
    Verdict,
    check_certificate,
    digest_info,
    person_id,
    signed_message,
    verify_signature,
)

__all__ = [
    "JLIS_ROOTS",
    "POLICY_PRODUCTION",
    "POLICY_TEST",
    "REASONS",
    "AddressRule",
    "Anchor",
    "SigningNonce",
    "NonceStore",
    "Crl",
    "DirectoryEvidenceStore",
    "Evidence",
    "EvidenceStore",
    "JpkiAuthenticator",
    "JpkiCertificate",
    "JpkiConfigError",
    "JpkiRefusal",
    "MemoryNonceStore",
    "TrustConfig",
    "Verdict",
    "check_certificate",
    "digest_info",
    "jlis_anchor_paths",
    "jlis_anchors",
    "load_anchors",
    "load_crl",
    "parse_auth",
    "parse_certificate",
    "person_id",
    "reverify",
    "signed_message",
    "verify_signature",
]
