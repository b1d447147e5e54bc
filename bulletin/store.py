"""The board's storage: one linear, insert-only log on SQLite (WAL) or PostgreSQL.

Appends are serialised by the database: on SQLite the transaction starts with
``BEGIN IMMEDIATE`` (one writer at a time, across processes), on PostgreSQL it locks the
single ``log_lock`` row. The entry index is the primary key, so even a broken lock could
not fork the log: a second writer of the same index fails and retries. A receipt is given
only after the commit; a process killed mid-append leaves the previous log intact.

Two kinds of write transaction, one per purpose: :meth:`Store.write` holds the log's append
lock, for whatever reads or writes the log's tip; :meth:`Store.operational` does not, for
the operational tables whose rows never enter the log (signing nonces, the key ceremony's
mailbox), so that they never queue behind ballots being appended, nor ballots behind them.
"""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, func, make_url, select, text
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from bulletin import schema
from bulletin.clock import iso
from e2e.merkle import EMPTY_ROOT, leaf_hash, node_hash

MIGRATIONS = pathlib.Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql+psycopg://…``."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 60, "check_same_thread": False},
            pool_size=32,  # one per server thread: reconnecting costs a PRAGMA round each time
            max_overflow=32,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_setup(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # a receipt survives a power cut
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # Writers take SQLite's write lock at once (no deadlock on upgrade); readers
            # use a deferred transaction and, in WAL mode, never wait for a writer.
            write = conn.get_execution_options().get("tohyo_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    # An address that drops packets (the old primary of a failover) must fail in seconds,
    # answered 503, not hold request threads for the kernel's TCP timeouts (up to about 15
    # minutes) until none is left: a new connection gives up after 5 s (connect_timeout),
    # and one already open once 15 s of its data go unacknowledged (tcp_user_timeout) or
    # its idle keepalives go unanswered. A setting the URL names itself wins.
    given = make_url(url).query
    connect_args: dict[str, Any] = {k: v for k, v in _PG_CONNECT.items() if k not in given}
    # The other side: a machine that vanishes (power, a panic, a paused VM) mid-transaction
    # leaves its session "idle in transaction" on the server, holding the log's lock, until
    # the server's own keepalives give up (over two hours by default): every other machine's
    # appends wait that long. The server ends such a session after 10 s, and probes an idle
    # client's connection as the client probes the server's. PGOPTIONS (which libpq reads
    # only when no options are given) and the URL's options come after these, so they win.
    options = given.get("options") or ()
    extra = [os.environ.get("PGOPTIONS", ""), *([options] if isinstance(options, str) else options)]
    connect_args["options"] = " ".join([_PG_SESSION, *(x for x in extra if x)])
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=32,
        max_overflow=32,
        connect_args=connect_args,
    )


#: libpq's connection settings for the board's PostgreSQL (see make_engine).
_PG_CONNECT = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,
}

