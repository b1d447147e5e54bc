"""Signing requests that the booth cancelled or that wrong pairing numbers voided are kept
(until they expire and are pruned) so that the signing app is told why, before the card is
touched, instead of "not found" (docs/jpki.md, "The hand-off to another device").

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sign_requests") as batch:
        batch.add_column(sa.Column("ended", sa.String(40), nullable=True))
        batch.add_column(sa.Column("ended_by", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sign_requests") as batch:
        batch.drop_column("ended_by")
        batch.drop_column("ended")
