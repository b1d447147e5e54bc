"""Databases for the board's tests: an SQLite file, and a real PostgreSQL that the test
session starts itself (initdb and pg_ctl on a temporary directory, loopback only) and
stops at the end. If PostgreSQL cannot be started, the PostgreSQL tests fail: they are
never skipped. Likewise a real Redis (``redis_server``) for the rate limits that several
web processes share."""

from __future__ import annotations

import glob
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from tests.integration.board_helpers import free_port


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        pytest.fail(f"PostgreSQL's {name} is not installed (make test installs it)")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: run them as the postgres user then.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PostgresServer:
    """A PostgreSQL server on loopback in a temporary directory of its own, which a test can
    stop and start again on the same port (a database restarted during voting)."""

    def __init__(self) -> None:
        self.base = pathlib.Path(tempfile.mkdtemp(prefix="tohyo-pg-"))
        self.data, sock = self.base / "data", self.base / "sock"
        sock.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            shutil.chown(sock, "postgres")
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"
        subprocess.run(
            _as_postgres(
                [_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip
        self._opts = (
            f"-p {self.port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=on"
            " -c max_connections=100"
        )

    def start(self) -> None:
        subprocess.run(
            _as_postgres(
                [_pg_bin("pg_ctl"), "-D", str(self.data), "-o", self._opts, "-w",
                 "-l", str(self.base / "log"), "start"]
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: open connections are closed, transactions in progress rolled
        back, as in a restart or a failover."""
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer()
    server.start()
    try:
        yield server.url
    finally:
        server.remove()


def new_database(server: str, prefix: str = "board") -> str:
    """A fresh, empty database on the PostgreSQL at ``server`` (a ``postgresql+psycopg://``
    URL without a database), as a URL."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(
        server.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True
    ) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database URL on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'board.db'}"
    return new_database(request.getfixturevalue("postgres_server"))


@pytest.fixture(scope="session")
def redis_server():
    """A Redis server of this session (loopback only, nothing saved to disk); its URL."""
    binary = shutil.which("redis-server")
    if not binary:
        pytest.fail("redis-server is not installed (make test installs it)")
    base = pathlib.Path(tempfile.mkdtemp(prefix="tohyo-redis-"))
    port = free_port()
    log = open(base / "log", "wb")  # closed at the end of the session, below
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=base,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while not _redis_answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "redis-server did not start: "
                    + (base / "log").read_text(errors="replace")[-2000:]
                )
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def _redis_answers(port: int) -> bool:
    """True if a Redis server on this loopback port answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False