#: The server's settings for each of the board's sessions (libpq ``options``; see make_engine).
#: No transaction of the board waits on its client for long: each runs its statements one
#: after another and reads page by page in short transactions.
IDLE_IN_TRANSACTION_MS = 10_000
_PG_SESSION = " ".join(
    f"-c {name}={value}"
    for name, value in (
        ("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION_MS),
        ("tcp_keepalives_idle", 10),
        ("tcp_keepalives_interval", 5),
        ("tcp_keepalives_count", 3),
    )
)


# The key of PostgreSQL's transaction-level advisory lock that serialises migrations; any
# fixed number that nothing else of the board locks.
_MIGRATE_LOCK = 0x746F6879_6F4D4947  # "tohyoMIG"


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision.

    Every `tohyo serve` and `tohyo board` command migrates the database it opens, so
    machines started together on one fresh database migrate it at once. One transaction
    holds a lock for the whole upgrade: on PostgreSQL an advisory lock (its DDL is
    transactional), on SQLite the write lock from the start (``BEGIN IMMEDIATE``). The
    others wait for it, then read the version it committed and find nothing to do; without
    the lock they all tried to create the same tables, and all but one failed.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    options: dict[str, Any] = {"tohyo_write": True}
    if engine.dialect.name == "postgresql":
        # Each statement after the lock sees what the one before it committed (a server
        # whose default is REPEATABLE READ would keep the snapshot from before the wait).
        options["isolation_level"] = "READ COMMITTED"
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def _file_lock(path: str | None) -> Iterator[None]:
    if path is None:
        yield
        return
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class Appended:
    index: int
    size: int
    root: bytes
    time: str  # the entries' time, decided under the append lock


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """Root of the tree whose perfect subtrees (largest first) are ``frontier``."""
    if not frontier:
        return EMPTY_ROOT
    r = frontier[-1]
    for h in reversed(frontier[:-1]):
        r = node_hash(h, r)
    return r


# Statements read on every submission, built once: building a select and its cache key
# costs more than running it on SQLite (the three reads of admission: 0.71 → 0.29 ms).
_LOG_TIME = select(schema.entries.c.received_at).order_by(schema.entries.c.idx.desc()).limit(1)


class Store:
    """Database access for one board (one election)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        db = engine.url.database if engine.dialect.name == "sqlite" else None
        # SQLite makes a waiting writer sleep in growing steps (up to 100 ms); an OS file
        # lock wakes the next writer the moment the previous one commits.
        self._lock_path = f"{db}.lock" if db and db != ":memory:" else None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction that holds the log's append lock."""
        with _file_lock(self._lock_path):
            with self.engine.connect().execution_options(tohyo_write=True) as conn, conn.begin():
                if self.postgres:
                    conn.execute(select(schema.log_lock.c.id).with_for_update())
                yield conn

    @contextmanager
    def operational(self) -> Iterator[Connection]:
        """A write transaction on the operational tables, without the log's append lock.

        On PostgreSQL it takes no lock of its own: each statement locks the rows it changes,
        so two transactions that touch different rows (two voters' nonces) run side by side,
        and one never waits for an append. On SQLite it still starts with ``BEGIN
        IMMEDIATE``, so it holds the database's write lock, which every writer shares (SQLite
        has no other), but not the append lock's file lock. The caller must not read or
        write the log (its tip is only stable under :meth:`write`), and must make each
        change safe against concurrent writers by itself (a conditional UPDATE, a row lock).
        """
        with self.engine.connect().execution_options(tohyo_write=True) as conn, conn.begin():
            yield conn

    def tip(self, conn: Connection) -> tuple[int, list[bytes]]:
        """(size, frontier) of the log as this transaction sees it."""
        size, frontier, _ = self._tip(conn)
        return size, frontier

    def _tip(self, conn: Connection) -> tuple[int, list[bytes], str]:
        row = conn.execute(
            select(schema.entries.c.idx, schema.entries.c.frontier, schema.entries.c.received_at)
            .order_by(schema.entries.c.idx.desc())
            .limit(1)
        ).first()
        if row is None:
            return 0, [], ""
        return row.idx + 1, [bytes.fromhex(h) for h in json.loads(row.frontier)], row.received_at

    def append(
        self,
        conn: Connection,
        kind: str,
        make_data: Callable[[int, str], bytes],
        now: datetime,
    ) -> Appended:
        """Append one entry (inside a write transaction); ``make_data(index, time)`` gives
        its bytes. See :meth:`append_many` for the time."""
        return self.append_many(conn, [(kind, make_data)], now)[-1]

    def append_many(
        self,
        conn: Connection,
        items: Sequence[tuple[str, Callable[[int, str], bytes]]],
        now: datetime,
    ) -> list[Appended]:
        """Append entries in order (inside one write transaction) with three statements:
        read the tip, insert the entries, insert the completed subtree nodes.

        The entries' time is decided here, under the append lock: ``now`` (the caller's
        clock, aware) or the time of the log's last entry, whichever is later; stored as
        :func:`bulletin.clock.iso` writes it (UTC, microseconds: one format, so the stored
        strings compare as the instants do). So the log's times never go back, whatever
        the clocks of the processes that append do (an NTP step, a VM migration, two hosts
        2 s apart): the times are monotonic by construction, not by trust in a clock
        (docs/protocol.md, "Time on the board").
        """
        size, frontier, last = self._tip(conn)
        when = max(iso(now), last)
        rows, new_nodes, out = [], [], []
        for kind, make_data in items:
            index = size
            data = make_data(index, when)
            leaf = leaf_hash(data)
            cur, level, n = leaf, 0, index + 1
            # Merge equal-height subtrees from the right: one hash per trailing 1-bit.
            while n % (2 << level) == 0:
                cur = node_hash(frontier.pop(), cur)
                level += 1
                new_nodes.append({"level": level, "pos": (n >> level) - 1, "hash": cur})
            frontier.append(cur)
            rows.append(
                {
                    "idx": index,
                    "kind": kind,
                    "data": data,
                    "leaf": leaf,
                    "frontier": json.dumps([h.hex() for h in frontier]),
                    "received_at": when,
                }
            )
            size += 1
            out.append(Appended(index, size, b"", when))
        if not rows:
            return out
        conn.execute(schema.entries.insert(), rows)
        if new_nodes:
            conn.execute(schema.nodes.insert(), new_nodes)
        out[-1] = Appended(out[-1].index, size, frontier_root(frontier), when)
        return out

    def log_time(self, conn: Connection | None = None) -> str:
        """The time of the log's last entry ("" for an empty log): the floor of the board's
        time (see :meth:`append_many`)."""
        if conn is not None:
            return conn.execute(_LOG_TIME).scalar_one_or_none() or ""
        with self.engine.connect() as c:
            return c.execute(_LOG_TIME).scalar_one_or_none() or ""

    def head_size(self, conn: Connection) -> int:
        """The size of the largest signed tree head (0 without one)."""
        return int(
            conn.execute(select(func.max(schema.tree_heads.c.size))).scalar_one_or_none() or 0
        )

    # --- reads --------------------------------------------------------------------------

    def size(self) -> int:
        """Entries on the log. The log is insert-only and numbered from 0 without gaps, so
        this is the last index + 1: one primary-key lookup, where ``count(*)`` reads the
        whole table (it was asked once per submission, and grows with the city)."""
        with self.engine.connect() as conn:
            last = conn.execute(select(func.max(schema.entries.c.idx))).scalar_one_or_none()
            return 0 if last is None else int(last) + 1

    def entry(self, index: int) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(schema.entries.c.data).where(schema.entries.c.idx == index)
            ).scalar_one_or_none()

    def entries(self, start: int, limit: int) -> list[tuple[int, str, bytes]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.entries.c.idx, schema.entries.c.kind, schema.entries.c.data)
                .where(schema.entries.c.idx >= start)
                .order_by(schema.entries.c.idx)
                .limit(limit)
            ).all()
        return [(r.idx, r.kind, r.data) for r in rows]

    def kinds(self, kinds: Sequence[str]) -> list[tuple[int, str, bytes]]:
        """Every entry of these kinds, at once: only for the few administrative entries
        (trustees, decryptions); the ballots are read with :meth:`cast_pages`."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.entries.c.idx, schema.entries.c.kind, schema.entries.c.data)
                .where(schema.entries.c.kind.in_(kinds))
                .order_by(schema.entries.c.idx)
            ).all()
        return [(r.idx, r.kind, r.data) for r in rows]

    def has_kind(self, kind: str) -> bool:
        """Whether the log holds an entry of this kind (one indexed lookup, no payload)."""
        with self.engine.connect() as conn:
            q = select(schema.entries.c.idx).where(schema.entries.c.kind == kind).limit(1)
            return conn.execute(q).first() is not None

    def _pages(self, query: Callable[[int], Any], key: str, page: int) -> Iterator[list[Any]]:
        """Rows of ``query(start)`` (ordered by ``key``, from ``start``) ``page`` at a time.

        Each page is its own short read (keyset paging), so a reader of a large log holds
        one page in memory and no long transaction: on SQLite a reader that stays open
        keeps the WAL from being checkpointed."""
        start = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(query(start).limit(page)).all()
            if not rows:
                return
            yield rows
            start = getattr(rows[-1], key) + 1

    def entry_pages(self, page: int = 1000, stop: int | None = None) -> Iterator[list[bytes]]:
        """Every entry's data in order (those before index ``stop`` if given), ``page`` at a
        time."""
        e = schema.entries.c

        def query(start: int) -> Any:
            q = select(e.idx, e.data).where(e.idx >= start)
            return (q if stop is None else q.where(e.idx < stop)).order_by(e.idx)

        for rows in self._pages(query, "idx", page):
            yield [r.data for r in rows]

    def node(self, conn: Connection, level: int, index: int) -> bytes:
        """The hash of the perfect subtree (level, index) — e2e.merkle's ``get_node``: a
        leaf hash at level 0, a stored node above; one indexed lookup."""
        if level == 0:
            return conn.execute(
                select(schema.entries.c.leaf).where(schema.entries.c.idx == index)
            ).scalar_one()
        return conn.execute(
            select(schema.nodes.c.hash).where(
                schema.nodes.c.level == level, schema.nodes.c.pos == index
            )
        ).scalar_one()

    def nodes(
        self, conn: Connection, ids: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """Many nodes (level, index) in two queries (leaves, and stored subtrees)."""
        from sqlalchemy import tuple_

        out: dict[tuple[int, int], bytes] = {}
        leaves = [i for lv, i in ids if lv == 0]
        if leaves:
            rows = conn.execute(
                select(schema.entries.c.idx, schema.entries.c.leaf).where(
                    schema.entries.c.idx.in_(leaves)
                )
            )
            out.update({(0, r.idx): r.leaf for r in rows})
        inner = [(lv, i) for lv, i in ids if lv > 0]
        if inner:
            rows = conn.execute(
                select(schema.nodes.c.level, schema.nodes.c.pos, schema.nodes.c.hash).where(
                    tuple_(schema.nodes.c.level, schema.nodes.c.pos).in_(inner)
                )
            )
            out.update({(r.level, r.pos): r.hash for r in rows})
        return out

    def with_reader(self, fn: Callable[[Connection], Any]) -> Any:
        with self.engine.connect() as conn:
            return fn(conn)

    # --- tree heads and the ballot index --------------------------------------------------

    def tree_head(self, size: int | None = None) -> bytes | None:
        q = select(schema.tree_heads.c.data)
        q = (
            q.where(schema.tree_heads.c.size == size)
            if size is not None
            else q.order_by(schema.tree_heads.c.size.desc()).limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one_or_none()

    def tree_heads(self, from_size: int = 0, limit: int | None = None) -> list[bytes]:
        q = (
            select(schema.tree_heads.c.data)
            .where(schema.tree_heads.c.size >= from_size)
            .order_by(schema.tree_heads.c.size)
        )
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(q).scalars())

    def head_pages(self, page: int = 1000, upto: int | None = None) -> Iterator[list[bytes]]:
        """Every signed tree head in order of size (those of size at most ``upto`` if
        given), ``page`` at a time: a log has up to one head per batch of ballots."""
        h = schema.tree_heads.c

        def query(start: int) -> Any:
            q = select(h.size, h.data).where(h.size >= start)
            return (q if upto is None else q.where(h.size <= upto)).order_by(h.size)

        for rows in self._pages(query, "size", page):
            yield [r.data for r in rows]

    def revoters_ballots(self) -> list[tuple[int, str]]:
        """(entry, voter) of every cast ballot whose voter cast more than one, in order,
        from the ballot index alone (no payload): all the re-vote rule needs to know who
        re-voted; every other cast ballot counts for all its contests."""
        c = schema.ballots.c
        again = select(c.voter).where(c.kind == "ballot").group_by(c.voter).having(func.count() > 1)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(c.entry, c.voter)
                .where(c.kind == "ballot", c.voter.in_(again))
                .order_by(c.entry)
            ).all()
        return [(r.entry, r.voter) for r in rows]

    def entries_at(self, indices: Sequence[int]) -> list[tuple[int, str, bytes]]:
        """The entries at these indices, in order (one query; the caller keeps the list
        short)."""
        if not indices:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.entries.c.idx, schema.entries.c.kind, schema.entries.c.data)
                .where(schema.entries.c.idx.in_(list(indices)))
                .order_by(schema.entries.c.idx)
            ).all()
        return [(r.idx, r.kind, r.data) for r in rows]

    def cast_pages(self, page: int = 500) -> Iterator[list[tuple[int, bytes, str | None]]]:
        """The log's cast ballots in order, ``page`` at a time:
        (entry, data, the voter the ballot index holds for that entry, None if it holds
        none), so that a reader can check the index against the log as it goes."""
        e, b = schema.entries.c, schema.ballots.c
        joined = schema.entries.outerjoin(schema.ballots, (b.entry == e.idx) & (b.kind == "ballot"))

        def query(start: int) -> Any:
            return (
                select(e.idx, e.data, b.voter)
                .select_from(joined)
                .where(e.kind == "ballot", e.idx >= start)
                .order_by(e.idx)
            )

        for rows in self._pages(query, "idx", page):
            yield [(r.idx, r.data, r.voter) for r in rows]

    def voter_ballots(self, voter: str, except_code: bytes) -> list[bytes]:
        """The log entries of ``voter``'s cast ballots, but the one with confirmation code
        ``except_code``: a voter has a few, found by the ballot index's voter column."""
        e, b = schema.entries.c, schema.ballots.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(e.data)
                .select_from(schema.entries.join(schema.ballots, b.entry == e.idx))
                .where(b.kind == "ballot", b.voter == voter, b.code != except_code)
                .order_by(e.idx)
            ).all()
        return [bytes(r.data) for r in rows]

    def ballot_by(self, column: str, value: bytes) -> Any:
        col = getattr(schema.ballots.c, column)
        with self.engine.connect() as conn:
            return conn.execute(select(schema.ballots).where(col == value)).first()

    def codes_from(self, prefix: bytes, limit: int) -> list[tuple[int, bytes]]:
        """(entry, confirmation code) of the ballots whose code starts with ``prefix``, in
        code order, at most ``limit``: a range on the codes' unique index (both databases
        compare bytes as unsigned, byte by byte), for a short code's lookup."""
        c = schema.ballots.c
        low, high = prefix.ljust(32, b"\x00"), prefix.ljust(32, b"\xff")
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(c.entry, c.code)
                .where(c.code >= low, c.code <= high)
                .order_by(c.code)
                .limit(limit)
            ).all()
        return [(int(r.entry), bytes(r.code)) for r in rows]


