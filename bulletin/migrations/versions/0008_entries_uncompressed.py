"""PostgreSQL stores an entry's bytes out of line without trying to compress them.

A cast ballot's entry is about 73 kB of JSON whose bulk is the hex of 4096-bit numbers:
random digits, which PostgreSQL's compressors cannot shrink (they do no entropy coding:
pglz gives up after trying, lz4 saves under 1%). Trying cost a third to a half of the
serial append: in `tohyo bench board` at four clients an appended ballot cost 3.2 ms under
the log's lock with the default, 2.0-2.2 ms uncompressed and 1.8 ms with lz4
(docs/researchers.md). EXTERNAL rather than lz4: compressing gains nothing here, lz4's lead
is within the runs' spread, and it needs a server built with lz4. A large value is then
kept out of line (TOAST) without the attempt; existing rows are not rewritten. Nothing to
do on SQLite, which never compresses.

`SET STORAGE` changes the catalogue only, but takes an exclusive lock on the table for that
moment: it waits for the appends and reads in progress (docs/admin.md, upgrading).

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
