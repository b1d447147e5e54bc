"""The card reader: a :class:`~signer.card.JpkiCard` over PC/SC (pyscard's ``smartcard.scard``
on the system's pcscd), with PC/SC's failures turned into :class:`~signer.card.CardError`.

pyscard is optional (``pip install 'tohyo[card]'``; it builds against Debian's
``libpcsclite-dev`` with ``swig``, and needs the ``pcscd`` service at run time), so it is
imported only when a reader is used. The client library finds pcscd's socket at its
default place, or at ``PCSCLITE_CSOCK_NAME`` (which it reads once per process).

    with open_card() as card:              # the first reader with a card, or open_card(name)
        certificate, signature = card.sign_message(pin, message)

:func:`open_card` is a context manager: it connects exclusively (no other program can
send commands between our VERIFY and our SIGN) and, on leaving, disconnects with a card
reset, so the verified signing PIN does not outlive the operation for anyone else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from signer.card import CardError, JpkiCard

INSTALL_HINT = (
    "pyscard is not installed: pip install 'tohyo[card]' (it needs Debian's swig and "
    "libpcsclite-dev to build), and the PC/SC service: apt install pcscd"
)
SERVICE_DOWN = "the PC/SC service (pcscd) is not running; start it (apt install pcscd)"


class PyscardMissing(RuntimeError):
    """pyscard cannot be imported: an installation problem, not a card's."""


def _scard() -> ModuleType:
    try:
        import smartcard.scard as scard
    except ImportError:
        raise PyscardMissing(INSTALL_HINT) from None
    return scard


def available() -> bool:
    """Whether pyscard can be imported (the signer service shows the hint otherwise)."""
    try:
        _scard()
    except PyscardMissing:
        return False
    return True


def _name(scard: ModuleType, hresult: int) -> str:
    for attr in dir(scard):
        if attr.startswith(("SCARD_E_", "SCARD_W_", "SCARD_F_")):
            if getattr(scard, attr) == hresult:
                return attr
    return f"{hresult & 0xFFFFFFFF:#010x}"


def _codes(scard: ModuleType, *names: str) -> set[int]:
    return {getattr(scard, n) for n in names if hasattr(scard, n)}


def _service_down(scard: ModuleType) -> set[int]:
    return _codes(scard, "SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED")


def _lost(scard: ModuleType) -> set[int]:
    """Failures of a command that mean the card (or the reader, or pcscd) went away, or
    stopped answering mid-command: what happened on the card is unknown, and the voter's
    remedy is the same: put the card back and start again."""
    return _service_down(scard) | _codes(
        scard,
        "SCARD_W_REMOVED_CARD",
        "SCARD_W_RESET_CARD",
        "SCARD_W_UNPOWERED_CARD",
        "SCARD_W_UNRESPONSIVE_CARD",
        "SCARD_E_NO_SMARTCARD",
        "SCARD_E_READER_UNAVAILABLE",
        "SCARD_E_UNKNOWN_READER",
        "SCARD_E_NOT_TRANSACTED",
        "SCARD_E_COMM_DATA_LOST",
        "SCARD_F_COMM_ERROR",
        "SCARD_E_INVALID_HANDLE",
        "SCARD_E_NO_READERS_AVAILABLE",
    )


@contextlib.contextmanager
def _context(scard: ModuleType) -> Iterator[Any]:
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr in _service_down(scard):
        raise CardError("no_reader", SERVICE_DOWN)
    if hr != scard.SCARD_S_SUCCESS:
        raise CardError("no_reader", f"PC/SC cannot be used: {_name(scard, hr)}")
    try:
        yield ctx
    finally:
        scard.SCardReleaseContext(ctx)


def _list(scard: ModuleType, ctx: Any) -> list[str]:
    hr, names = scard.SCardListReaders(ctx, [])
    if hr in _codes(scard, "SCARD_E_NO_READERS_AVAILABLE"):
        return []
    if hr in _service_down(scard):
        raise CardError("no_reader", SERVICE_DOWN)
    if hr != scard.SCARD_S_SUCCESS:
        raise CardError("no_reader", f"the readers cannot be listed: {_name(scard, hr)}")
    return list(names)


def readers() -> list[str]:
    """The PC/SC readers connected now ([] if none); ``no_reader`` if pcscd is not running."""
    scard = _scard()
    with _context(scard) as ctx:
        return _list(scard, ctx)


def _card_states(scard: ModuleType, ctx: Any, names: list[str]) -> dict[str, int]:
    hr, states = scard.SCardGetStatusChange(ctx, 0, [(n, scard.SCARD_STATE_UNAWARE) for n in names])
    if hr in _service_down(scard):
        raise CardError("no_reader", SERVICE_DOWN)
    if hr != scard.SCARD_S_SUCCESS:
        raise CardError("no_reader", f"the readers' state is unknown: {_name(scard, hr)}")
    return {name: state for name, state, _atr in states}


