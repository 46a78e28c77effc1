"""A throwaway real PostgreSQL server for the tests and the benchmarks.

`initdb` into a temporary folder and `pg_ctl start` on a free local port (TCP on
127.0.0.1 only, no Unix socket, password authentication), from the distribution's
PostgreSQL build: `pg_ctl` on PATH, else Debian's /usr/lib/postgresql/<version>/bin.
PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user
(`runuser`). `stop()` removes everything it made.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

USER = "harness"
# A password with characters that need care in a URL, so the tests see masking work.
PASSWORD = "pg-s3cret-" + uuid.uuid4().hex[:8]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (the reason says why)."""


def find_bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name) if
                      Path(p).parent.parent.name.isdigit() else 0)
    if versions:
        return Path(versions[-1]).parent
    raise PostgresUnavailable("no PostgreSQL server build: pg_ctl is neither on PATH nor "
                              "under /usr/lib/postgresql (apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder.

    Args:
        durable: keep PostgreSQL's crash safety (fsync, synchronous commit), as a real
            team server would run; the tests turn it off for speed.
    """

    def __init__(self, durable: bool = False):
        self.bindir = find_bindir()
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="harness-pg-"))
        self.port = None
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            owner = _service_user()
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", owner.pw_name, "--"]

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as_user, *args], capture_output=True, text=True,
                              check=False, timeout=timeout, cwd=self.root)

    def start(self) -> PostgresServer:
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_user:
            owner = _service_user()
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        data = self.root / "data"
        done = self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", USER,
                         "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
                         "--locale=C", "--no-sync")
        if done.returncode != 0:
            self.stop()
            raise PostgresUnavailable(f"initdb failed: {done.stderr.strip()[-400:]}")
        fast = [] if self.durable else ["-c fsync=off", "-c synchronous_commit=off",
                                        "-c full_page_writes=off"]
        for _attempt in range(3):
            self.port = _free_port()
            options = " ".join([f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                                "-c unix_socket_directories=''", "-c max_connections=200",
                                *fast])
            done = self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l",
                             str(self.root / "server.log"), "-o", options, "-w", "-t", "60",
                             "start")
            if done.returncode == 0:
                return self
        log = (self.root / "server.log").read_text()[-400:] if \
            (self.root / "server.log").exists() else done.stderr
        self.stop()
        raise PostgresUnavailable(f"pg_ctl start failed: {log.strip()}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database on this server; returns its URL."""
        import psycopg

        name = name or "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=PASSWORD,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m",
                      "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def _service_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and neither a postgres nor a nobody user "
                              "exists to run the server as")
