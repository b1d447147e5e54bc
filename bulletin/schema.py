"""The board's tables (SQLAlchemy Core). Rows are only ever inserted, never updated.

* ``entries``: the log. ``data`` is the leaf (the canonical bytes of the BoardEntry),
  ``frontier`` the roots of the perfect subtrees after this entry (so an append reads one
  row and costs O(log n) hashes).
* ``nodes``: the hash of every completed perfect subtree of height ≥ 1, for proofs.
* ``tree_heads``: signed tree heads.
* ``ballots``: an index of ballot entries for the copy checks (unique id, confirmation
  code, ciphertext digest) and for retries (unique submission digest).
* ``log_lock``: one row that appenders lock (PostgreSQL ``SELECT … FOR UPDATE``); on SQLite
  the write transaction itself (``BEGIN IMMEDIATE``) serialises appends.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

entries = Table(
    "entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False, index=True),
    Column("data", LargeBinary, nullable=False),
    Column("leaf", LargeBinary(32), nullable=False),
    Column("frontier", Text, nullable=False),
    Column("received_at", String(40), nullable=False),
)

nodes = Table(
    "nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("pos", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

tree_heads = Table(
    "tree_heads",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)

ballots = Table(
    "ballots",
    metadata,
    Column("entry", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("ballot_id", LargeBinary(32), nullable=False, unique=True),
    Column("code", LargeBinary(32), nullable=False, unique=True),
    Column("ct_digest", LargeBinary(32), nullable=False, unique=True),
    Column("submission", LargeBinary(32), nullable=False, unique=True),
    Column("voter", String(80), nullable=False, index=True),
)

log_lock = Table(
    "log_lock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
)

#: Single-use challenges of the JPKI gate (operational state, not part of the log): the
#: one table whose rows change, once each, when a challenge is redeemed.
challenges = Table(
    "challenges",
    metadata,
    Column("value", LargeBinary(32), primary_key=True),
    Column("expires", String(40), nullable=False),
    Column("binding", LargeBinary(32), nullable=True),
)
