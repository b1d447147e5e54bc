"""The initial board schema: entries, nodes, tree heads, ballot index, log lock.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entries",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("leaf", sa.LargeBinary(32), nullable=False),
        sa.Column("frontier", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_entries_kind", "entries", ["kind"])
    op.create_table(
        "nodes",
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("pos", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "tree_heads",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "ballots",
        sa.Column("entry", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ballot_id", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("code", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("ct_digest", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("submission", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("voter", sa.String(80), nullable=False),
    )
    op.create_index("ix_ballots_voter", "ballots", ["voter"])
    op.create_table("log_lock", sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
    op.execute("INSERT INTO log_lock (id) VALUES (1)")


def downgrade() -> None:
    for t in ("log_lock", "ballots", "tree_heads", "nodes", "entries"):
        op.drop_table(t)
