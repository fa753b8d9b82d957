"""Real PostgreSQL and Redis servers for tests, on 127.0.0.1 with their data in a temporary folder.

Debian's `postgresql` and `redis-server` packages (scripts/system-deps.sh installs them). PostgreSQL
refuses to run as root: as root the server runs as the `postgres` user the package creates, with
the data folder handed to it. Nothing listens beyond loopback, nothing persists after the test.

    with postgres_server(tmp_path / "pg") as pg:   # pg.url: postgresql+psycopg://aip:aip@127.0.0.1:PORT/aip
        ...
    with redis_server(tmp_path / "redis") as redis:  # redis.address: 127.0.0.1:PORT
        ...
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

__all__ = ["Postgres", "Redis", "postgres_bin", "postgres_server", "redis_bin", "redis_server"]


def postgres_bin(name: str) -> str | None:
    """Path of a PostgreSQL server program (initdb, pg_ctl): on PATH or in Debian's versioned folder."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


def redis_bin() -> str | None:
    return shutil.which("redis-server")


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str
    database: str

    @property
    def url(self) -> str:
        """SQLAlchemy URL with the psycopg 3 driver (what Optuna's RDBStorage takes)."""
        return f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"


@dataclass
class Redis:
    host: str
    port: int

    @property
    def address(self) -> str:
        """`host:port`, the form of Feast's redis `connection_string`."""
        return f"{self.host}:{self.port}"


def _wait_for_port(port: int, process: subprocess.Popen[str], timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited with {process.returncode}:\n{_tail(log)}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"port {port} not open after {timeout_s} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def _as_postgres_user(folder: Path) -> list[str]:
    """Command prefix that runs PostgreSQL's programs as a non-root user (it refuses root)."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam("postgres")
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def postgres_server(folder: Path, *, database: str = "aip", timeout_s: float = 60) -> Iterator[Postgres]:
    """initdb a cluster in `folder`, start it on a free loopback port, create `database` owned by user
    `aip` (password `aip`), yield it, stop it (fast shutdown) on exit."""
    initdb, postgres = postgres_bin("initdb"), postgres_bin("postgres")
    if initdb is None or postgres is None:
        raise AssertionError("PostgreSQL is not installed: run scripts/system-deps.sh")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # the postgres user must reach the data folder when tests run as root
    for parent in folder.parents:
        if parent == Path(parent.anchor) or parent.stat().st_mode & 0o001:
            continue
        parent.chmod(parent.stat().st_mode | 0o001)  # traversable (pytest's tmp folders are 0700)
    data, log, secret = folder / "data", folder / "postgres.log", folder / "pwfile"
    secret.write_text("aip\n")
    prefix = _as_postgres_user(folder)
    subprocess.run(
        [*prefix, initdb, "-D", str(data), "-U", "aip", "--pwfile", str(secret), "-A", "scram-sha-256",
         "--no-sync", "-E", "UTF8", "--locale", "C"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    port = free_port()
    with log.open("w") as out:
        if prefix:
            owner = pwd.getpwnam("postgres")
            os.chown(log, owner.pw_uid, owner.pw_gid)
        process = subprocess.Popen(
            [*prefix, postgres, "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(folder),
             "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off"],
            stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        _wait_for_port(port, process, timeout_s, log)
        server = Postgres("127.0.0.1", port, "aip", "aip", database)
        _create_database(server, timeout_s)
        yield server
    finally:
        if process.poll() is None:  # fast shutdown (runuser does not pass signals on to the server)
            pg_ctl = postgres_bin("pg_ctl")
            if pg_ctl is not None:
                subprocess.run(
                    [*prefix, pg_ctl, "stop", "-D", str(data), "-m", "fast", "-w", "-t", "30"],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _create_database(server: Postgres, timeout_s: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:  # the port opens a moment before the server accepts logins
        try:
            conn = psycopg.connect(
                host=server.host, port=server.port, user=server.user, password=server.password,
                dbname="postgres", autocommit=True,
            )  # fmt: skip
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with conn:
        conn.execute(f'CREATE DATABASE "{server.database}"')


@contextmanager
def redis_server(folder: Path, *, timeout_s: float = 30) -> Iterator[Redis]:
    """redis-server on a free loopback port, no persistence, yield it, stop it on exit."""
    binary = redis_bin()
    if binary is None:
        raise AssertionError("redis-server is not installed: run scripts/system-deps.sh")
    folder.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), folder / "redis.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
             "--dir", str(folder), "--protected-mode", "yes"],
            stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        _wait_for_port(port, process, timeout_s, log)
        yield Redis("127.0.0.1", port)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
