"""One small hierarchy of errors for everything the core rejects.

A verifier never returns ``False``: it returns ``None`` or raises one of these, so a
caller cannot forget to look at the answer (the pyca/cryptography rule).
"""

from __future__ import annotations


class TohyoError(Exception):
    """Base of every error raised on purpose by tohyo."""


class ParseError(TohyoError, ValueError):
    """Untrusted input could not be turned into a value of the expected type."""


class InvalidElement(ParseError):
    """A number is not an element of the order-q subgroup of Z_p^* (or is out of range)."""


class InvalidScalar(ParseError):
    """A number is not an integer in [0, q)."""


class CodecError(ParseError):
    """A published document is malformed or not in canonical form."""


class VerificationError(TohyoError):
    """A proof or a check of the election record failed.

    ``where`` names the object that failed (a ballot id, a trustee, a contest, the index
    of a proof in a batch), so a verifier can report the culprit.
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.reason = message

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:
        # Rebuilt from (reason, where), so a verdict that crosses a process or a Dask
        # worker still names its object (the default would pass the joined message alone).
        return (type(self), (self.reason, self.where))


class InvalidProof(VerificationError):
    """A zero-knowledge proof does not verify."""


class DecryptionError(TohyoError):
    """A plaintext could not be recovered (e.g. a tally beyond the discrete-log bound)."""
