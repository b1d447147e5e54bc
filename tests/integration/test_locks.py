"""Locks by purpose: the log's append lock (``Store.write``) for what reads or writes the
log's tip; the operational transactions (``Store.operational``) for signing nonces and the
trustees' ceremony messages, which never wait for an append.

On PostgreSQL the operational work goes through while another connection holds the append
lock. On SQLite every writer shares the database's one write lock, so what can be shown there
is narrower: the operational work skips the append lock's file lock (it is not held up by
appenders queued on it), and is still a real write transaction (it waits for an append whose
transaction is open, then goes through).
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bulletin.auth import TokenAuthenticator
from bulletin.board import Board, load_signing_key, new_signing_key
from bulletin.ceremony import CeremonyError, CeremonyStore
from bulletin.clock import FixedClock
from bulletin.jpki.errors import JpkiRefusal
from bulletin.nonces import DatabaseNonceStore
from bulletin.store import Store, make_engine, migrate
from e2e import codec
from e2e.group import TEST
from e2e.manifest import manifest_from_json
from e2e.rng import DeterministicRng
from tests.integration.board_helpers import EXAMPLE, KEY
from tests.integration.conftest import new_database
from trustees.ceremony import new_trustee

NOW = datetime(2025, 3, 1, tzinfo=UTC)
HELD = 0.5  # seconds a blocked call is given to show that it waits


class Running:
    """``fn`` in a thread of its own, with its result or its exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self.result = fn()
        except BaseException as e:
            self.error = e

    def done_within(self, seconds: float) -> bool:
        self.thread.join(timeout=seconds)
        return not self.thread.is_alive()

    def value(self) -> Any:
        assert self.done_within(30), "still waiting"
        if self.error is not None:
            raise self.error
        return self.result


def _store(url: str) -> Store:
    """A store on its own engine: another worker's connections."""
    engine = make_engine(url)
    migrate(engine)
    return Store(engine)


def _append_lock_taken(store: Store) -> None:
    with store.write():
        pass


def _ceremony_board(url: str, tmp_path) -> Board:
    key = tmp_path / "board.key"
    if not key.exists():
        new_signing_key(key)
    m = manifest_from_json(EXAMPLE.read_text(encoding="utf-8"))
    clock = FixedClock(m.start_time - timedelta(days=1))
    return Board(_store(url), load_signing_key(key), clock, TokenAuthenticator(KEY, {}))


def _manifest():
    return replace(manifest_from_json(EXAMPLE.read_text(encoding="utf-8")), trustees=3, quorum=2)


def _public_key_doc(ceremony: Any, index: int) -> Any:
    _, public = new_trustee(TEST, ceremony.h_p, index, ceremony.k, DeterministicRng(f"t{index}"))
    return codec.to_document(public)


# --- PostgreSQL: operational work while an append holds the log --------------------------


def test_nonces_do_not_wait_for_the_append_lock_on_postgresql(postgres_server):
    url = new_database(postgres_server, "locks")
    appender, other = _store(url), _store(url)
    nonces = DatabaseNonceStore(_store(url))
    early = nonces.issue(NOW)
    with appender.write() as conn:
        appender.tip(conn)  # an append in progress: it holds the log_lock row
        work = Running(lambda: (nonces.issue(NOW), nonces.redeem(early.value, b"A" * 32, NOW)))
        nonces_done = work.done_within(20)
        # The control: what the held transaction holds is what an append needs.
        append = Running(lambda: _append_lock_taken(other))
        append_waited = not append.done_within(HELD)
    assert nonces_done, "a nonce waited for the log's append lock"
    fresh, _ = work.value()
    assert fresh.value != early.value
    assert append_waited
    append.value()
    with pytest.raises(JpkiRefusal) as e:  # the redemption was real
        nonces.redeem(early.value, b"B" * 32, NOW)
    assert e.value.code == "challenge_used"