def _pick(scard: ModuleType, ctx: Any, wanted: str | None) -> str:
    names = _list(scard, ctx)
    if not names:
        raise CardError("no_reader", "no card reader is connected")
    if wanted is not None and wanted not in names:
        raise CardError("no_reader", f"no reader {wanted!r} (readers: {', '.join(names)})")
    candidates = [wanted] if wanted is not None else names
    states = _card_states(scard, ctx, candidates)
    mute = False
    for name in candidates:
        state = states.get(name, 0)
        if state & scard.SCARD_STATE_PRESENT:
            if not state & scard.SCARD_STATE_MUTE:
                return name
            mute = True
    if mute:
        raise CardError("no_card", "the card does not answer (is it inserted the right way?)")
    where = f"reader {wanted!r}" if wanted is not None else "any reader"
    raise CardError("no_card", f"there is no card in {where}")


class _Connection:
    """``transmit`` for a connected card: PC/SC failures become CardError."""

    def __init__(self, scard: ModuleType, handle: Any, protocol: int) -> None:
        self._scard = scard
        self._handle = handle
        self._pci = (
            scard.SCARD_PCI_T1 if protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
        )

    def __call__(self, apdu: bytes) -> bytes:
        scard = self._scard
        hr, response = scard.SCardTransmit(self._handle, self._pci, list(apdu))
        if hr in _service_down(scard):
            raise CardError("removed", "the PC/SC service stopped during the operation")
        if hr in _codes(scard, "SCARD_W_RESET_CARD"):
            raise CardError("removed", "another program reset the card during the operation")
        if hr in _lost(scard):
            raise CardError(
                "removed", f"the card went away during the operation ({_name(scard, hr)})"
            )
        if hr != scard.SCARD_S_SUCCESS:
            raise CardError("card_status", f"the reader failed a command: {_name(scard, hr)}")
        if len(response) < 2:
            # No status word at all: the reader lost the card mid-command (pcscd reports
            # success with nothing when vpcd's card vanishes; a real reader, a comm error).
            raise CardError("removed", "the card stopped answering during the operation")
        return bytes(response)


@contextlib.contextmanager
def open_card(reader: str | None = None) -> Iterator[JpkiCard]:
    """The card in ``reader`` (a name from :func:`readers`), or in the first reader that
    has one, connected exclusively (T=0 or T=1); reset and released on leaving.

    ``no_reader``: pcscd is not running, or no (such) reader; ``no_card``: no card (or a
    mute one); ``card_status``: another program holds the card, or PC/SC refused. The
    card is not selected yet: :meth:`JpkiCard.select` tells a My Number Card (not_jpki).
    With several cards inserted, name the reader: the first card found may be another.
    """
    scard = _scard()
    with _context(scard) as ctx:
        name = _pick(scard, ctx, reader)
        hr, handle, protocol = scard.SCardConnect(
            ctx,
            name,
            scard.SCARD_SHARE_EXCLUSIVE,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hr in _service_down(scard):
            raise CardError("no_reader", SERVICE_DOWN)
        if hr in _codes(scard, "SCARD_E_NO_SMARTCARD", "SCARD_W_REMOVED_CARD"):
            raise CardError("no_card", f"there is no card in reader {name!r}")
        if hr in _codes(scard, "SCARD_W_UNRESPONSIVE_CARD", "SCARD_W_UNPOWERED_CARD"):
            raise CardError("no_card", "the card does not answer (is it inserted the right way?)")
        if hr in _codes(scard, "SCARD_E_SHARING_VIOLATION"):
            raise CardError("card_status", "another program is using the card; close it first")
        if hr in _codes(scard, "SCARD_E_UNKNOWN_READER", "SCARD_E_READER_UNAVAILABLE"):
            raise CardError("no_reader", f"the reader {name!r} went away")
        if hr != scard.SCARD_S_SUCCESS:
            raise CardError("card_status", f"the card cannot be connected: {_name(scard, hr)}")
        try:
            hr, _reader, _state, _protocol, atr = scard.SCardStatus(handle)
            card = JpkiCard(
                _Connection(scard, handle, protocol),
                atr=bytes(atr) if hr == scard.SCARD_S_SUCCESS else None,
                reader=name,
            )
            yield card
        finally:
            # A reset drops the verified PIN; if the card is gone this fails, harmlessly.
            scard.SCardDisconnect(handle, scard.SCARD_RESET_CARD)
