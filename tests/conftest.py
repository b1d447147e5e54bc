"""Shared fixtures: the test group for speed, the standard group where marked."""

from __future__ import annotations

import pytest

from e2e.elgamal import keypair
from e2e.group import STANDARD, TEST, Group
from e2e.hash import H, HashValue, parameter_base_hash
from e2e.rng import DeterministicRng


@pytest.fixture
def group() -> Group:
    return TEST


@pytest.fixture(scope="session")
def standard() -> Group:
    return STANDARD


@pytest.fixture
def rng() -> DeterministicRng:
    return DeterministicRng("tests")


@pytest.fixture
def keys(group, rng):
    return keypair(group, rng)


@pytest.fixture
def h_i(group) -> HashValue:
    return H(parameter_base_hash(group, 3, 2), 0x20, b"ballot")
