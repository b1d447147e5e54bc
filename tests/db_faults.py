"""Real database failures for the tests of how they are answered (not built by hand: the
driver's own exception, with its own error code)."""

from __future__ import annotations

import pathlib
import sqlite3


def sqlite_failure(path: pathlib.Path, sql: str, busy: bool = False) -> sqlite3.Error:
    """What SQLite raises for ``sql`` on the database file ``path``: with ``busy``, while
    another connection holds the write lock and with no busy timeout ("database is locked",
    SQLITE_BUSY)."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    if busy:
        holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute(sql)
    except sqlite3.Error as e:
        return e
    finally:
        other.close()
        holder.close()
    raise AssertionError(f"{sql!r} did not fail")
