"""The JPKI gate's cost per submission: ``tohyo bench gate``.

A stand-in CA revokes N certificates (100,000 by default) and publishes one CRL; the gate
loads it (signature checked, entries indexed by serial), then authenticates M signed
submissions from one eligible card: parse the certificate, the signature over
(H_E, H_C, challenge), the single-use challenge, the chain to the anchor, validity, key
usage, policies, the CRL lookup, the address rule, and the evidence record.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization

from bulletin.clock import FixedClock
from bulletin.jpki import (
    JpkiAuthenticator,
    MemoryNonceStore,
    TrustConfig,
    load_anchors,
    load_crl,
)
from bulletin.jpki.evidence import MemoryEvidenceStore
from bulletin.jpki.verify import check_certificate
from sim.testca import SimulatedCard, TestCA, new_key, sign_submission


def run_gate(revoked: int = 100_000, submissions: int = 300) -> dict[str, Any]:
    start = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
    key = new_key()
    ca = TestCA.create(not_before=start - timedelta(days=1000))
    for i in range(revoked):
        ca.state["revoked"][f"{0x10000000 + i:X}"] = {
            "at": (start - timedelta(days=1)).isoformat(),
            "reason": "affiliation_changed",
        }
    t = time.perf_counter()
    crl_der = ca.crl(start - timedelta(hours=1), start + timedelta(days=1))
    make_crl = time.perf_counter() - t
    anchors = load_anchors(ca.pem)
    t = time.perf_counter()
    crl = load_crl(crl_der, anchors)
    load = time.perf_counter() - t
    cert = ca.issue(
        name="筑波　花子",
        birth="319800217",
        sex="2",
        address="茨城県つくば市研究学園一丁目1番地1",
        issued=start - timedelta(days=100),
        key=key,
    )
    card = SimulatedCard.create(key, cert, "123456", iterations=1000)
    der = cert.public_bytes(serialization.Encoding.DER)
    config = TrustConfig.build(anchors, [crl], address_prefixes=["茨城県つくば市"])
    h_e = os.urandom(32)
    gate = JpkiAuthenticator(
        config,
        b"bench pseudonym key, 32 bytes or more",
        h_e,
        MemoryNonceStore(),
        MemoryEvidenceStore(),
        FixedClock(start),
    )
    samples, checks = [], []
    for _ in range(submissions):
        code = os.urandom(32)
        auth = sign_submission(card, "123456", h_e, code, gate.new_nonce().value)
        t = time.perf_counter()
        gate.authenticate(auth, code)
        samples.append(time.perf_counter() - t)
        t = time.perf_counter()
        check_certificate(der, config, start)
        checks.append(time.perf_counter() - t)
    return {
        "revoked_in_crl": revoked,
        "crl_bytes": len(crl_der),
        "crl_build_s": make_crl,
        "crl_load_and_verify_s": load,
        "submissions": submissions,
        "gate_per_submission_ms": statistics.median(samples) * 1e3,
        "gate_p99_ms": sorted(samples)[int(0.99 * len(samples))] * 1e3,
        "certificate_check_only_ms": statistics.median(checks) * 1e3,
    }
