"""Revision 0008: PostgreSQL keeps an entry's bytes out of line without trying to compress
them (a ballot's hex does not compress, and the attempt cost a third to a half of the
serial append)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from bulletin.store import MIGRATIONS, Store, make_engine, migrate


def _storage(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT attstorage FROM pg_attribute"
                " WHERE attrelid = 'entries'::regclass AND attname = 'data'"
            )
        ).scalar_one()


def _downgrade(engine, to: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, to)


def test_entries_stored_uncompressed_on_postgresql_and_back(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    store = Store(engine)
    # Zeros, which would compress: the storage, not the data, keeps it uncompressed.
    big = b'{"x":"' + b"0" * 70_000 + b'"}'
    with store.write() as conn:
        store.append(conn, "ballot", lambda i, t: big, datetime.now(UTC))
    assert store.entry(0) == big  # read back whole, whatever the storage
    if engine.dialect.name == "postgresql":
        assert _storage(engine) == "e"  # EXTERNAL: out of line, never compressed
        with engine.connect() as conn:
            method = conn.execute(text("SELECT pg_column_compression(data) FROM entries")).scalar()
        assert method is None
        _downgrade(engine, "0007")
        assert _storage(engine) == "x"  # EXTENDED, PostgreSQL's default
        with store.write() as conn:  # the same bytes, now compressed: the test can tell
            store.append(conn, "ballot", lambda i, t: big, datetime.now(UTC))
        with engine.connect() as conn:
            methods = conn.execute(
                text("SELECT pg_column_compression(data) FROM entries ORDER BY idx")
            ).scalars()
            assert list(methods) == [None, "pglz"]
        migrate(engine)
        assert _storage(engine) == "e"
    else:
        _downgrade(engine, "0007")  # nothing to undo on SQLite
        migrate(engine)
    assert store.entry(0) == big
    engine.dispose()
