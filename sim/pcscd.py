"""A private PC/SC stack: our own pcscd with vsmartcard's vpcd virtual reader, into which
:mod:`sim.vcard` inserts virtual My Number Cards (for tests, benchmarks and rehearsals;
never for a real vote). It never touches a system pcscd.

Why a mount namespace: pcscd 1.9.9 ignores ``PCSCLITE_CSOCK_NAME`` (only the client
library reads it) and always uses ``/run/pcscd/pcscd.comm`` and ``/run/pcscd/pcscd.pid``;
finding another daemon's pid file it refuses to start, and finding a stale one it
deletes the socket. So pcscd runs under ``unshare --mount`` (``--user --map-root-user``
too when not root), where our own directory is bind-mounted over ``/run`` (its socket
lands in our directory, which the clients outside reach through
``PCSCLITE_CSOCK_NAME``), and an empty directory over pcscd's USB driver directory (it
then disables USB: a real reader on the machine stays with the system's pcscd).

vpcd's facts (vsmartcard-vpcd 3.3, driver 0.8): a reader.conf ``DEVICENAME
/dev/null:PORT`` makes it listen on PORT *and* PORT+1 (two slots, readers ``<name> 00 00``
and ``<name> 00 01``), on every interface (0.0.0.0; its "reverse" mode, in which it
would connect to a loopback card instead, crashes pcscd when no card listens). pcscd
polls the slots every 0.4 s, so a card pulled is seen within about half a second.

libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once per process, so every stack started in
one process uses the same socket directory (one running at a time); other processes get
theirs from :attr:`PrivatePcscd.env`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, NoReturn

from sim.vcard import VirtualCard, VpcdLink

INSTALL_HINT = (
    "`make pcsc` installs them (Debian's pcscd, vsmartcard-vpcd, swig and libpcsclite-dev, "
    "then pyscard into the venv)"
)
VPCD_DRIVERS = (
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so",
)
FRIENDLY_NAME = "tohyo vpcd"
SLOTS = 2  # vpcd's slots per reader.conf entry (VICC_MAX_SLOTS)
POLL_SECONDS = 0.4  # pcscd polls a reader without hotplug events this often


class PcscdError(RuntimeError):
    """The private PC/SC stack cannot be started (or its parts are missing)."""


def find_pcscd() -> str:
    found = shutil.which("pcscd") or next(
        (p for p in ("/usr/sbin/pcscd", "/usr/local/sbin/pcscd") if os.access(p, os.X_OK)), None
    )
    if not found:
        raise PcscdError(f"pcscd is not installed: {INSTALL_HINT}")
    return found


def find_vpcd_driver() -> str:
    found = next((p for p in VPCD_DRIVERS if os.path.exists(p)), None)
    if not found:
        raise PcscdError(f"vpcd (vsmartcard-vpcd) is not installed: {INSTALL_HINT}")
    return os.path.realpath(found)


def pyscard() -> ModuleType:
    """``smartcard.scard``, or a PcscdError saying how to install it."""
    try:
        import smartcard.scard as scard
    except ImportError:
        raise PcscdError(f"pyscard is not installed: {INSTALL_HINT}") from None
    return scard


def _build_dirs(pcscd: str) -> tuple[str, str]:
    """(ipcdir, usbdropdir) compiled into pcscd, from its --version text."""
    out = subprocess.run([pcscd, "--version"], capture_output=True, text=True, timeout=10)
    text = out.stdout + out.stderr
    ipc = re.search(r"ipcdir=(\S+)", text)
    usb = re.search(r"usbdropdir=(\S+)", text)
    return (ipc.group(1) if ipc else "/run/pcscd", usb.group(1) if usb else "/usr/lib/pcsc/drivers")


def _two_free_ports() -> int:
    """A port p with p and p+1 both free on every interface (vpcd binds both there)."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("", 0))
            port = a.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("", port + 1))
                except OSError:
                    continue
                return port
    raise PcscdError("no two consecutive free TCP ports for vpcd")


