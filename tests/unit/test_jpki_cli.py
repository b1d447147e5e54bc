"""``tohyo jpki testca|check|card`` and ``tohyo audit evidence`` through click."""

from __future__ import annotations

import json
import pathlib

import pytest
from click.testing import CliRunner

from bulletin.jpki import DirectoryEvidenceStore, jlis_anchor_paths, load_anchors, load_crl
from bulletin.jpki.cli import audit_group
from sim.testca import SimulatedCard
from tests.unit.test_jpki import CODE, H_E, JLIS_FINGERPRINTS, PKEY, gate
from tohyo.cli import main

AT = "2025-03-01T12:00:00+09:00"

#: ``tohyo jpki`` as the root command wires it: the production group with the simulation's
#: stand-in CA and card commands added.
jpki = main.commands["jpki"]


def run(group, *args, code: int = 0, input: str | None = None) -> str:
    result = CliRunner().invoke(group, [str(a) for a in args], input=input, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> pathlib.Path:
    d = tmp_path_factory.mktemp("jpki")
    run(jpki, "testca", "init", d / "ca", "--not-before", "2023-01-01T00:00:00+09:00")
    common = ["--birth", "319800217", "--sex", "2", "--issued", "2024-06-01T00:00:00+09:00"]
    run(
        jpki, "testca", "issue", d / "ca", "--name", "筑波　花子", *common,
        "--address", "茨城県つくば市研究学園一丁目1番地1",
        "--card", d / "hanako.json", "--cert", d / "hanako.pem", "--password-stdin",
        input="ABC123\n",
    )  # fmt: skip
    run(
        jpki, "testca", "issue", d / "ca", "--name", "筑波　次郎", *common,
        "--address", "茨城県つくばみらい市小絹1",
        "--card", d / "jiro.json", "--cert", d / "jiro.pem", "--password-stdin",
        input="ABC123\n",
    )  # fmt: skip
    run(
        jpki, "testca", "issue", d / "ca", "--name", "筑波　三郎", *common,
        "--address", "茨城県つくば市吾妻1",
        "--card", d / "saburo.json", "--cert", d / "saburo.pem", "--password-stdin",
        input="ABC123\n",
    )  # fmt: skip
    run(
        jpki,
        "testca",
        "revoke",
        d / "ca",
        "--cert",
        d / "saburo.pem",
        "--at",
        "2025-02-25T00:00:00+09:00",
    )
    run(
        jpki,
        "testca",
        "crl",
        d / "ca",
        "--out",
        d / "crl.der",
        "--this-update",
        "2025-03-01T00:00:00+09:00",
    )
    return d


def check(d: pathlib.Path, cert: str, *extra, code: int = 0) -> str:
    return run(
        jpki, "check", "--anchor", d / "ca" / "ca.pem", "--crl", d / "crl.der",
        "--at", AT, *extra, d / cert, code=code,
    )  # fmt: skip


def test_check_eligible(world):
    out = check(world, "hanako.pem", "--rule", "茨城県つくば市")
    assert "筑波　花子" in out and "茨城県つくば市研究学園一丁目１番地１" in out  # own eyes
    assert "ELIGIBLE (茨城県つくば市)" in out and "1980-02-17 (昭和)" in out


def test_check_der_certificate_and_no_rule(world, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate((world / "hanako.pem").read_bytes())
    (tmp_path / "c.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    out = run(jpki, "check", "--anchor", world / "ca" / "ca.pem", "--at", AT, tmp_path / "c.der")
    assert "CERTIFICATE VALID" in out and "not checked" in out


def test_check_not_eligible(world):
    out = check(world, "jiro.pem", "--rule", "茨城県つくば市", code=1)
    assert "address_not_eligible" in out and "対象地域" in out
    out = check(world, "saburo.pem", "--rule", "茨城県つくば市", code=1)
    assert "cert_revoked" in out
    out = check(
        world, "hanako.pem", "--rule", "茨城県つくば市", "--at", "2025-04-01T00:00:00+09:00", code=1
    )
    assert "crl_unavailable" in out


def test_check_with_the_jlis_roots(world):
    anchors = [a for f in jlis_anchor_paths() for a in ("--anchor", f)]
    out = run(jpki, "check", *anchors, "--at", AT, world / "hanako.pem", code=1)
    assert "cert_untrusted" in out


def test_check_and_audit_default_to_the_shipped_jlis_roots(world, tmp_path):
    out = run(jpki, "check", "--at", AT, world / "hanako.pem", code=1)
    assert "cert_untrusted" in out  # the stand-in CA is not trusted unless configured
    for fp in JLIS_FINGERPRINTS.values():
        assert fp in out
    challenge = "05" * 32
    auth = run(
        jpki, "card", "sign", world / "hanako.json", "--h-e", H_E.hex(), "--code", CODE.hex(),
        "--challenge", challenge, "--password-stdin", input="ABC123\n",
    )  # fmt: skip
    (tmp_path / "export.jsonl").write_text(
        json.dumps(
            {
                "format": "tohyo-jpki-evidence/1",
                "received_at": AT,
                "h_e": H_E.hex(),
                "confirmation_code": CODE.hex(),
                "pseudonym": "p",
                **json.loads(auth),
            }
        )
        + "\n"
    )
    out = run(
        audit_group, "evidence", "verify", "--rule", "茨城県つくば市", "--no-crl",
        tmp_path / "export.jsonl", code=1,
    )  # fmt: skip
    assert f"{challenge} p {CODE.hex().upper()} cert_untrusted" in out
    for fp in JLIS_FINGERPRINTS.values():
        assert fp in out


def test_check_unusable_input(world, tmp_path):
    (tmp_path / "junk").write_bytes(b"junk")
    run(jpki, "check", "--anchor", world / "ca" / "ca.pem", tmp_path / "junk", code=2)
    run(jpki, "check", "--anchor", world / "hanako.pem", world / "hanako.pem", code=2)
    check(world, "hanako.pem", "--at", "2025-03-01T12:00:00", code=2)  # no offset
    check(world, "hanako.pem", "--rule", "つくば市", code=2)  # a bad rule
    run(
        jpki,
        "check",
        "--anchor",
        world / "ca" / "ca.pem",
        "--crl",
        tmp_path / "junk",
        world / "hanako.pem",
        code=2,
    )


def test_card_sign_and_audit(world, tmp_path):
    anchors = load_anchors((world / "ca" / "ca.pem").read_bytes())
    crl = load_crl((world / "crl.der").read_bytes(), anchors)
    from bulletin.jpki import TrustConfig

    cfg = TrustConfig.build(anchors, [crl], address_prefixes=["茨城県つくば市"])
    store = DirectoryEvidenceStore(tmp_path / "evidence")
    g = gate(cfg, store)
    challenge = g.new_nonce().value.hex()
    out = run(
        jpki, "card", "sign", world / "hanako.json", "--h-e", H_E.hex(), "--code", CODE.hex(),
        "--challenge", challenge, "--password-stdin", input="ABC123\n",
    )  # fmt: skip
    voter = g.authenticate(json.loads(out), CODE)
    run(
        jpki, "card", "sign", world / "hanako.json", "--h-e", H_E.hex(), "--code", CODE.hex(),
        "--challenge", challenge, "--password-stdin", input="WRONG1\n", code=2,
    )  # fmt: skip
    assert SimulatedCard.load(world / "hanako.json").tries_left == 4

    export = tmp_path / "export.jsonl"
    run(audit_group, "evidence", "export", tmp_path / "evidence", "--out", export)
    (tmp_path / "key").write_text(PKEY.hex())
    common = ["--anchor", world / "ca" / "ca.pem", "--crl", world / "crl.der"]
    out = run(
        audit_group, "evidence", "verify", *common, "--rule", "茨城県つくば市",
        "--key", tmp_path / "key", export,
    )  # fmt: skip
    assert f"{voter} {CODE.hex().upper()} ok" in out
    assert "筑波" not in out
    # a record whose ballot binding was changed no longer verifies
    doc = json.loads(export.read_text())
    doc["confirmation_code"] = "00" * 32
    (tmp_path / "bad.jsonl").write_text(json.dumps(doc) + "\n")
    out = run(
        audit_group,
        "evidence",
        "verify",
        *common,
        "--rule",
        "茨城県つくば市",
        tmp_path / "bad.jsonl",
        code=1,
    )
    assert "signature_invalid" in out
