"""The key ceremony's mailbox: ceremonies, trustee enrolments, encrypted shares, complaints.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ceremonies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("group_name", sa.String(16), nullable=False),
        sa.Column("manifest", sa.LargeBinary, nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("finished", sa.String(40), nullable=True),
        sa.Column("abandoned", sa.String(40), nullable=True),
    )
    op.create_table(
        "ceremony_trustees",
        sa.Column("ceremony", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("trustee", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("public_key", sa.LargeBinary, nullable=True),
        sa.Column("public_posted", sa.String(40), nullable=True),
        sa.Column("joint_key", sa.Text, nullable=True),
        sa.Column("confirmed", sa.String(40), nullable=True),
    )
    op.create_table(
        "ceremony_shares",
        sa.Column("ceremony", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sender", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("recipient", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("posted", sa.String(40), nullable=False),
    )
    op.create_table(
        "ceremony_complaints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ceremony", sa.Integer, nullable=False),
        sa.Column("complainant", sa.Integer, nullable=False),
        sa.Column("accused", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("posted", sa.String(40), nullable=False),
        sa.Column("resolved", sa.String(40), nullable=True),
    )
    op.create_index("ix_ceremony_complaints_ceremony", "ceremony_complaints", ["ceremony"])


def downgrade() -> None:
    op.drop_index("ix_ceremony_complaints_ceremony", "ceremony_complaints")
    op.drop_table("ceremony_complaints")
    op.drop_table("ceremony_shares")
    op.drop_table("ceremony_trustees")
    op.drop_table("ceremonies")
