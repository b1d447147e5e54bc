"""The PC/SC harness of the card tests (not a test module): a real pcscd with vsmartcard's
vpcd reader, started by the test session itself (sim.pcscd: its own mount namespace and
socket, the vpcd slots on free ports, stopped at the end), into which the tests insert
virtual My Number Cards (sim.vcard).

Import the fixtures into a test module (``from tests.integration.pcsc import pcsc_fixture,
pcsc_stack_fixture  # noqa: F401``), then ask for ``pcsc`` (a running stack, both slots
empty) or ``pcsc_stack``. If pcscd, vpcd or pyscard are missing the tests fail, saying
that ``make pcsc`` installs them: they are never skipped.

One stack per test module, one at a time per process: libpcsclite reads the socket's
path (``PCSCLITE_CSOCK_NAME``) once per process, so every stack of a process uses the
same socket directory; a subprocess that uses PC/SC (``tohyo signer``) gets ``stack.env``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim.pcscd import SLOTS, PcscdError, PrivatePcscd, pyscard


class PcscStack(PrivatePcscd):
    """:class:`sim.pcscd.PrivatePcscd` for tests: its failures fail the test (with the
    daemon's log), and :meth:`clear` empties every slot between tests."""

    @classmethod
    def create(cls, *, debug: bool = False) -> PcscStack:
        try:
            pyscard()
            return cls(debug=debug)
        except PcscdError as e:
            pytest.fail(str(e))

    def start(self, timeout: float = 15.0) -> PcscStack:
        try:
            super().start(timeout)
        except PcscdError as e:
            pytest.fail(str(e))
        return self

    def clear(self) -> None:
        """Pcscd running, every slot empty (what a test may have left)."""
        if not self.running:
            self.start()
        for slot in range(SLOTS):
            try:
                self.remove(slot)
            except PcscdError as e:
                pytest.fail(f"{e}\n{self.log_tail()}")


@pytest.fixture(scope="module", name="pcsc_stack")
def pcsc_stack_fixture() -> Iterator[PcscStack]:
    """A stack per test module: one process runs one private pcscd at a time (see
    sim.pcscd), and another module may start its own."""
    stack = PcscStack.create()
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(name="pcsc")
def pcsc_fixture(pcsc_stack: PcscStack) -> Iterator[PcscStack]:
    """The session's stack, running, with both slots empty before and after the test."""
    pcsc_stack.clear()
    yield pcsc_stack
    pcsc_stack.clear()
