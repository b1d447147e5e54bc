"""Randomness is an argument: the OS CSPRNG in real use, a seeded one for vectors and demos.

Nothing in ``e2e`` imports ``random``. :class:`DeterministicRng` is a counter-mode
HMAC-SHA-256 generator: reproducible from its seed (for test vectors and the simulated
election), and unpredictable to anyone who does not know the seed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Protocol


class Rng(Protocol):
    """Where randomness comes from."""

    def randbelow(self, n: int) -> int: ...

    def randbits(self, k: int) -> int: ...


class SystemRng:
    """The operating system's CSPRNG (``secrets``): the default for every real secret."""

    def randbelow(self, n: int) -> int:
        return secrets.randbelow(n)

    def randbits(self, k: int) -> int:
        return secrets.randbits(k)


class DeterministicRng:
    """Seeded CSPRNG: block i = HMAC-SHA-256(seed, label ∥ i). For vectors and simulations."""

    def __init__(self, seed: bytes | str, label: bytes = b"tohyo-rng") -> None:
        self._key = hashlib.sha256(seed.encode() if isinstance(seed, str) else seed).digest()
        self._label = label
        self._counter = 0

    def _block(self) -> bytes:
        self._counter += 1
        msg = self._label + self._counter.to_bytes(8, "big")
        return hmac.new(self._key, msg, hashlib.sha256).digest()

    def randbits(self, k: int) -> int:
        nbytes = (k + 7) // 8
        buf = b""
        while len(buf) < nbytes:
            buf += self._block()
        return int.from_bytes(buf[:nbytes], "big") >> (8 * nbytes - k)

    def randbelow(self, n: int) -> int:
        if n <= 0:
            raise ValueError("randbelow needs n > 0")
        k = n.bit_length()
        while True:  # rejection sampling: uniform, no modulo bias
            x = self.randbits(k)
            if x < n:
                return x

    def fork(self, label: str) -> DeterministicRng:
        """An independent generator for a named sub-task (e.g. one simulated voter)."""
        return DeterministicRng(self._key + label.encode(), self._label)
