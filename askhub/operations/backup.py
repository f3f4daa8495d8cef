"""Back up the database to one file and restore it, on SQLite and PostgreSQL.

SQLite uses its online backup API: one consistent snapshot while the app keeps running (WAL
readers do not block writers). PostgreSQL uses ``pg_dump -Fc`` and ``pg_restore`` in one
transaction. A restore checks the file completely before the database is touched, refuses a
database that holds data unless forced, and lands all at once or not at all. The routing
index is not in the backup: it is rebuilt from the stored vectors (``rebuild_index``), which
encodes nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anyio
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from askhub.i18n import N_
from askhub.routing.service import RoutingService
from models.db import create_engine

PG_DUMP = os.environ.get("ASKHUB_PG_DUMP", "pg_dump")
PG_RESTORE = os.environ.get("ASKHUB_PG_RESTORE", "pg_restore")
# Tables whose rows do not make a database "in use": the schema version alone.
SCHEMA_ONLY = {"alembic_version"}


class BackupError(Exception):
    """Bad input or a refused restore; nothing was changed. ``message`` is a message id with
    ``{placeholders}`` filled from ``values`` (the CLI translates it)."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values))
        self.message = message
        self.values = values


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(N_("an in-memory SQLite database cannot be backed up or restored"))
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL as ``pg_dump`` reads it, and the environment that carries the
    password (so it is not on the command line for ``ps`` to show)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None, query={})
    return plain.render_as_string(hide_password=False), env


def _fresh_target(target: Path) -> None:
    if target.exists():
        raise BackupError(N_("{file} already exists; choose another name"), file=str(target))
    if not target.parent.is_dir():
        raise BackupError(N_("folder {folder} does not exist"), folder=str(target.parent))


@contextlib.contextmanager
def _temporary_beside(path: Path, suffix: str) -> Iterator[Path]:
    """A temporary file in ``path``'s folder (a rename within one file system is atomic),
    removed unless it was renamed away."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
    finally:
        temp.unlink(missing_ok=True)


# -- backup ----------------------------------------------------------------------------------


def backup(url: str, target: Path) -> int:
    """Write a backup of the database at ``url`` to ``target`` (which must not exist); the
    size in bytes. The file appears only when it is complete."""
    _fresh_target(target)
    with _temporary_beside(target, ".part") as temp:
        if is_sqlite(url):
            _backup_sqlite(sqlite_path(url), temp)
        else:
            _backup_postgres(url, temp)
        os.replace(temp, target)
    return target.stat().st_size


def _backup_sqlite(source: Path, temp: Path) -> None:
    if not source.is_file():
        raise BackupError(N_("there is no database at {file}"), file=str(source))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(temp)
    try:
        # One step (pages=-1): the copy is one snapshot, however busy the app is.
        src.backup(dst)
        # A self-contained file: no write-ahead log beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _backup_postgres(url: str, temp: Path) -> None:
    dsn, env = _libpq(url)
    _run([PG_DUMP, "--format=custom", "--no-owner", f"--file={temp}", f"--dbname={dsn}"], env)


def _run(command: list[str], env: dict[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(N_("{program} is not installed"), program=command[0])
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise BackupError(N_("{program} failed: {error}"), program=command[0], error=last)


# -- restore ---------------------------------------------------------------------------------


def _tables_with_rows(connection: Connection) -> list[str]:
    found = []
    for table in inspect(connection).get_table_names():
        if table in SCHEMA_ONLY:
            continue
        quoted = connection.dialect.identifier_preparer.quote(table)
        if connection.execute(text(f"SELECT 1 FROM {quoted} LIMIT 1")).first() is not None:
            found.append(table)
    return found


async def tables_with_rows(url: str) -> list[str]:
    """The tables of the database at ``url`` that hold rows (none: safe to restore into)."""
    if is_sqlite(url) and not sqlite_path(url).exists():
        return []
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_tables_with_rows)
    finally:
        await engine.dispose()


async def restore(url: str, source: Path, force: bool = False) -> None:
    """Replace the database at ``url`` with the backup in ``source``: all of it or, on any
    failure, nothing. A database that holds rows is refused unless ``force``."""
    sqlite = is_sqlite(url)
    # The file is checked before the database is looked at or touched.
    await anyio.to_thread.run_sync(_check_backup, source, sqlite)
    in_use = await tables_with_rows(url)
    if in_use and not force:
        raise BackupError(
            N_(
                "the database is not empty ({tables} hold data); "
                "restore over it with --force, or restore into an empty database"
            ),
            tables=", ".join(sorted(in_use)[:3]) + (", …" if len(in_use) > 3 else ""),
        )
    if sqlite:
        await anyio.to_thread.run_sync(_restore_sqlite, source, sqlite_path(url))
    else:
        await anyio.to_thread.run_sync(_restore_postgres, url, source)


def _check_backup(source: Path, sqlite: bool) -> None:
    if not source.is_file():
        raise BackupError(N_("{file} does not exist"), file=str(source))
    if sqlite:
        _check_sqlite_backup(source)
    else:
        _check_postgres_backup(source)


def _check_sqlite_backup(source: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            ok = connection.execute("PRAGMA quick_check").fetchone()
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        ok, tables = None, set()
    if ok != ("ok",) or not {"alembic_version", "person", "embedding"} <= tables:
        raise BackupError(N_("{file} is not an AskHub SQLite backup"), file=str(source))


def _check_postgres_backup(source: Path) -> None:
    # pg_restore --list reads the whole table of contents of a custom-format dump.
    if shutil.which(PG_RESTORE) is None:
        raise BackupError(N_("{program} is not installed"), program=PG_RESTORE)
    listed = subprocess.run(
        [PG_RESTORE, "--list", str(source)], capture_output=True, text=True, check=False
    )
    if listed.returncode != 0 or " alembic_version " not in listed.stdout:
        raise BackupError(N_("{file} is not an AskHub PostgreSQL backup"), file=str(source))


def _restore_sqlite(source: Path, target: Path) -> None:
    """Copy the backup into a temporary file beside the database, then swap it in with the
    backup API: one write transaction on the live database (other connections wait on its
    lock and then read the restored data; a failure rolls back). Renaming a file over a WAL
    database would leave its old write-ahead log to be replayed onto the new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _temporary_beside(target, ".restore") as temp:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        staged = sqlite3.connect(temp)
        try:
            src.backup(staged)
        finally:
            src.close()
        live = sqlite3.connect(target, timeout=30)
        try:
            live.execute("PRAGMA busy_timeout=30000")
            staged.backup(live)
        finally:
            live.close()
            staged.close()


def _restore_postgres(url: str, source: Path) -> None:
    dsn, env = _libpq(url)
    # One transaction: the old objects are dropped and the backup loaded together, or (any
    # error) nothing changes.
    _run(
        [
            PG_RESTORE,
            "--single-transaction",
            "--clean",
            "--if-exists",
            "--no-owner",
            f"--dbname={dsn}",
            str(source),
        ],
        env,
    )


# -- the routing index -----------------------------------------------------------------------


async def rebuild_index(
    routing: RoutingService, sessions: async_sessionmaker[AsyncSession], index_path: Path
) -> dict[str, object]:
    """Build the routing index again from the stored vectors (the ``embedding`` table) and
    write it to the data dir. Nothing is encoded: the vectors come back with the database."""
    await anyio.to_thread.run_sync(lambda: index_path.unlink(missing_ok=True))
    async with sessions() as session:
        await routing.sync(session)
    routing.save()
    return routing.state()
