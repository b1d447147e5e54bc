"""Several machines started at once on one fresh database each migrate it (every `tohyo
serve` and `tohyo board` command does): one of them creates the schema and the others wait
for it, then find it done. Before the migration took a lock, three of four failed: on
PostgreSQL with a unique violation in pg_type (two creating the same table), on SQLite with
"database is locked" (two readers each upgrading to the write lock)."""

from __future__ import annotations

import subprocess
import sys

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bulletin.store import MIGRATIONS, make_engine

# Each process connects and imports everything, says so, and waits for the word to go: only
# the migrations race, all released at once, however slowly the interpreters start.
_MIGRATE = """
import sys
from bulletin.store import make_engine, migrate
engine = make_engine(sys.argv[1])
with engine.connect():
    pass
print("ready", flush=True)
sys.stdin.readline()
migrate(engine)
"""


def _migrate_together(url: str, n: int) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    try:
        for p in procs:  # the barrier: every one ready before any goes
            assert p.stdout is not None and p.stderr is not None
            if p.stdout.readline() != "ready\n":
                raise AssertionError(f"a process did not start: {p.stderr.read()[-1500:]}")
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        out = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=120)
            out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
        return out
    finally:
        for p in procs:  # none left waiting, to migrate after the test
            if p.poll() is None:
                p.kill()
                p.wait()


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
