"""Several machines started at once on one fresh database each migrate it (every `tohyo
serve` and `tohyo board` command does): one of them creates the schema and the others wait
for it, then find it done. Before the migration took a lock, three of four failed: on
PostgreSQL with a unique violation in pg_type (two creating the same table), on SQLite with
"database is locked" (two readers each upgrading to the write lock)."""

from __future__ import annotations

import subprocess
import sys
import time

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bulletin.store import MIGRATIONS, make_engine

# Each process waits for the same moment, so that they all start their migration together.
_MIGRATE = """
import sys, time
from bulletin.store import make_engine, migrate
url, start = sys.argv[1], float(sys.argv[2])
engine = make_engine(url)
with engine.connect():  # connected and imported before the start: only the migration races
    pass
time.sleep(max(0.0, start - time.time()))
migrate(engine)
"""


def _migrate_together(url: str, n: int) -> list[subprocess.CompletedProcess[str]]:
    start = time.time() + 3.0  # after every interpreter has imported SQLAlchemy and Alembic
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE, url, repr(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def test_machines_migrating_one_fresh_database_at_once_all_succeed(db_url):
    results = _migrate_together(db_url, 4)
    # the exception's last line of each that failed
    failed = [
        [ln for ln in r.stderr.splitlines() if "Error" in ln][-1:]
        for r in results
        if r.returncode != 0
    ]
    assert not failed, failed
    engine = make_engine(db_url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert versions == [ScriptDirectory.from_config(cfg).get_current_head()]
    assert "ballots" in inspect(engine).get_table_names()
