import json

import pytest

from e2e.group import TEST
from e2e.hash import HashValue
from e2e.rng import DeterministicRng
from trustees import keystore
from trustees.ceremony import new_trustee


@pytest.fixture
def key():
    secrets_, _ = new_trustee(TEST, HashValue(bytes(32)), 2, 3, DeterministicRng("ks"))
    secrets_.received = {1: TEST.scalar(5)}
    secrets_.share = TEST.scalar(9)
    return keystore.TrusteeKey(TEST, HashValue(bytes(32)), 5, 3, secrets_)


def test_round_trip_and_secrecy(tmp_path, key):
    path = tmp_path / "k.key"
    keystore.save(path, key, "a long passphrase", n_kdf=2**10)
    text = path.read_text()
    for a in key.secrets.coefficients:
        assert a.hex() not in text and a.hex().lower() not in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    back = keystore.load(path, "a long passphrase")
    assert back.secrets.coefficients == key.secrets.coefficients
    assert back.secrets.zeta == key.secrets.zeta
    assert back.secrets.received == {1: TEST.scalar(5)} and back.secrets.share == TEST.scalar(9)
    assert (back.n, back.k, back.secrets.index) == (5, 3, 2)
    assert "hidden" in repr(back) and "hidden" in repr(back.secrets)


def test_refusals(tmp_path, key):
    path = tmp_path / "k.key"
    with pytest.raises(keystore.KeystoreError, match="at least 12"):
        keystore.save(path, key, "short", n_kdf=2**10)
    keystore.save(path, key, "a long passphrase", n_kdf=2**10)
    with pytest.raises(keystore.KeystoreError, match="wrong passphrase"):
        keystore.load(path, "another long passphrase")
    doc = json.loads(path.read_text())
    doc["trustee"] = 3  # header is authenticated
    path.write_text(json.dumps(doc))
    with pytest.raises(keystore.KeystoreError, match="wrong passphrase, or the file was changed"):
        keystore.load(path, "a long passphrase")
    path.write_text("not json")
    with pytest.raises(keystore.KeystoreError, match="not a trustee key file"):
        keystore.load(path, "a long passphrase")
    with pytest.raises(keystore.KeystoreError):
        keystore.load(tmp_path / "missing.key", "a long passphrase")
