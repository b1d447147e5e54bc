"""The board's tables (SQLAlchemy Core). The log's rows are only ever inserted, never updated.

* ``entries``: the log. ``data`` is the leaf (the canonical bytes of the BoardEntry),
  ``frontier`` the roots of the perfect subtrees after this entry (so an append reads one
  row and costs O(log n) hashes).
* ``nodes``: the hash of every completed perfect subtree of height ≥ 1, for proofs.
* ``tree_heads``: signed tree heads.
* ``ballots``: an index of ballot entries for the copy checks (unique id, confirmation
  code, ciphertext digest) and for retries (unique submission digest).
* ``log_lock``: one row that appenders lock (PostgreSQL ``SELECT … FOR UPDATE``); on SQLite
  the write transaction itself (``BEGIN IMMEDIATE``) serialises appends.

Operational state, not part of the log, whose rows change (kept here so that every web
process of the board shares it):

* ``challenges``: the JPKI gate's single-use signing nonces (:mod:`bulletin.nonces`).
* ``sign_requests``: pending hand-offs to a phone signing app (:mod:`bulletin.operational`).
* ``admin_epoch``: one row, the administrator's session epoch (:mod:`bulletin.operational`).
* ``checkpoint_offers``: the heads offered to witnesses, and when (:mod:`bulletin.cosigning`).
* ``cosignatures``: the witnesses' cosignatures of heads, each verified before it is stored.
* ``jpki_crls``: the newest CRL any web process loaded, per kind (:mod:`bulletin.gate`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
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
    # set when a signing request hands the challenge to an app on another device: such a
    # challenge may sign a first vote in a category, never a re-vote (bulletin.nonces)
    Column("remote", Boolean, nullable=False, server_default=false()),
)

#: Hand-offs to a phone signing app (operational state, not part of the log): a row lives
#: until it expires (pruned by later requests) or is voided by wrong pairing numbers; it is
#: answered at most once (``answered`` goes from NULL to a time, with ``answer``).
sign_requests = Table(
    "sign_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("secret_hash", LargeBinary(32), nullable=False),  # SHA-256 of the booth's secret
    Column("pairing_hash", LargeBinary(32), nullable=False),  # of (id, pairing number)
    Column("answer_key", LargeBinary(32), nullable=False),  # X25519, derived from the secret
    Column("message", LargeBinary, nullable=False),
    Column("challenge", LargeBinary(32), nullable=False),
    Column("code", LargeBinary(32), nullable=False),
    Column("client", LargeBinary(32), nullable=False),  # SHA-256 of the creator's address
    Column("expires", String(40), nullable=False),
    Column("wrong", Integer, nullable=False),  # wrong pairing numbers so far
    Column("answered", String(40), nullable=True),
    Column("answer", LargeBinary, nullable=True),  # sealed to answer_key
    # when and why it ended before expiring: "cancelled" (the booth) or "voided" (wrong
    # pairing numbers); kept until pruned, so that the app is told why
    Column("ended", String(40), nullable=True),
    Column("ended_by", String(16), nullable=True),
    Index("ix_sign_requests_client", "client"),
    Index("ix_sign_requests_expires", "expires"),
)

#: The administrator's session epoch (operational state): one row (``id`` 1); logout
#: replaces ``epoch``, which ends every admin session on every web process.
admin_epoch = Table(
    "admin_epoch",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("epoch", String(32), nullable=False),
)

#: The heads offered to the witnesses (operational): the latest row is the checkpoint that
#: GET /api/checkpoint gives, so that every witness cosigns the same head (a quorum needs
#: cosignatures of one checkpoint) while heads are signed many times a second.
checkpoint_offers = Table(
    "checkpoint_offers",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("offered", Float, nullable=False),  # POSIX seconds
)

#: Witnesses' cosignatures (C2SP tlog-cosignature) of the board's heads, one per witness
#: and size; each verified against the manifest's witness keys before it is stored.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(255), primary_key=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("line", Text, nullable=False),  # the note signature line, as the witness wrote it
)

#: The heads a quorum of witnesses has cosigned (one row each, written when the quorum's
#: last cosignature is stored): the latest witnessed head is then one index lookup, on
#: every receipt, however many cosignatures a long vote collects.
witnessed_heads = Table(
    "witnessed_heads",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
)

#: The newest CRL that any web process of the board loaded, per kind (``key``,
#: :func:`bulletin.gate.crl_key`: root, scope, full or delta…), as delivered (DER or
#: PEM): every process, on every machine, takes it if it is newer than its own files, so
#: that one machine's delivery revokes on all of them, and a machine whose files lag behind,
#: or are re-delivered older, never takes revocations back (operational;
#: :class:`bulletin.gate.SharedCrls`).
jpki_crls = Table(
    "jpki_crls",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("this_update", String(40), nullable=False),  # ISO 8601, UTC
    Column("number", Text, nullable=True),  # cRLNumber in decimal (up to 20 octets)
    Column("data", LargeBinary, nullable=False),
)
