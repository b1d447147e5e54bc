"""PostgreSQL stores an entry's bytes out of line without trying to compress them.

A cast ballot's entry is about 73 KB of JSON whose bulk is the hex of 4096-bit numbers:
random digits, which PostgreSQL's compressors cannot shrink (pglz gives up; lz4 saves under
1%). Trying cost more than half of the serial append: in `tohyo bench board` at four
clients an appended ballot cost 3.2 ms under the log's lock with the default, 1.8 ms with
lz4 (docs/researchers.md). EXTERNAL keeps the value out of line (TOAST) and skips the
attempt. Nothing to do on SQLite, which never compresses.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE entries ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE entries ALTER COLUMN data SET STORAGE EXTENDED")
