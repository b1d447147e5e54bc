"""The newest CRL any web process loaded, per issuer and scope, shared by every process of
the board (docs/jpki.md, "CRLs"): one machine's delivery revokes on all of them, and a
machine whose files lag behind never takes revocations back.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jpki_crls",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("this_update", sa.String(40), nullable=False),
        sa.Column("number", sa.Text(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("jpki_crls")