_process_lock = threading.Lock()
_process_dir: pathlib.Path | None = None
_running: PrivatePcscd | None = None


def _socket_dir() -> pathlib.Path:
    """This process's directory that pcscd sees as /run (see the module's docstring)."""
    global _process_dir
    with _process_lock:
        if _process_dir is None:
            _process_dir = pathlib.Path(tempfile.mkdtemp(prefix="tohyo-pcsc-run-"))
            atexit.register(shutil.rmtree, _process_dir, True)
        return _process_dir


class PrivatePcscd:
    """Our own pcscd with a vpcd reader (two slots on :attr:`port` and ``port + 1``).

    ``start()`` writes the reader.conf, starts pcscd in the foreground in its own mount
    namespace and waits until it answers; it also sets ``PCSCLITE_CSOCK_NAME`` in this
    process's environment (restored by ``stop()``) so that pyscard here talks to it.
    ``insert(card, slot)`` serves a :class:`~sim.vcard.VirtualCard` into a slot and waits
    until pcscd reports it present; ``remove(slot)`` pulls it and waits until pcscd
    reports the slot empty. ``stop()`` pulls every card and stops pcscd (terminate, then
    kill). ``restart`` keeps the ports, so inserted cards come back by themselves.
    """

    def __init__(self, *, debug: bool = False) -> None:
        self.pcscd = find_pcscd()
        self.driver = find_vpcd_driver()
        self.ipcdir, self.usbdir = _build_dirs(self.pcscd)
        self.debug = debug
        self.port = _two_free_ports()
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="tohyo-pcscd-"))
        run = _socket_dir()
        # pcscd's ipcdir (/run/pcscd) lies under the directory we mount over its parent.
        self._run_target = os.path.dirname(self.ipcdir)
        self._ipc = run / os.path.basename(self.ipcdir)
        self.socket = self._ipc / "pcscd.comm"
        self.log = self.dir / "pcscd.log"
        self._empty = self.dir / "no-usb-drivers"
        self._empty.mkdir()
        # pcscd loads the driver after the mounts, which hide the driver directory (vpcd
        # lives there, under serial/): it loads a copy from our directory instead.
        self.driver_copy = self.dir / "libifdvpcd.so"
        shutil.copyfile(self.driver, self.driver_copy)
        self.config = self.dir / "reader.conf"
        self.config.write_text(
            f'FRIENDLYNAME "{FRIENDLY_NAME}"\n'
            f"DEVICENAME /dev/null:0x{self.port:X}\n"
            f"LIBPATH {self.driver_copy}\n"
            f"CHANNELID 0x{self.port:X}\n",
            "ascii",
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._links: dict[int, VpcdLink] = {}
        self._saved_env: str | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"PrivatePcscd(port={self.port}, {state}, socket={self.socket})"

    # --- environment -------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """An environment for a subprocess that uses PC/SC (e.g. ``tohyo signer``)."""
        return {**os.environ, "PCSCLITE_CSOCK_NAME": str(self.socket)}

    def reader(self, slot: int = 0) -> str:
        """The PC/SC name of a slot's reader (pcscd: friendly name, reader and slot)."""
        if not 0 <= slot < SLOTS:
            raise ValueError(f"vpcd has slots 0 to {SLOTS - 1}")
        return f"{FRIENDLY_NAME} 00 {slot:02X}"

    @property
    def readers(self) -> list[str]:
        return [self.reader(s) for s in range(SLOTS)]

    # --- life cycle ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _command(self) -> list[str]:
        # Bind our directories over /run and the USB drivers, then become pcscd (exec: the
        # Popen's pid is pcscd's own, so terminate() reaches it).
        script = 'mount --bind "$1" "$2" && '
        if os.path.isdir(self.usbdir):
            script += 'mount --bind "$3" "$4" && '
        script += 'shift 4 && exec "$@"'
        unshare = shutil.which("unshare") or "/usr/bin/unshare"
        ns = ["--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            ns = ["--user", "--map-root-user", *ns]
        daemon = [self.pcscd, "--foreground", "--config", str(self.config)]
        if self.debug:
            daemon.append("--debug")
        args = [str(_socket_dir()), self._run_target, str(self._empty), self.usbdir]
        command = [unshare, *ns, "--", "sh", "-c", script, "sh", *args, *daemon]
        setpriv = shutil.which("setpriv")
        if setpriv:
            # If this process dies without stopping pcscd (killed, say), the kernel stops
            # pcscd too: no stray daemon. (It is the starting *thread* that counts: start
            # the stack from a thread that outlives it, as the main thread does.)
            command = [setpriv, "--pdeathsig", "TERM", "--", *command]
        return command

    def start(self, timeout: float = 15.0) -> PrivatePcscd:
        global _running
        with _process_lock:
            if _running is not None and _running is not self and _running.running:
                raise PcscdError("another private pcscd runs in this process; stop it first")
            _running = self
        if self.running:
            return self
        self._ipc.mkdir(exist_ok=True)
        for stale in ("pcscd.comm", "pcscd.pid"):  # left by a pcscd that was killed
            with contextlib.suppress(FileNotFoundError):
                (self._ipc / stale).unlink()
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C reaches us, and we stop it
            )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._proc.poll() is not None:
                self._fail("pcscd exited at start")
            if time.monotonic() > deadline:
                self._fail(f"pcscd did not answer in {timeout} s")
            time.sleep(0.05)
        if self._saved_env is None:
            self._saved_env = os.environ.get("PCSCLITE_CSOCK_NAME", "")
        os.environ["PCSCLITE_CSOCK_NAME"] = str(self.socket)
        self._check_readers()
        return self

    def _fail(self, why: str) -> NoReturn:
        """A failed start leaves nothing behind (make a new PrivatePcscd to try again)."""
        tail = self.log_tail()
        self.stop()
        raise PcscdError(f"{why}:\n{tail}")

    def _check_readers(self) -> None:
        # vpcd could not listen if its ports were taken since we chose them: pcscd then
        # runs without our readers. (Only if pyscard is here; a subprocess may be the user.)
        try:
            scard = pyscard()
        except PcscdError:
            return
        with _context(scard) as ctx:
            hr, names = scard.SCardListReaders(ctx, [])
        if hr != scard.SCARD_S_SUCCESS or not set(self.readers) <= set(names):
            self._fail(f"pcscd lacks the vpcd readers on ports {self.port}, {self.port + 1}")

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(str(self.socket))
            except OSError:
                return False
        return True

    def stop_daemon(self, timeout: float = 10.0) -> None:
        """Stop pcscd only (cards stay "inserted" and reconnect when it starts again)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        """Pull every card, stop pcscd, restore the environment, remove our files."""
        for link in self._links.values():
            link.close()
        self._links.clear()
        self.stop_daemon()
        if self._saved_env is not None:
            if self._saved_env:
                os.environ["PCSCLITE_CSOCK_NAME"] = self._saved_env
            else:
                os.environ.pop("PCSCLITE_CSOCK_NAME", None)
            self._saved_env = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self, timeout: float = 15.0) -> None:
        self.stop_daemon()
        self.start(timeout)

    def __enter__(self) -> PrivatePcscd:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # --- cards --------------------------------------------------------------------------

    def insert(
        self,
        card: VirtualCard,
        slot: int = 0,
        *,
        drop_when: Callable[[bytes], bool] | None = None,
        wait: bool = True,
    ) -> VpcdLink:
        """Insert ``card`` into a slot (pulling the one there) and wait until pcscd sees it."""
        self.reader(slot)
        self.remove(slot)  # and wait until pcscd saw it out: see remove()
        link = VpcdLink(card, "127.0.0.1", self.port + slot, drop_when=drop_when).start()
        self._links[slot] = link
        if wait:
            self.wait_card(slot, present=True)
        return link

    def remove(self, slot: int = 0, *, wait: bool = True) -> None:
        """Pull the card in a slot (if any) and wait until pcscd has seen the slot empty.

        "Seen" is more than a client's view of EMPTY: when a card vanished mid-command,
        our SCardDisconnect already shows the slot EMPTY while pcscd's poller still
        believes the card in; a card put back before its next poll (every 0.4 s) would
        never be read again (it stays mute). So wait for EMPTY and either a new event
        from the poller or the card out for longer than a poll period.
        """
        link = self._links.pop(slot, None)
        if not self.running:
            if link is not None:
                link.close()
            return
        if link is None:  # no card of ours was there: nothing pcscd could have missed
            if wait:
                self.wait_card(slot, present=False)
            return
        before = self._event_count(slot)
        link.close()
        if not wait:
            return
        out_since = link.out_since or time.monotonic()

        def seen(state: int) -> bool:
            return bool(state & self._scard.SCARD_STATE_EMPTY) and (
                state >> 16 != before or time.monotonic() - out_since > POLL_SECONDS + 0.2
            )

        self._wait(slot, seen, "gone")

    def link(self, slot: int = 0) -> VpcdLink | None:
        return self._links.get(slot)

    @property
    def _scard(self) -> ModuleType:
        return pyscard()

    def _event_count(self, slot: int) -> int:
        """pcscd's count of insertions and removals in a slot (a state's high 16 bits)."""
        scard = self._scard
        with _context(scard) as ctx:
            hr, states = scard.SCardGetStatusChange(
                ctx, 0, [(self.reader(slot), scard.SCARD_STATE_UNAWARE)]
            )
        if hr != scard.SCARD_S_SUCCESS:
            raise PcscdError(f"pcscd: {scard.SCardGetErrorMessage(hr)} ({hr:#x})")
        return states[0][1] >> 16

    def wait_card(self, slot: int, *, present: bool, timeout: float = 10.0) -> None:
        """Wait until pcscd reports the slot's card present and answering (or the slot
        empty, as a client sees it: see :meth:`remove` for what that may not mean)."""
        scard = self._scard

        def done(state: int) -> bool:
            if present:
                return bool(state & scard.SCARD_STATE_PRESENT) and not (
                    state & scard.SCARD_STATE_MUTE
                )
            return bool(state & scard.SCARD_STATE_EMPTY)

        self._wait(slot, done, "present" if present else "gone", timeout)

    def _wait(
        self, slot: int, done: Callable[[int], bool], want: str, timeout: float = 10.0
    ) -> None:
        scard = self._scard
        name = self.reader(slot)
        deadline = time.monotonic() + timeout
        with _context(scard) as ctx:
            state: Any = scard.SCARD_STATE_UNAWARE
            while True:
                hr, states = scard.SCardGetStatusChange(ctx, 100, [(name, state)])
                if hr == scard.SCARD_S_SUCCESS:
                    _, state, _ = states[0]
                    if done(state):
                        return
                    state &= ~scard.SCARD_STATE_CHANGED
                elif hr != scard.SCARD_E_TIMEOUT:
                    raise PcscdError(f"pcscd: {scard.SCardGetErrorMessage(hr)} ({hr:#x})")
                elif done(state):  # a condition that ripens with time, not with an event
                    return
                if time.monotonic() > deadline:
                    raise PcscdError(f"the card in {name} is not {want} after {timeout} s")


@contextlib.contextmanager
def _context(scard: ModuleType) -> Iterator[Any]:
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        raise PcscdError(f"pcscd does not answer: {scard.SCardGetErrorMessage(hr)}")
    try:
        yield ctx
    finally:
        scard.SCardReleaseContext(ctx)
