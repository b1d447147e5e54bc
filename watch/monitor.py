"""A monitor of the board (``tohyo monitor URL --out DIR``, docs/protocol.md §8).

Anyone can run one during the vote. It follows the board's log as it grows, checks
everything a verifier of the final record would check of it as far as it goes, and keeps
an offline copy, so that a board that rewrites, forks or drops its log after the monitor
saw it can be shown to have done so (``tohyo verify --monitor DIR`` compares the copy with
the final record).

Each :meth:`Monitor.poll`:

* fetches the latest signed head: the signature under the pinned key, a time and size that
  never go back (a smaller head, or another root at the same size, means the board showed
  two logs: an alert);
* fetches the new entries (pages of at most 1000) and the new signed heads, rebuilds the
  Merkle tree from the entries and checks every head's root against it, with the log's
  rules of :func:`e2e.verify.check_log` (indices without gaps, times that never go back,
  the setup entries, the events, ballots only while open, voter pseudonyms on cast
  ballots exactly);
* verifies every new cast and challenged ballot with the verifier's own functions, once
  the setup entries give the election;
* checks the board's consistency proof from the last head to the new one (what voters'
  browsers rely on), and, if the manifest names witnesses, the latest witnessed checkpoint
  (cosigned by a quorum, and a state of the log the monitor rebuilt);
* re-reads a window of the entries it already holds (the *audit*, rotating over the log),
  so that an entry the board changed in place after it was seen is caught.

Every failure is an *alert*: a line ``ALERT: kind: detail`` on stderr and a JSON line in
``alerts.jsonl``; the monitor keeps going. The copy (see :class:`Monitor`) is appended to
after each page and ``state.json`` is replaced last, so a monitor killed at any point
resumes from its copy and never downloads again what it holds.

Imports only ``e2e`` from the project: a monitor trusts nothing of the board's code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import click

from e2e import codec
from e2e.ballot import ChallengedBallot, ballot_claims, verify_challenged
from e2e.batch import verify_claims
from e2e.board import KINDS, BoardKey, Entry, TreeHead, verify_tree_head
from e2e.checkpoint import verify_witnessed
from e2e.cli import parse_board_key
from e2e.election import (
    Election,
    TrusteePublicKey,
    check_trustee_keys,
    extended_base_hash,
    joint_key,
)
from e2e.errors import TohyoError, VerificationError
from e2e.hash import HashValue
from e2e.manifest import Manifest, manifest_from_canonical
from e2e.merkle import EMPTY_ROOT, MerkleFrontier, leaf_hash, verify_consistency
from e2e.record import Layout, RecordFiles
from e2e.verify import SHARD, entry_time, load_election, verify_shard
from watch.http import Unreachable, base_url, request

#: The board API's largest page (GET /api/entries and /api/tree-heads: limit ≤ 1000).
PAGE = 1000
#: Entries re-read per poll by default (the audit): about 1.2 MB of ballots in the standard
#: group every two seconds; a log of 100,000 entries is read again every 3.5 hours.
AUDIT = 16
#: The largest answer read from the board: a page of 1000 ballots of the standard group is
#: about 75 MB; a hostile board cannot make the monitor hold more than this.
MAX_ANSWER = 1 << 28
STATE_VERSION = 1

#: The copy's files besides the record's ``board/`` ones (Layout.BOARD_ENTRIES, BOARD_HEADS,
#: BOARD_KEY). ``witnessed.jsonl`` is what :func:`e2e.record.read_monitor_copy` reads.
WITNESSED = "witnessed.jsonl"
ALERTS = "alerts.jsonl"
STATE = "state.json"

#: ``monitor --once`` exit codes.
EXIT_OK, EXIT_ALERT, EXIT_UNREACHABLE = 0, 1, 2

Fetch = Callable[[str], tuple[int, bytes]]
"""``fetch(path)`` → (HTTP status, body) of ``GET <board URL><path>`` (``path`` starts with
``/api/``); raises :class:`BoardUnreachable` if the board does not answer. Tests give a
function that asks a Flask test client."""

Echo = Callable[..., None]


#: The board did not answer (network error, timeout, HTTP 5xx, 408 or 429).
BoardUnreachable = Unreachable


class MonitorError(TohyoError):
    """The monitor cannot go on: its copy is unusable (changed since it was written, of
    another board), or the board gives it no key to check the log with."""


@dataclass(frozen=True)
class Alert:
    """Something the board did that it must not: ``kind`` is a short tag (``fork``,
    ``head-root``, ``entry``, ``ballot``…), ``detail`` names the entry or head."""

    time: str
    kind: str
    detail: str

    def line(self) -> str:
        return f"ALERT: {self.kind}: {self.detail}"

    def as_json(self) -> dict[str, str]:
        return {"time": self.time, "kind": self.kind, "detail": self.detail}


def http_fetch(url: str, timeout: float = 30.0) -> Fetch:
    """The board's HTTP API through urllib, as a :data:`Fetch`."""
    base = base_url(url)

    def fetch(path: str) -> tuple[int, bytes]:
        return request(base + path, "tohyo-monitor", MAX_ANSWER, timeout)

    return fetch


def _echo(message: str, err: bool = False) -> None:
    click.echo(message, err=err)


def _utcnow() -> str:
    return datetime.now(UTC).isoformat()


