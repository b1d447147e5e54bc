"""Challenges handed to a signing app on another device are marked, so that the gate can
refuse them for a re-vote (docs/jpki.md, "Which flow protects against what").

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("remote", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("remote")
