"""The address rule: is the certificate holder's recorded address in the voting area?

JPKI addresses start with the prefecture, carry no postcode and use full-width digits and
``－`` (JPKI.md). The rule, from the election manifest, is a list of prefixes such as
``茨城県つくば市``:

- both sides are normalised with NFKC (full-width digits and ``－`` become ASCII) and all
  white space is dropped;
- the address must **start with** a prefix: ``茨城県つくばみらい市`` is not ``茨城県つくば市``,
  and neither is ``東京都…つくば市ビル``;
- the substitute-character flags (one ``0``/``1`` per character of the address as recorded)
  must have the address's length, and no character that forms the matched prefix may be a
  substitute character (its true form is unknown, so the match would be a guess).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bulletin.jpki.errors import JpkiConfigError, JpkiRefusal

_WHITE = re.compile(r"\s+")
_PREFECTURE = re.compile(r"^(東京都|北海道|京都府|大阪府|[^\s都道府県]{2,3}県)")
_MUNICIPAL_END = "都道府県市区町村"


def normalize(text: str) -> str:
    """NFKC, then drop every white-space character."""
    return _WHITE.sub("", unicodedata.normalize("NFKC", text))


class AddressRule:
    """Eligible addresses: those that start with one of ``prefixes`` (after normalisation)."""

    def __init__(self, prefixes: Iterable[str]) -> None:
        normalized = []
        for p in prefixes:
            n = normalize(p)
            if not _PREFECTURE.match(n) or n[-1] not in _MUNICIPAL_END:
                raise JpkiConfigError(
                    f"address prefix {p!r} must start with a prefecture and end with "
                    "都, 道, 府, 県, 市, 区, 町 or 村 (e.g. 茨城県つくば市)"
                )
            normalized.append(n)
        if not normalized:
            raise JpkiConfigError("the address rule needs at least one prefix")
        self.prefixes: tuple[str, ...] = tuple(normalized)

    def check(self, address: str, flags: str) -> str:
        """Return the matched prefix, or raise ``address_not_eligible``/``address_substitute``."""
        if len(flags) != len(address) or set(flags) - {"0", "1"}:
            raise JpkiRefusal(
                "address_substitute", "the substitute-character flags do not match the address"
            )
        n = normalize(address)
        for prefix in self.prefixes:
            if not n.startswith(prefix):
                continue
            # The shortest recorded prefix whose normal form covers the rule's prefix.
            for end in range(1, len(address) + 1):
                if normalize(address[:end]).startswith(prefix):
                    break
            if "1" in flags[:end]:
                raise JpkiRefusal(
                    "address_substitute", "a substitute character lies inside the area's name"
                )
            return prefix
        raise JpkiRefusal("address_not_eligible")