#: PostgreSQL's SQLSTATEs that mean "not now", not "never": connection exceptions (class 08),
#: insufficient resources (53: too many connections, out of memory, disk full), the server
#: shutting down, crashed or still starting (57P01-57P03), a serialization failure or a
#: deadlock (40001, 40P01), a lock not granted in time (55P03), and a read-only transaction
#: (25006: a standby, reached through an address that has not moved to the new primary yet).
_PG_TRANSIENT_CLASSES = ("08", "53")
_PG_TRANSIENT = {"57P01", "57P02", "57P03", "40001", "40P01", "55P03", "25006"}
#: SQLite's: another connection holds the lock past the busy timeout, with the extended
#: codes under them (SQLITE_BUSY_SNAPSHOT: a stale read that then wrote; _RECOVERY...).
_SQLITE_TRANSIENT = ("SQLITE_BUSY", "SQLITE_LOCKED")


def is_unavailable(e: BaseException) -> bool:
    """True if the database cannot answer for now, not because of the request or a bug: a
    server that is down, restarting or failing over, a connection it closed, a lock not
    granted within the busy timeout, no free connection in the pool. The web layer answers
    these 503 "unavailable" (retry). Anything else the server reports with its own code, a
    missing table, a syntax error, a statement timeout, stays an error (500 "internal"):
    retrying would fail the same way.

    A connection that fails to open is reported by libpq without a code, whatever the
    cause: refused, timed out, a server shutting down, but also a wrong password or a
    database that does not exist. All of them are "unavailable" here; the commands that
    open the board print the driver's reason when they start (``bulletin.cli``), which is
    when a wrong password or database name shows.
    """
    if isinstance(e, DisconnectionError | PoolTimeoutError):
        return True
    if not isinstance(e, DBAPIError):
        return False
    if e.connection_invalidated:  # SQLAlchemy's dialect saw a dropped connection
        return True
    orig = e.orig
    if engine_of(orig) == "postgresql":
        state = getattr(orig, "sqlstate", None)
        if state is None:  # raised by the client: could not connect, connection lost
            return isinstance(e, OperationalError | InterfaceError)
        return state[:2] in _PG_TRANSIENT_CLASSES or state in _PG_TRANSIENT
    return str(getattr(orig, "sqlite_errorname", "")).startswith(_SQLITE_TRANSIENT)


def engine_of(orig: BaseException | None) -> str:
    """Which driver raised ``orig``: "postgresql" (psycopg), "sqlite" or ""."""
    module = type(orig).__module__ if orig is not None else ""
    if module.startswith("psycopg"):
        return "postgresql"
    return "sqlite" if module.startswith("sqlite3") else ""


def describe(e: BaseException) -> str:
    """What the logs may say of a database error: its driver's exception type and code
    (SQLSTATE or SQLite's error name), never its text, which can name the database's host."""
    orig = getattr(e, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    name = type(orig).__name__ if orig is not None else type(e).__name__
    return f"{name} {code}" if code else name


#: The exception classes that :func:`is_unavailable` may say yes to (for error handlers).
UNAVAILABLE = (DBAPIError, DisconnectionError, PoolTimeoutError)

__all__ = [
    "Store",
    "make_engine",
    "migrate",
    "OperationalError",
    "IntegrityError",
    "UNAVAILABLE",
    "describe",
    "is_unavailable",
]
