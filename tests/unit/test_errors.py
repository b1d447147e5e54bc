"""Verification errors keep the object they name across processes (pool and Dask workers
send them back pickled)."""

from __future__ import annotations

import pickle

import pytest

from e2e.errors import InvalidProof, VerificationError
from e2e.merkle import LogProofError
from e2e.tally import QuorumError


@pytest.mark.parametrize("cls", [VerificationError, InvalidProof, LogProofError])
def test_where_and_reason_survive_pickling(cls):
    e = cls("range proof does not verify", "ballot 0A1B contest 2")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is cls
    assert (back.where, back.reason, str(back)) == (e.where, e.reason, str(e))


def test_quorum_error_survives_pickling():
    e = QuorumError("only 1 of 2 trustees")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is QuorumError and back.where == "decryptions" and str(back) == str(e)