def test_trustee_messages_do_not_wait_for_the_append_lock_on_postgresql(postgres_server, tmp_path):
    url = new_database(postgres_server, "locks")
    board = _ceremony_board(url, tmp_path)
    ceremonies = CeremonyStore(board)
    ceremony, tokens = ceremonies.create(_manifest(), "test")
    who = ceremonies.authenticate(tokens[0])
    appender = _store(url)
    with appender.write() as conn:
        appender.tip(conn)
        post = Running(lambda: ceremonies.post_public_key(who, _public_key_doc(ceremony, 1)))
        posted = post.done_within(20)
        # The start-over reads the log's tip, so it still takes the append lock.
        again = Running(lambda: ceremonies.create(_manifest(), "test", replacing=ceremony.id))
        create_waited = not again.done_within(HELD)
    assert posted, "a trustee's message waited for the log's append lock"
    assert post.value() is True
    assert create_waited
    again.value()


def test_a_message_in_flight_holds_its_ceremony_on_postgresql(postgres_server, tmp_path):
    """The row lock that replaces the log lock for trustee messages: a start-over (and a
    finish, which locks the same row) waits for a message in flight, and the message
    after it is refused."""
    url = new_database(postgres_server, "locks")
    board = _ceremony_board(url, tmp_path)
    ceremonies = CeremonyStore(board)
    ceremony, tokens = ceremonies.create(_manifest(), "test")
    who = ceremonies.authenticate(tokens[0])
    locked, release = threading.Event(), threading.Event()

    def message_in_flight() -> None:
        with board.store.operational() as conn:
            CeremonyStore._lock(conn, ceremony.id)
            locked.set()
            assert release.wait(30)

    flight = Running(message_in_flight)
    assert locked.wait(20)
    again = Running(lambda: ceremonies.create(_manifest(), "test", replacing=ceremony.id))
    assert not again.done_within(HELD), "the start-over did not wait for the message"
    release.set()
    flight.value()
    again.value()
    with pytest.raises(CeremonyError) as e:
        ceremonies.post_public_key(who, _public_key_doc(ceremony, 1))
    assert e.value.code == "unauthenticated"


# --- SQLite: one write lock for every writer ---------------------------------------------


def test_nonces_skip_the_append_file_lock_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'board.db'}"
    appender = _store(url)
    nonces = DatabaseNonceStore(_store(url))
    first, second = nonces.issue(NOW), nonces.issue(NOW)
    assert appender._lock_path is not None
    # An appender that holds the file lock, between taking it and its BEGIN IMMEDIATE.
    with open(appender._lock_path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            work = Running(lambda: nonces.redeem(first.value, b"A" * 32, NOW))
            redeemed = work.done_within(20)
            append = Running(lambda: _append_lock_taken(_store(url)))
            append_waited = not append.done_within(HELD)  # the control
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    assert redeemed, "a nonce waited for the append lock's file lock"
    work.value()
    assert append_waited
    append.value()
    # An append whose transaction is open holds SQLite's write lock, which is the database's
    # only one: the redemption waits for it, then goes through.
    with appender.write() as conn:
        appender.tip(conn)
        late = Running(lambda: nonces.redeem(second.value, b"A" * 32, NOW))
        late_waited = not late.done_within(HELD)
    assert late_waited
    late.value()
    with pytest.raises(JpkiRefusal) as e:
        nonces.redeem(second.value, b"B" * 32, NOW)
    assert e.value.code == "challenge_used"


# --- both engines ------------------------------------------------------------------------


def test_a_message_for_an_abandoned_ceremony_is_refused(db_url, tmp_path):
    """The trustee was authenticated before the start-over; the message's own transaction
    finds the ceremony abandoned, under its lock, and refuses it."""
    board = _ceremony_board(db_url, tmp_path)
    ceremonies = CeremonyStore(board)
    ceremony, tokens = ceremonies.create(_manifest(), "test")
    who = ceremonies.authenticate(tokens[0])
    ceremonies.create(_manifest(), "test", replacing=ceremony.id)
    with pytest.raises(CeremonyError) as e:
        ceremonies.post_public_key(who, _public_key_doc(ceremony, 1))
    assert e.value.code == "unauthenticated"
    assert ceremonies.public_keys(ceremony) == []
