"""The ceremony mailbox's tables (SQLAlchemy Core), beside the board's own.

They join the board's metadata (``bulletin.schema.metadata``) so that Alembic sees one
schema; revision 0003 (``bulletin/migrations/versions/0003_ceremony.py``) creates them.
Unlike the log's tables, their rows change: when a ceremony is finished or abandoned, a
complaint resolved or a share replaced.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, LargeBinary, String, Table, Text

from bulletin import schema

ceremonies = Table(
    "ceremonies",
    schema.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_name", String(16), nullable=False),
    Column("manifest", LargeBinary, nullable=False),  # canonical bytes
    Column("created", String(40), nullable=False),
    Column("finished", String(40), nullable=True),
    Column("abandoned", String(40), nullable=True),
)

ceremony_trustees = Table(
    "ceremony_trustees",
    schema.metadata,
    Column("ceremony", Integer, primary_key=True, autoincrement=False),
    Column("trustee", Integer, primary_key=True, autoincrement=False),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("public_key", LargeBinary, nullable=True),  # canonical TrusteePublicKey
    Column("public_posted", String(40), nullable=True),
    Column("joint_key", Text, nullable=True),  # the K the trustee computed, when it confirmed
    Column("confirmed", String(40), nullable=True),
)

ceremony_shares = Table(
    "ceremony_shares",
    schema.metadata,
    Column("ceremony", Integer, primary_key=True, autoincrement=False),
    Column("sender", Integer, primary_key=True, autoincrement=False),
    Column("recipient", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),  # canonical EncryptedShare
    Column("posted", String(40), nullable=False),
)

ceremony_complaints = Table(
    "ceremony_complaints",
    schema.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ceremony", Integer, nullable=False, index=True),
    Column("complainant", Integer, nullable=False),
    Column("accused", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("posted", String(40), nullable=False),
    Column("resolved", String(40), nullable=True),
)


__all__ = ["ceremonies", "ceremony_complaints", "ceremony_shares", "ceremony_trustees"]
