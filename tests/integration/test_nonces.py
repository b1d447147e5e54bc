"""The database challenge store (shared by web workers), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bulletin.jpki.errors import JpkiRefusal
from bulletin.nonces import DatabaseNonceStore
from bulletin.store import Store, make_engine, migrate


def test_single_use_and_retry(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    store = DatabaseNonceStore(Store(engine), ttl=timedelta(minutes=5))
    other = DatabaseNonceStore(Store(make_engine(db_url)))  # another worker
    now = datetime(2025, 3, 1, tzinfo=UTC)
    ch = store.issue(now)
    other.redeem(ch.value, b"A" * 32, now)
    store.redeem(ch.value, b"A" * 32, now)  # the same ballot again: a retry
    with pytest.raises(JpkiRefusal) as e:
        store.redeem(ch.value, b"B" * 32, now)
    assert e.value.code == "challenge_used"
    with pytest.raises(JpkiRefusal) as e:
        store.redeem(b"\0" * 32, b"A" * 32, now)
    assert e.value.code == "challenge_unknown"
    late = store.issue(now)
    with pytest.raises(JpkiRefusal) as e:
        store.redeem(late.value, b"A" * 32, now + timedelta(minutes=6))
    assert e.value.code == "challenge_expired"
