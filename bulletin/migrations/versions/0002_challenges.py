"""Single-use JPKI challenges shared by every web worker.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "challenges",
        sa.Column("value", sa.LargeBinary(32), primary_key=True),
        sa.Column("expires", sa.String(40), nullable=False),
        sa.Column("binding", sa.LargeBinary(32), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("challenges")
