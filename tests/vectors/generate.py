"""Generate the core test vectors: ``python -m tests.vectors.generate`` (from the repo root).

Every random input (secret key, nonces, proof nonces u_j, simulated challenges c_j) comes
from a DeterministicRng seeded with the file's name and is written out explicitly, so
another implementation (the browser encryptor) can reproduce each output from the listed
inputs alone without our RNG. tests/vectors/test_vectors.py regenerates the files in
memory and requires them to be byte-identical, pinning the formats.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from e2e import codec
from e2e.chaum_pedersen import decryption_challenge, prove_decryption_with
from e2e.elgamal import PublicKey, SecretKey, encrypt
from e2e.group import STANDARD, TEST, Group
from e2e.hash import DOMAIN, H, H_q, parameter_base_hash
from e2e.range_proof import prove_range_with, range_challenge
from e2e.rng import DeterministicRng
from e2e.schnorr import prove_schnorr_with, schnorr_challenge

HERE = pathlib.Path(__file__).parent
FILES = {"core-test-group.json": TEST, "core-standard-group.json": STANDARD}


def _q(x: Any) -> str:
    return x.hex()


def build(name: str, group: Group) -> dict[str, Any]:
    rng = DeterministicRng(name)
    s = group.random_scalar(rng)
    key = PublicKey(group.g_pow(s))
    h_p = parameter_base_hash(group, 5, 3)
    h_i = H(h_p, DOMAIN["selection_identifier"], rng.randbits(256).to_bytes(32, "big"))
    h_e = H(h_p, DOMAIN["extended_base_hash"], key.element)
    out: dict[str, Any] = {
        "header": {
            "what": "tohyo core test vectors (ElectionGuard 2.1 hash, ElGamal, proofs)",
            "how": "python -m tests.vectors.generate; inputs from DeterministicRng(file name)",
            "group": group.name,
            "note": "all random inputs are listed; outputs are canonical tohyo/1 documents",
        },
        "parameters": {
            "p": format(int(group.p), "X"),
            "q": format(int(group.q), "X"),
            "g": format(int(group.g), "X"),
        },
        "hashes": [
            {"what": "H_P n=5 k=3", "expected": h_p.hex_upper()},
            {
                "what": "H(H_P; 0x20, b(x,32)) with x from the rng (an identifier hash H_I)",
                "expected": h_i.hex_upper(),
            },
            {"what": "H(H_P; 0x14, K) (stands in for H_E)", "expected": h_e.hex_upper()},
        ],
        "secret_key": _q(s),
        "public_key": key.element.hex(),
        "encryptions": [],
        "range_proofs": [],
    }
    for limit, value in [(1, 0), (1, 1), (3, 2)]:
        xi = group.random_scalar(rng)
        ct = encrypt(key, value, xi)
        us = [group.random_scalar(rng) for _ in range(limit + 1)]
        fake = [group.random_scalar(rng) for _ in range(limit + 1)]
        proof = prove_range_with(key, h_i, (1, 2), ct, xi, value, limit, us, fake)
        out["encryptions"].append(
            {"value": value, "nonce": _q(xi), "ciphertext": codec.to_document(ct)}
        )
        out["range_proofs"].append(
            {
                "h_i": h_i.hex_upper(),
                "indices": [1, 2],
                "value": value,
                "limit": limit,
                "nonce": _q(xi),
                "u": [_q(u) for u in us],
                "simulated_challenges": [None if j == value else _q(c) for j, c in enumerate(fake)],
                "challenge": _q(range_challenge(h_i, (1, 2), ct, proof.commitments)),
                "ciphertext": codec.to_document(ct),
                "proof": codec.to_document(proof),
            }
        )
    coeffs = [group.random_scalar(rng) for _ in range(3)]
    us = [group.random_scalar(rng) for _ in range(3)]
    sp = prove_schnorr_with(group, h_p, 2, coeffs, us)
    out["schnorr"] = {
        "h_p": h_p.hex_upper(),
        "index": 2,
        "secrets": [_q(x) for x in coeffs],
        "u": [_q(u) for u in us],
        "publics": [group.g_pow(x).hex() for x in coeffs],
        "challenge": _q(
            schnorr_challenge(h_p, 2, [group.g_pow(x) for x in coeffs], sp.commitments)
        ),
        "proof": codec.to_document(sp),
    }
    ct = encrypt(key, 7, group.random_scalar(rng))
    u = group.random_scalar(rng)
    m, dp = prove_decryption_with(h_e, (1, 3), ct, SecretKey(s), u)
    out["decryption"] = {
        "h_e": h_e.hex_upper(),
        "indices": [1, 3],
        "u": _q(u),
        "ciphertext": codec.to_document(ct),
        "m": m.hex(),
        "value": 7,
        "challenge": _q(decryption_challenge(h_e, (1, 3), ct, dp.commitment_a, dp.commitment_b, m)),
        "proof": codec.to_document(dp),
    }
    out["h_q_example"] = {
        "what": "H_q(H_P; 0x21, 1, 2, b(5, l_q))",
        "expected": _q(H_q(group, h_p, 0x21, 1, 2, group.scalar(5))),
    }
    return out


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    for name, group in FILES.items():
        (HERE / name).write_text(render(build(name, group)), encoding="utf-8")
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