class _Copy:
    """The lines a page adds to the copy, written together at the page's end."""

    def __init__(self) -> None:
        self.entries: list[bytes] = []
        self.heads: list[bytes] = []
        self.witnessed: list[bytes] = []


class Monitor:
    """Follows one board and keeps its copy in ``out_dir``:

    ``board/entries.jsonl``
        every entry the monitor read, in order, one per line: the exact leaf bytes (the
        record's layout, byte for byte the final record's first lines if the board is
        honest).
    ``board/tree-heads.jsonl``
        every signed tree head the board showed it whose signature verifies, canonical,
        one per line, each once: those it followed in order of size, as the record lists
        them (the record's own lines if the board is honest); a head that is not a state
        of the log (a fork, a root other than the entries') is kept too, when it is seen:
        it is the board's signed evidence, which ``tohyo verify --monitor`` then refuses.
    ``board/key.json``
        the board key the log was checked with (a canonical BoardKey).
    ``witnessed.jsonl``
        each new witnessed checkpoint whose signatures verify: ``{"note", "size"}`` per line.
    ``alerts.jsonl``
        ``{"detail", "kind", "time"}`` per line, each alert once per run.
    ``state.json``
        where to resume: the line counts of the files above that are committed, the root,
        the last head, the heads not yet reached, the log's time and events, the audit
        cursor. Written last (atomically), so lines beyond its counts are a page whose
        commit did not finish: a resumed monitor cuts them off.

    ``board_key`` (32 bytes) pins the board's key; without it the key of the manifest the
    board serves (entry 0) is used and a warning printed. ``audit``: entries re-read per
    poll to catch an entry changed in place (0: none).
    """

    def __init__(
        self,
        url: str,
        out_dir: str | os.PathLike[str],
        board_key: bytes | None = None,
        fetch: Fetch | None = None,
        *,
        page: int = PAGE,
        audit: int = AUDIT,
        echo: Echo = _echo,
        now: Callable[[], str] = _utcnow,
    ) -> None:
        if not 1 <= page <= PAGE:
            raise ValueError(f"page must be in [1, {PAGE}]")
        self.url = url.rstrip("/")
        self.out = pathlib.Path(out_dir)
        self.fetch = fetch if fetch is not None else http_fetch(self.url)
        self.page = page
        self.audit = max(0, audit)
        self.echo = echo
        self.now = now
        self.pinned = BoardKey(HashValue(bytes(board_key))) if board_key is not None else None
        # What the board showed, checked.
        self.key: BoardKey | None = None
        self.key_by = ""  # "--board-key" or "manifest"
        self.tree = MerkleFrontier()
        self.leaves = bytearray()  # every entry's leaf hash, 32 bytes each (the audit)
        self.roots: dict[int, bytes] = {0: EMPTY_ROOT}  # size → root, at the heads' sizes
        self.head: TreeHead | None = None  # the latest head accepted (the fork checks)
        self.pending: dict[int, TreeHead] = {}  # heads beyond the copy, checked on reaching
        self.heads_from = 0  # the next size to ask /api/tree-heads from
        self.heads_time = ""  # the time of the last head of the list
        self.heads_lines = 0
        self.last_time = ""  # the log's last entry's time
        self.events: list[str] = []
        self.manifest: Manifest | None = None
        self.setup: list[Entry] = []  # the trustee entries, until the parameters come
        self.election: Election | None = None
        self.setup_failed = False
        self.witnessed_size = 0
        self.witnessed_lines = 0
        self.pending_note: str | None = None  # a witnessed note beyond the copy
        self.audit_at = 0
        self.alerts_total = 0  # lines of alerts.jsonl
        self._said: set[tuple[str, str]] = set()  # alerts raised in this run (said once)
        self._heads_seen: set[bytes] = set()  # digests of the heads in tree-heads.jsonl
        self._raised: list[Alert] = []  # this poll's alerts
        self._copy = _Copy()
        self._ballots: list[tuple[int, str, bytes, tuple[int, ...] | None]] = []
        self._no_election_said = False
        self.out.mkdir(parents=True, exist_ok=True)
        alerts = self.out / ALERTS
        if alerts.exists():  # also without state.json: a first poll cut short
            self.alerts_total = alerts.read_bytes().count(b"\n")
        if (self.out / STATE).exists():
            self._resume()
        elif (self.out / Layout.BOARD_ENTRIES).exists():
            raise MonitorError(
                f"{self.out} holds a copy without {STATE}: not resuming a copy whose state is "
                "unknown (use an empty directory)"
            )
        else:
            (self.out / Layout.BOARD).mkdir(exist_ok=True)
            if self.pinned is not None:
                self._set_key(self.pinned, "--board-key")

    # --- the public view -------------------------------------------------------------------

    @property
    def size(self) -> int:
        """The number of entries in the copy."""
        return self.tree.size

    def root(self) -> bytes:
        return self.tree.root()

    def poll(self) -> list[Alert]:
        """One round: the latest head, the new entries and heads, the ballots, the witnessed
        checkpoint, the audit; the copy appended to. Returns this round's alerts (each also
        on stderr and in alerts.jsonl, once per run). Raises BoardUnreachable if the board
        does not answer (what was read before is kept)."""
        self._raised = []
        if self.key is None and not self._resolve_key():
            return self._raised  # no election on the board yet
        known = self.manifest is not None
        note = self._fetch_witnessed() if known else None
        prev = self.head
        latest = self._latest()
        if latest is not None:
            if prev is not None and 0 < prev.size < latest.size:
                self._consistency(prev, latest)
            self.head = latest
            self._expect(latest)
            self._commit()
            self._catch_up(latest)
        if not known:
            note = self._fetch_witnessed()
        if note is None and self.pending_note is not None:
            note, self.pending_note = self.pending_note, None
        if note is not None:
            self._check_witnessed(note)
        self._audit()
        self._commit()
        return list(self._raised)

    # --- alerts ----------------------------------------------------------------------------

    def alert(self, kind: str, detail: str) -> None:
        a = Alert(self.now(), kind, detail)
        self._raised.append(a)
        if (kind, detail) in self._said:
            return  # said once per run: a board that stays forked is not reported every poll
        self._said.add((kind, detail))
        self.echo(a.line(), err=True)
        with open(self.out / ALERTS, "ab") as f:
            f.write(json.dumps(a.as_json(), ensure_ascii=False, sort_keys=True).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        self.alerts_total += 1

    # --- talking to the board --------------------------------------------------------------

    def _get(self, path: str) -> tuple[int, bytes]:
        status, body = self.fetch(path)
        # 408 and 429 say "not now", like a 5xx: try again at the next poll, no alert.
        if status >= 500 or status in (408, 429):
            raise BoardUnreachable(f"{self.url}{path}: HTTP {status}")
        return status, body

    def _json(self, path: str, ok: tuple[int, ...] = (200,)) -> Any:
        """The JSON answer of ``path``; None (after an alert) if it is not JSON or has
        another status than ``ok``."""
        status, body = self._get(path)
        if status not in ok:
            self.alert("board", f"GET {path} answered HTTP {status}")
            return None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            self.alert("board", f"GET {path} did not answer JSON")
            return None

    def _resolve_key(self) -> bool:
        """The key from the manifest the board serves (no --board-key): entry 0's exact
        bytes. False if the board has no entry yet."""
        status, body = self._get("/api/entries/0")
        if status == 404:
            return False
        if status != 200:
            raise MonitorError(f"GET /api/entries/0 answered HTTP {status}: no manifest to read")
        try:
            manifest = manifest_from_canonical(Entry(body).payload)
        except (TohyoError, ValueError) as e:
            raise MonitorError(
                f"entry 0 is not the election's manifest ({e}): give the board key with --board-key"
            ) from None
        if manifest.board is None:
            raise MonitorError("the board's manifest names no board key: give it with --board-key")
        self._set_key(manifest.board, "manifest")
        self._warn_unpinned()
        return True

    def _warn_unpinned(self) -> None:
        assert self.key is not None
        self.echo(
            f"warning: the board key {self.key.public_key.hex_upper()} is taken from the "
            "manifest the board serves (entry 0), NOT pinned: compare it with the key the "
            "election authority published at the start, or give it with --board-key",
            err=True,
        )

    def _set_key(self, key: BoardKey, by: str) -> None:
        self.key, self.key_by = key, by
        _write_atomic(self.out / Layout.BOARD_KEY, codec.encode(key))

    # --- heads -----------------------------------------------------------------------------

    def _head_of(self, doc: Any, what: str) -> TreeHead | None:
        """A head of the board's answer, decoded and its signature checked (None after an
        alert: a head that is not the board's is no evidence of anything)."""
        assert self.key is not None
        try:
            head = codec.from_document(doc, TreeHead)
            entry_time(head, f"tree head {head.size}")
        except TohyoError as e:
            self.alert("head", f"{what} is not a valid signed tree head: {e}")
            return None
        try:
            verify_tree_head(self.key, head)
        except VerificationError as e:
            self.alert("head-signature", f"{what} (size {head.size}): {e.reason}")
            return None
        return head

    def _keep_head(self, head: TreeHead) -> None:
        line = codec.encode(head)
        digest = hashlib.sha256(line).digest()
        if digest not in self._heads_seen:
            self._heads_seen.add(digest)
            self._copy.heads.append(line)

    def _latest(self) -> TreeHead | None:
        """The latest head, if it may be followed: signed, and not going back."""
        status, body = self._get("/api/tree-heads/latest")
        if status in (404, 409):  # 409 wrong_state: no head yet (the board is being set up)
            return None
        if status != 200:
            self.alert("board", f"GET /api/tree-heads/latest answered HTTP {status}")
            return None
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            self.alert("board", "GET /api/tree-heads/latest did not answer JSON")
            return None
        head = self._head_of(doc, "the latest tree head")
        if head is None:
            return None
        # A head that is followed is kept when it is checked (in order of size, as the
        # record lists them); a fork's heads at once: they are the board's signed evidence.
        prev = self.head
        if prev is None:
            return head
        if head.size < prev.size:
            self._keep_head(head)
            self.alert(
                "fork",
                f"the latest signed head has size {head.size} (root {_hex(head.root)}), smaller "
                f"than the size {prev.size} the board signed before: its log went back",
            )
            self._compare_past(head)
            return None
        if head.size == prev.size and head.root != prev.root:
            self._keep_head(head)
            self.alert(
                "fork",
                f"two signed heads of size {head.size} with different roots: "
                f"{_hex(prev.root)} and {_hex(head.root)}: the board showed two logs",
            )
            return None
        if _time(head) < _time(prev):
            self.alert(
                "head-time",
                f"the latest signed head (size {head.size}) has time {head.time}, earlier than "
                f"{prev.time} of the head before it",
            )
        return head

    def _compare_past(self, head: TreeHead) -> None:
        """A head of a size the copy already passed: is it a state of this log?"""
        if head.size <= self.size and bytes(head.root) != self._root_at(head.size):
            self.alert(
                "fork",
                f"the signed head of size {head.size} has root {_hex(head.root)}, but the "
                f"entries the monitor holds give {self._root_at(head.size).hex().upper()}",
            )

    def _consistency(self, prev: TreeHead, head: TreeHead) -> None:
        """The board's proof that ``head`` extends ``prev`` (what browsers check)."""
        path = f"/api/consistency?first={prev.size}&second={head.size}"
        doc = self._json(path)
        if doc is None:
            return
        try:
            proof = [bytes.fromhex(h) for h in doc["proof"]]
            verify_consistency(prev.size, head.size, bytes(prev.root), bytes(head.root), proof)
        except (KeyError, TypeError, ValueError):
            self.alert("consistency", f"GET {path} is not a consistency proof")
        except VerificationError as e:
            self.alert(
                "consistency",
                f"the board's proof that the head of size {head.size} extends the head of size "
                f"{prev.size} does not verify ({e.reason})",
            )

    def _expect(self, head: TreeHead) -> None:
        """Check ``head`` against the log: now if the copy reaches its size, else when it
        does."""
        if head.size <= self.size:
            self._check_head(head, self._root_at(head.size), None)
            return
        other = self.pending.get(head.size)
        if other is not None and other != head:
            self._keep_head(head)
            if other.root != head.root:
                self.alert(
                    "fork",
                    f"two signed heads of size {head.size} with different roots: "
                    f"{_hex(other.root)} and {_hex(head.root)}: the board showed two logs",
                )
            else:
                self.alert("head", f"two different signed heads of size {head.size}")
            return
        self.pending[head.size] = head

    def _check_head(self, head: TreeHead, root: bytes, last_time: str | None) -> None:
        self._keep_head(head)
        if bytes(head.root) != root:
            self.alert(
                "head-root",
                f"the signed head of size {head.size} has root {_hex(head.root)}, but the "
                f"board's entries give {root.hex().upper()}: the head is not of this log",
            )
        else:
            self.roots[head.size] = root
        if last_time:
            with contextlib.suppress(ValueError, TypeError):  # an entry time alerted already
                if _time(head) < _parse(last_time):
                    self.alert(
                        "head-time",
                        f"the signed head of size {head.size} (time {head.time}) is older "
                        f"than the last entry it covers ({last_time})",
                    )

    def _heads_upto(self, end: int) -> None:
        """Read the signed heads of sizes up to ``end`` not read yet (GET /api/tree-heads):
        each kept and checked, now or when the copy reaches its size."""
        while self.heads_from <= end:
            start = self.heads_from
            path = f"/api/tree-heads?from_size={start}&limit={self.page}"
            doc = self._json(path)
            docs = doc.get("tree_heads") if isinstance(doc, dict) else None
            if not isinstance(docs, list):
                if doc is not None:
                    self.alert("board", f"GET {path} did not list tree heads")
                return
            for d in docs:
                head = self._head_of(d, "a head of /api/tree-heads")
                if head is None:
                    continue
                if head.size < self.heads_from:
                    self.alert(
                        "head",
                        f"/api/tree-heads from size {self.heads_from} listed a head of size "
                        f"{head.size}: out of order",
                    )
                    continue
                if head.size > end:
                    return  # read again with the entries that reach it
                self._keep_head(head)
                if self.heads_time and _time(head) < _parse(self.heads_time):
                    self.alert(
                        "head-time",
                        f"the signed head of size {head.size} (time {head.time}) is older than "
                        f"the head before it ({self.heads_time})",
                    )
                self.heads_time = head.time
                self.heads_from = head.size + 1
                self._expect(head)
            # A short page lists every head left; a full page of heads that all failed
            # (alerted) would be asked for again forever: move past it.
            if len(docs) < self.page or self.heads_from == start:
                self.heads_from = end + 1
                return

    # --- entries ---------------------------------------------------------------------------

    def _entries_page(self, start: int, want: int) -> list[Any]:
        path = f"/api/entries?start={start}&limit={want}"
        doc = self._json(path)
        docs = doc.get("entries") if isinstance(doc, dict) else None
        if not isinstance(docs, list):
            if doc is not None:
                self.alert("board", f"GET {path} did not list entries")
            return []
        return docs[:want]

    def _catch_up(self, target: TreeHead) -> None:
        """Read the entries up to the head ``target``, a page at a time, each page checked
        and committed."""
        while self.size < target.size:
            want = min(self.page, target.size - self.size)
            docs = self._entries_page(self.size, want)
            if not docs:
                self.alert(
                    "missing",
                    f"the signed head of size {target.size} covers entries the board does not "
                    f"serve: GET /api/entries from {self.size} gave none",
                )
                return
            self._heads_upto(self.size + len(docs))
            for doc in docs:
                self._append(doc)
            self._verify_ballots()
            self._commit()

    def _leaf_bytes(self, doc: Any, n: int) -> tuple[bytes, Entry | None]:
        """Entry ``n``'s exact bytes and the entry, from the page's parsed document.

        The board stores each entry as its canonical JSON (a strict decode accepts nothing
        else), so re-encoding the page's document canonically gives the leaf bytes without
        a request per entry. A document that is not a canonical entry is read again as
        GET /api/entries/<n> (the stored bytes, whatever they are) and alerted: the copy
        keeps exactly what the board's tree was built from."""
        try:
            raw = codec.dumps(doc)
            return raw, Entry(raw)
        except TohyoError as e:
            problem = str(e)
        status, body = self._get(f"/api/entries/{n}")
        raw = body if status == 200 else b""
        self.alert("entry", f"board entry {n} is not a canonical board entry: {problem}")
        return raw, None

    def _append(self, doc: Any) -> None:
        n = self.size
        raw, e = self._leaf_bytes(doc, n)
        leaf = leaf_hash(raw)
        self.tree.append(leaf)
        self.leaves += leaf
        self._copy.entries.append(raw)
        if e is not None:
            self._rules(n, e)
        head = self.pending.pop(self.size, None)
        if head is not None:
            root = self.tree.root()
            self.roots[self.size] = root
            self._check_head(head, root, e.time if e is not None else None)

    def _rules(self, n: int, e: Entry) -> None:
        """The log's rules for entry ``n`` (those of e2e.verify.check_log, in order)."""
        where = f"board entry {n}"
        if e.index != n:
            self.alert("entry", f"{where} has index {e.index}: the log has a gap or a fork")
        if e.kind not in KINDS:
            self.alert("entry", f"{where} has an unknown kind {e.kind!r}")
            return
        t: datetime | None = None
        try:
            t = entry_time(e.entry, where)
        except VerificationError as err:
            self.alert("entry", str(err))
        if t is not None:
            if self.last_time and t < _parse(self.last_time):
                self.alert("entry", f"{where} is older than the entry before it")
            else:
                self.last_time = e.time
        if (e.kind == "ballot") != bool(e.voter):
            self.alert("entry", f"{where}: a voter pseudonym is on cast ballots exactly")
        self._setup_rules(n, e, where)
        if e.kind == "event":
            try:
                name = e.event
            except VerificationError as err:
                self.alert("entry", str(err))
                return
            expected = ("open", "close")
            if len(self.events) >= 2 or name != expected[len(self.events)]:
                self.alert(
                    "entry", f"{where} is the event {name!r} after {self.events}: expected open, "
                    "then close",
                )  # fmt: skip
            self.events.append(name)
        elif e.kind in ("ballot", "challenged"):
            if self.events != ["open"]:
                self.alert("entry", f"{where}: a ballot outside the open period of the log")
            elif t is not None and self.manifest is not None:
                if not self.manifest.start_time <= t <= self.manifest.end_time:
                    self.alert("entry", f"{where}: a ballot received outside the voting period")
            contests: tuple[int, ...] | None = None
            try:
                contests = e.contests
            except VerificationError as err:
                self.alert("ballot", str(err))
            self._ballots.append((n, e.kind, e.payload, contests))
        elif e.kind in ("tally", "decryption", "results") and len(self.events) < 2:
            self.alert("entry", f"{where}: a {e.kind} entry before the election closed")

    def _setup_rules(self, n: int, e: Entry, where: str, quiet: bool = False) -> None:
        """Manifest, then the trustees' keys, then the parameters; with the last, the
        election (as the verifier builds it: e2e.verify.load_election and the trustee key
        checks). ``quiet``: replaying the copy on resume (checked before)."""

        def bad(message: str) -> None:
            self.setup_failed = True
            if not quiet:
                self.alert("setup", message)

        setup_kinds = ("manifest", "trustee", "parameters")
        if self.setup_failed:
            return
        if n == 0:
            if e.kind != "manifest":
                return bad(f"{where} is a {e.kind} entry: the log starts with the manifest")
            try:
                self.manifest = manifest_from_canonical(e.payload)
            except (TohyoError, ValueError) as err:
                return bad(f"{where} is not a valid manifest: {err}")
            if not quiet and self.manifest.board != self.key:
                named = self.manifest.board.public_key.hex_upper() if self.manifest.board else "no"
                assert self.key is not None
                self.alert(
                    "key",
                    f"the manifest on the board names {named} board key, not the key "
                    f"{self.key.public_key.hex_upper()} the monitor checks the log with",
                )
            return
        if self.manifest is None or self.election is not None:
            if e.kind in setup_kinds and not quiet:
                self.alert("setup", f"{where}: a {e.kind} entry after the election's setup")
            return
        n_t = self.manifest.trustees
        expected = "trustee" if n <= n_t else "parameters"
        if e.kind != expected:
            return bad(f"{where} is a {e.kind} entry: the setup expects {expected} here")
        if expected == "trustee":
            self.setup.append(e)
            return
        try:
            self.election = _election(self.manifest, self.setup, e)
        except TohyoError as err:
            return bad(f"the election's setup (entries 0 to {n}) does not verify: {err}")
        self.setup = []

    def _verify_ballots(self) -> None:
        """The page's cast and challenged ballots, with the verifier's functions: in one
        batch per kind, and one by one to name the entries if the batch fails."""
        items, self._ballots = self._ballots, []
        if not items:
            return
        election = self.election
        if election is None:
            if not self._no_election_said:
                self._no_election_said = True
                self.alert(
                    "ballot",
                    f"board entry {items[0][0]} and the ballots after it cannot be verified: "
                    "the log has no valid election setup before them",
                )
            return
        cast = [(n, p, c) for n, kind, p, c in items if kind == "ballot"]
        for i in range(0, len(cast), SHARD):
            _named(self, cast[i : i + SHARD], lambda b: _verify_cast(election, b))
        challenged = [(n, p, c) for n, kind, p, c in items if kind == "challenged"]
        for i in range(0, len(challenged), SHARD):
            _named(self, challenged[i : i + SHARD], lambda b: _verify_challenged(election, b))

    # --- witnesses -------------------------------------------------------------------------

    def _fetch_witnessed(self) -> str | None:
        if self.manifest is None or self.manifest.witnessing is None:
            return None
        status, body = self._get("/api/checkpoint/witnessed")
        if status == 404:
            return None  # no head has a quorum of cosignatures yet
        if status != 200:
            self.alert("witnessed", f"GET /api/checkpoint/witnessed answered HTTP {status}")
            return None
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            self.alert("witnessed", "the witnessed checkpoint is not UTF-8")
            return None

    def _check_witnessed(self, note: str) -> None:
        assert self.manifest is not None and self.manifest.witnessing is not None
        assert self.key is not None
        w = self.manifest.witnessing
        try:
            got = verify_witnessed(note, w.origin, bytes(self.key.public_key), w.keys(), w.quorum)
        except VerificationError as e:
            self.alert("witnessed", f"the witnessed checkpoint does not verify: {e}")
            return
        cp = got.checkpoint
        if cp.size > self.size:
            self.pending_note = note  # a head beyond the copy: checked at the next poll
            return
        root = self._root_at(cp.size)
        if cp.root != root:
            self.alert(
                "witnessed",
                f"the checkpoint of size {cp.size} cosigned by {', '.join(got.witnesses)} has "
                f"root {cp.root.hex().upper()}, but the entries give {root.hex().upper()}: "
                "the witnesses were shown another log",
            )
        if cp.size < self.witnessed_size:
            self.alert(
                "witnessed",
                f"the latest witnessed checkpoint went back from size {self.witnessed_size} "
                f"to {cp.size}",
            )
        elif cp.size > self.witnessed_size:
            self.witnessed_size = cp.size
            line = json.dumps({"note": note, "size": cp.size}, ensure_ascii=False, sort_keys=True)
            self._copy.witnessed.append(line.encode("utf-8"))

    # --- the audit -------------------------------------------------------------------------

    def _audit(self) -> None:
        """Re-read up to ``audit`` entries the copy holds (a window that moves on each poll
        and wraps around): an entry the board changed in place since the monitor saw it
        would not change the board's next heads (its tree keeps the old nodes), only this
        shows it before the final record does."""
        if not self.audit or not self.size:
            return
        start = self.audit_at if self.audit_at < self.size else 0
        want = min(self.audit, self.page, self.size - start)
        docs = self._entries_page(start, want)
        for k, doc in enumerate(docs):
            n = start + k
            seen = bytes(self.leaves[32 * n : 32 * n + 32])
            try:
                now = leaf_hash(codec.dumps(doc))
            except TohyoError:
                now = b""
            if now != seen:
                # An entry first read raw (not canonical) is compared raw again.
                status, body = self._get(f"/api/entries/{n}")
                if status == 200 and leaf_hash(body) == seen:
                    continue
                self.alert(
                    "rewritten",
                    f"board entry {n} is not the entry the monitor saw: the board changed its "
                    "log after it was read",
                )
        self.audit_at = start + len(docs) if docs else 0

    # --- roots -----------------------------------------------------------------------------

    def _root_at(self, size: int) -> bytes:
        if size == self.size:
            return self.tree.root()
        root = self.roots.get(size)
        if root is None:
            # A size that is no head's (rare: a witnessed note of an unlisted head): fold
            # the kept leaves again.
            tree = MerkleFrontier()
            for i in range(size):
                tree.append(bytes(self.leaves[32 * i : 32 * i + 32]))
            root = self.roots[size] = tree.root()
        return root

    # --- the copy on disk ------------------------------------------------------------------

    def _commit(self) -> None:
        """Append the page's lines to the copy, then replace state.json (the commit)."""
        c = self._copy
        for rel, lines in (
            (Layout.BOARD_ENTRIES, c.entries),
            (Layout.BOARD_HEADS, c.heads),
            (WITNESSED, c.witnessed),
        ):
            if lines:
                with open(self.out / rel, "ab") as f:
                    f.write(b"".join(line + b"\n" for line in lines))
                    f.flush()
                    os.fsync(f.fileno())
        self.heads_lines += len(c.heads)
        self.witnessed_lines += len(c.witnessed)
        self._copy = _Copy()
        _write_atomic(self.out / STATE, self._state())

    def _state(self) -> bytes:
        assert self.key is not None
        doc = {
            "version": STATE_VERSION,
            "url": self.url,
            "board_key": self.key.public_key.hex_upper(),
            "pinned_by": self.key_by,
            "size": self.size,
            "root": self.root().hex().upper(),
            "heads": self.heads_lines,
            "witnessed": self.witnessed_lines,
            "head": codec.to_document(self.head) if self.head is not None else None,
            "pending": [codec.to_document(h) for _, h in sorted(self.pending.items())],
            "heads_from": self.heads_from,
            "heads_time": self.heads_time,
            "last_time": self.last_time,
            "events": self.events,
            "setup_failed": self.setup_failed,
            "witnessed_size": self.witnessed_size,
            "pending_note": self.pending_note,
            "audit_at": self.audit_at,
        }
        return json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")

    def _resume(self) -> None:
        """Resume from the copy: the committed lines only, the tree rebuilt from the
        entries and checked against the root state.json committed."""
        try:
            st = json.loads((self.out / STATE).read_bytes())
            if st["version"] != STATE_VERSION:
                raise MonitorError(f"{STATE} is of version {st['version']}, not {STATE_VERSION}")
            key = codec.decode((self.out / Layout.BOARD_KEY).read_bytes(), BoardKey)
            size, heads, witnessed = (int(st[k]) for k in ("size", "heads", "witnessed"))
            root = bytes.fromhex(st["root"])
            self.head = (
                codec.from_document(st["head"], TreeHead) if st["head"] is not None else None
            )
            pending = [codec.from_document(d, TreeHead) for d in st["pending"]]
            self.pending = {h.size: h for h in pending}
            self.heads_from = int(st["heads_from"])
            self.heads_time = str(st["heads_time"])
            self.last_time = str(st["last_time"])
            self.events = [str(x) for x in st["events"]]
            self.setup_failed = bool(st["setup_failed"])
            self.witnessed_size = int(st["witnessed_size"])
            self.pending_note = st["pending_note"]
            self.audit_at = int(st["audit_at"])
            self.key_by = str(st["pinned_by"])
        except MonitorError:
            raise
        except (OSError, ValueError, KeyError, TypeError, TohyoError) as e:
            raise MonitorError(f"{self.out}: not a monitor's copy I can resume ({e})") from None
        if self.pinned is not None and key != self.pinned:
            raise MonitorError(
                f"{self.out} is the copy of the board with key {key.public_key.hex_upper()}, "
                f"not {self.pinned.public_key.hex_upper()}"
            )
        self.key = key
        if self.pinned is not None:
            self.key_by = "--board-key"
        elif self.key_by != "--board-key":
            self._warn_unpinned()
        try:
            head_sizes = set()
            for line in _stream_committed(self.out / Layout.BOARD_HEADS, heads):
                self._heads_seen.add(hashlib.sha256(line).digest())
                head_sizes.add(codec.decode(line, TreeHead).size)
        except TohyoError as e:
            raise MonitorError(f"{self.out / Layout.BOARD_HEADS}: {e}") from None
        self.heads_lines = heads
        self.witnessed_lines = sum(1 for _ in _stream_committed(self.out / WITNESSED, witnessed))
        # The setup is replayed (quietly: alerted when it was read) for the manifest and
        # the election; it decides setup_failed again from the same bytes.
        self.setup_failed = False
        for n, raw in enumerate(_stream_committed(self.out / Layout.BOARD_ENTRIES, size)):
            leaf = leaf_hash(raw)
            self.tree.append(leaf)
            self.leaves += leaf
            if self.tree.size in head_sizes:
                self.roots[self.tree.size] = self.tree.root()
            if not self.setup_failed and self.election is None:
                with contextlib.suppress(TohyoError):
                    self._setup_rules(n, Entry(raw), f"board entry {n}", quiet=True)
        if self.tree.root() != root:
            raise MonitorError(
                f"{self.out / Layout.BOARD_ENTRIES} does not give the root {STATE} committed: "
                "the copy was changed after it was written"
            )


def _stream_committed(path: pathlib.Path, count: int) -> Iterator[bytes]:
    """The first ``count`` lines of ``path``, each without its newline; lines after them
    (a page whose commit did not finish) are cut off the file. MonitorError if it has
    fewer."""
    if count == 0:
        if path.exists():
            os.truncate(path, 0)
        return
    try:
        f = open(path, "rb")  # closed below, after the lines are read
    except FileNotFoundError:
        raise MonitorError(f"{path} is missing: the copy was changed") from None
    with f:
        for _ in range(count):
            line = f.readline()
            if not line.endswith(b"\n"):
                raise MonitorError(f"{path} has fewer lines than {STATE} says: the copy changed")
            yield line[:-1]
        end = f.tell()
    if path.stat().st_size > end:
        os.truncate(path, end)


def _write_atomic(path: pathlib.Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself, on durable storage
    finally:
        os.close(fd)


def _parse(time: str) -> datetime:
    """A time the monitor already checked with e2e.verify.entry_time (kept as text)."""
    return datetime.fromisoformat(time)


def _time(head: TreeHead) -> datetime:
    return entry_time(head, f"tree head {head.size}")


def _hex(h: HashValue) -> str:
    return h.hex_upper()


def _election(manifest: Manifest, trustees: list[Entry], parameters: Entry) -> Election:
    """The election as the verifier builds it from the setup entries (checks 1-3): the
    parameters against the manifest (H_P, H_B), each trustee's key and proof, K and H_E."""
    files = RecordFiles(
        manifest=manifest.canonical_bytes(),
        parameters=parameters.payload,
        trustees={},
        ballots=[],
        challenged=[],
        tally=b"",
        decryptions={},
        results=None,
    )
    election, params, _ = load_election(files)
    group = election.group
    publics = codec.decode_many([t.payload for t in trustees], TrusteePublicKey, group)
    check_trustee_keys(
        group, params.parameter_base_hash, manifest.trustees, manifest.quorum, publics
    )
    if joint_key(group, publics) != params.election_key:
        raise VerificationError("the election key K is not the product of the trustee keys")
    if extended_base_hash(params.base_hash, params.election_key) != params.extended_base_hash:
        raise VerificationError("extended base hash H_E is wrong", "parameters")
    return election


BallotBatch = list[tuple[int, bytes, tuple[int, ...] | None]]


def _verify_cast(election: Election, batch: BallotBatch) -> None:
    verify_shard(election, [(payload, covers, None) for _, payload, covers in batch])


def _verify_challenged(election: Election, batch: BallotBatch) -> None:
    cbs = codec.decode_many([p for _, p, _ in batch], ChallengedBallot, election.group)
    claims = []
    for cb in cbs:
        name = f"challenged ballot {cb.ballot.ballot_id.hex_upper()[:16]}"
        claims.extend(ballot_claims(election, cb.ballot, name))
        verify_challenged(election, cb, name)
    verify_claims(election.group, claims)


def _named(monitor: Monitor, batch: BallotBatch, verify: Callable[[BallotBatch], None]) -> None:
    """Verify a batch; if it fails, each ballot alone, so that each alert names its entry."""
    try:
        verify(batch)
        return
    except TohyoError:
        pass
    for item in batch:
        try:
            verify([item])
        except TohyoError as e:
            monitor.alert("ballot", f"board entry {item[0]}: {e}")


def run(
    monitor: Monitor,
    interval: float,
    stop: threading.Event,
    echo: Echo = _echo,
) -> None:
    """Poll every ``interval`` seconds until ``stop`` is set. A board that does not answer
    is reported once until the message changes, and tried again; an alert never stops the
    loop; an error of the copy itself (disk full) does: a monitor that cannot keep its
    copy must say so, not go on silently."""
    problem: str | None = None
    reported = monitor.size
    while not stop.is_set():
        try:
            monitor.poll()
        except BoardUnreachable as e:
            if str(e) != problem:
                echo(f"the board does not answer: {e}", err=True)
            problem = str(e)
        else:
            if problem is not None:
                echo("the board answers again", err=True)
                problem = None
            if monitor.size != reported:
                reported = monitor.size
                echo(f"log size {monitor.size}, root {monitor.root().hex().upper()}")
        stop.wait(interval)


def _key_option(ctx: click.Context, param: click.Parameter, value: str | None) -> bytes | None:
    return None if value is None else bytes(parse_board_key(value).public_key)


@click.command("monitor")
@click.argument("url")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="The directory of the offline copy (created; resumed if it holds one).",
)
@click.option(
    "--board-key",
    default=None,
    metavar="HEX",
    callback=_key_option,
    help="The board's public key as the election authority published it (64 hex digits); "
    "without it, the key the board's manifest names is used, with a warning.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.0, min_open=True),
    default=2.0,
    show_default=True,
    help="Seconds between polls of the board.",
)
@click.option(
    "--audit",
    type=click.IntRange(min=0, max=PAGE),
    default=AUDIT,
    show_default=True,
    help="Entries already copied to read again on each poll (0: none).",
)
@click.option(
    "--once",
    is_flag=True,
    help="One poll, then exit: 0 all is well, 1 an alert (now or in alerts.jsonl), "
    "2 the board is unreachable.",
)
def monitor(
    url: str,
    out_dir: str,
    board_key: bytes | None,
    interval: float,
    audit: int,
    once: bool,
) -> None:
    """Follow the board at URL during the vote: check every entry, head, ballot and
    witnessed checkpoint, and keep an offline copy in --out (compare it with the final
    record with `tohyo verify RECORD --monitor DIR`). Alerts go to stderr (ALERT: ...)
    and to alerts.jsonl."""
    try:
        m = Monitor(url, out_dir, board_key, audit=audit)
    except (TohyoError, OSError, ValueError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_ALERT if isinstance(e, MonitorError) else EXIT_UNREACHABLE)
    if once:
        try:
            raised = m.poll()
        except BoardUnreachable as e:
            click.echo(f"the board does not answer: {e}", err=True)
            sys.exit(EXIT_UNREACHABLE)
        except MonitorError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(EXIT_ALERT)
        click.echo(
            f"log size {m.size}, root {m.root().hex().upper()}; "
            f"{len(raised)} alerts now, {m.alerts_total} in {ALERTS}"
        )
        sys.exit(EXIT_ALERT if raised or m.alerts_total else EXIT_OK)
    click.echo(f"monitoring {m.url} into {m.out}; log size {m.size}")
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # SIGTERM (systemd, docker stop) and Ctrl-C end the loop between polls, never in the
    # middle of a commit.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        run(m, interval, stop)
    except (MonitorError, OSError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_ALERT)
