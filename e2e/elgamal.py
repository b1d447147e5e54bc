"""Base-K exponential ElGamal (ElectionGuard 2.1 §3.3.1).

A value σ is encrypted with nonce ξ under the public key K = g^s as
(α, β) = (g^ξ, K^(σ+ξ)). Products of ciphertexts encrypt sums of values. Decryption with
the secret s gives β·α^(-s) = K^σ; with the nonce ξ it gives β·K^(-ξ) = K^σ. The value σ
is then the discrete logarithm of K^σ to base K (:mod:`e2e.dlog`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gmpy2 import mpz

from e2e.codec import public
from e2e.group import ElementModP, ElementModQ, FixedBase, Group
from e2e.rng import Rng


class SecretKey:
    """A secret exponent. Deliberately not a dataclass: the public codec refuses it."""

    __slots__ = ("s",)

    def __init__(self, s: ElementModQ) -> None:
        self.s = s

    def __repr__(self) -> str:
        return "SecretKey(<hidden>)"


@public
@dataclass(frozen=True)
class Ciphertext:
    """An ElGamal ciphertext (α, β) = (g^ξ, K^(σ+ξ))."""

    alpha: ElementModP
    beta: ElementModP

    def __mul__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha * other.alpha, self.beta * other.beta)


class PublicKey:
    """The election (vote-encryption) key K with its fixed-base table, built once."""

    __slots__ = ("element", "table")

    def __init__(self, element: ElementModP, window: int | None = None) -> None:
        self.element = element
        self.table = FixedBase(element, window or element.group.window)

    @property
    def group(self) -> Group:
        return self.element.group

    def pow(self, e: ElementModQ | int) -> ElementModP:
        return self.table.pow(e)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.element == self.element

    def __hash__(self) -> int:
        return hash(self.element)


def keypair(group: Group, rng: Rng) -> tuple[SecretKey, PublicKey]:
    """A fresh key pair (s, K = g^s) for a single authority (tests, demos of the core)."""
    s = group.random_scalar(rng)
    return SecretKey(s), PublicKey(group.g_pow(s))


def encrypt(key: PublicKey, value: int, nonce: ElementModQ) -> Ciphertext:
    """(g^ξ, K^(σ+ξ)) with both exponentiations on fixed-base tables."""
    g = key.group
    if value < 0:
        raise ValueError("only non-negative values are encrypted")
    return Ciphertext(g.g_pow(nonce), key.pow(nonce + value))


def add(ciphertexts: Iterable[Ciphertext], group: Group) -> Ciphertext:
    """Homomorphic sum: the component-wise product (encrypts the sum of the values)."""
    a = mpz(1)
    b = mpz(1)
    p = group.p
    for c in ciphertexts:
        a = a * c.alpha.value % p
        b = b * c.beta.value % p
    return Ciphertext(ElementModP(a, group), ElementModP(b, group))


def decrypt_to_power(ct: Ciphertext, secret: SecretKey) -> ElementModP:
    """K^σ = β · α^(-s)."""
    return ct.beta / (ct.alpha**secret.s)


def decrypt_with_nonce_to_power(ct: Ciphertext, key: PublicKey, nonce: ElementModQ) -> ElementModP:
    """K^σ = β · K^(-ξ), for anyone who knows the encryption nonce (challenged ballots)."""
    return ct.beta / key.pow(nonce)
