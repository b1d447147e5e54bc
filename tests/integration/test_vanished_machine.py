"""A web machine that vanishes (power cut, kernel panic, a VM paused) while it holds the log's
append lock on the board's PostgreSQL.

Its session stays open on the server, idle in transaction, holding the lock: PostgreSQL
only notices a silent client when its own TCP keepalives give up, over two hours by
default, and until then every other machine's appends wait behind it. The board's
sessions tell the server to end such a session (``idle_in_transaction_session_timeout``);
a process stopped with SIGSTOP inside ``Store.write`` stands in for the machine (its
connection stays open and says nothing, as a paused VM's does).

On SQLite the machine is one machine, and a process that dies releases its locks with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psycopg

from bulletin.store import IDLE_IN_TRANSACTION_MS
from tests.integration.board_helpers import make_board, submission
from tests.integration.conftest import new_database

C1 = {"gyosei": ["internet-voting"], "mobility": ["tsukumobi"], "healthcare": []}

HOLDER = textwrap.dedent(
    """
    import os, signal, sys
    from bulletin.store import Store, make_engine
    store = Store(make_engine(sys.argv[1]))
    with store.write():
        print("locked", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)  # the machine is gone from here on
    """
)


def test_a_machine_gone_mid_append_holds_the_log_for_seconds_not_hours(postgres_server, tmp_path):
    url = new_database(postgres_server, "vanished")
    name = url.rsplit("/", 1)[1]
    s = make_board(url, tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        # The holder's session, as the server sees it while the holder is stopped.
        plain = url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(plain, autocommit=True) as c:
            states = [
                r[0]
                for r in c.execute(
                    "SELECT state FROM pg_stat_activity WHERE datname = %s AND pid <> "
                    "pg_backend_pid()",
                    (name,),
                )
            ]
        assert "idle in transaction" in states

        result: dict[str, object] = {}

        def vote() -> None:
            try:
                result["receipt"] = s.board.submit(submission(s.election, C1, "token-1", "v"))
            except Exception as e:  # the test reports whatever it was
                result["error"] = e

        t0 = time.monotonic()
        voter = threading.Thread(target=vote, daemon=True)
        voter.start()
        # The server's limit, then the batch; far less than the keepalives' two hours.
        voter.join(IDLE_IN_TRANSACTION_MS / 1000 + 50)
        waited = time.monotonic() - t0
        assert not voter.is_alive(), "the ballot still waits behind the vanished machine"
        assert "error" not in result, result.get("error")
        assert result["receipt"]["entry"] == s.board.store.size() - 1
        # It did wait for the lock, so the vanished machine really held it.
        assert waited >= IDLE_IN_TRANSACTION_MS / 1000 - 1
        with psycopg.connect(plain, autocommit=True) as c:
            left = c.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND state = 'idle in transaction'",
                (name,),
            ).fetchone()
        assert left is not None and left[0] == 0
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
