"""Operational state shared by every web process: signing-app hand-offs, the admin epoch.

Revision ID: 0004
Revises: 0003
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("pairing_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("answer_key", sa.LargeBinary(32), nullable=False),
        sa.Column("message", sa.LargeBinary, nullable=False),
        sa.Column("challenge", sa.LargeBinary(32), nullable=False),
        sa.Column("code", sa.LargeBinary(32), nullable=False),
        sa.Column("client", sa.LargeBinary(32), nullable=False),
        sa.Column("expires", sa.String(40), nullable=False),
        sa.Column("wrong", sa.Integer, nullable=False),
        sa.Column("answered", sa.String(40), nullable=True),
        sa.Column("answer", sa.LargeBinary, nullable=True),
    )
    op.create_index("ix_sign_requests_client", "sign_requests", ["client"])
    op.create_index("ix_sign_requests_expires", "sign_requests", ["expires"])
    epoch = op.create_table(
        "admin_epoch",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("epoch", sa.String(32), nullable=False),
    )
    # Random, not a counter: a cookie from another database (an earlier board signed with
    # the same cookie key) must not match this one's epoch.
    op.bulk_insert(epoch, [{"id": 1, "epoch": secrets.token_hex(16)}])


def downgrade() -> None:
    op.drop_table("admin_epoch")
    op.drop_index("ix_sign_requests_expires", "sign_requests")
    op.drop_index("ix_sign_requests_client", "sign_requests")
    op.drop_table("sign_requests")
