"""Witnesses: the heads offered to them and their cosignatures (docs/protocol.md §8.4).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoint_offers",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("offered", sa.Float, nullable=False),
    )
    op.create_table(
        "cosignatures",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("witness", sa.String(255), primary_key=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
    )
    op.create_table(
        "witnessed_heads",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    )


def downgrade() -> None:
    op.drop_table("witnessed_heads")
    op.drop_table("cosignatures")
    op.drop_table("checkpoint_offers")
