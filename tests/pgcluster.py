"""A private, throwaway PostgreSQL cluster for tests that must restart the database server.

The shared server (``ASKHUB_TEST_POSTGRES_URL``) serves other test runs at the same time, so
it is never restarted; a test that needs a restart gets its own cluster: ``initdb`` into a temp
directory, ``pg_ctl`` on a free loopback port, removed on the way out whatever happens.

PostgreSQL refuses to run as root: as root, the cluster runs as the ``postgres`` OS user (via
``runuser``) in a directory it owns. Trust authentication, loopback only::

    with PrivateCluster() as cluster:
        url = cluster.create_database("askhub")   # postgresql+asyncpg://...
        ...
        cluster.restart()                         # every connection to it is cut
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.sinks import free_port

__all__ = ["PrivateCluster", "postgres_bin"]


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian's layout), or where ``initdb``
    is on the PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb) found")
    return Path(on_path).parent


class PrivateCluster:
    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = 0
        self._root: Path | None = None
        self._as_postgres = os.geteuid() == 0
        self._options = ""

    @property
    def data(self) -> Path:
        assert self._root is not None
        return self._root / "data"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stdout}{done.stderr}"
            )

    def start(self) -> Self:
        # Under /tmp rather than pytest's tmp_path: the postgres user must reach it.
        self._root = Path(tempfile.mkdtemp(prefix="askhub-pg-", dir="/tmp"))
        try:
            if self._as_postgres:
                user = pwd.getpwnam("postgres")
                os.chown(self._root, user.pw_uid, user.pw_gid)
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--no-instructions", "--no-sync",
            )  # fmt: skip
            # Another process may take a probed port first: try a few.
            for attempt in range(3):
                self.port = free_port()
                self._options = " ".join(
                    [
                        f"-p {self.port}",
                        "-c listen_addresses=127.0.0.1",
                        f"-c unix_socket_directories={self._root}",
                        # A test database: small, and no fsync (a restart, not a power cut).
                        "-c fsync=off",
                        "-c shared_buffers=32MB",
                        "-c max_connections=50",
                    ]
                )
                try:
                    self._pg_ctl_start()
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
        except BaseException:
            self.stop()
            raise
        return self

    def _pg_ctl_start(self) -> None:
        log = str(self._root / "postgres.log") if self._root else "/dev/null"
        try:
            self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", self._options, "-w", "start")
        except RuntimeError as exc:  # the server's own log says why
            raise RuntimeError(f"{exc}\n{self.log()}") from exc

    def restart(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: as a crash, every connection cut with no goodbye
        and crash recovery at the start; ``fast``: a clean shutdown) and start it again on the
        same port."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self._pg_ctl_start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q",
                  "-c", f"CREATE DATABASE {name}")  # fmt: skip
        return self.url(name)

    def log(self) -> str:
        path = self._root / "postgres.log" if self._root else None
        if path is None or not path.exists():
            return ""
        return path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self._root is None:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
