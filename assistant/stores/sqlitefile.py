"""The one way Wegwijzer opens a SQLite file that threads and worker processes share (feedback and question
log, conversations, rate limits, signed-out sessions): write-ahead log, so readers never wait for a writer.

The files are the service user's alone (``statefiles``): the database is created 0600 before SQLite opens
it, and SQLite gives its -wal and -shm files the database's mode; files an older version left at 0644 are
set to 0600 here.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from assistant.stores.migrations import Migrations, migrate_sqlite
from assistant.stores.statefiles import create_private, private_file, private_folder

SIDE_FILES = ("-wal", "-shm", "-journal")


def open_shared(path: Path, *, timeout: float = 5.0, synchronous: str | None = "NORMAL",
                autocommit: bool = True) -> sqlite3.Connection:
    """A connection usable from any thread (callers serialise it with their own lock), its folder created.

    ``synchronous``: NORMAL stays crash-safe in WAL mode; OFF for data that may be lost (rate-limit buckets);
    None keeps SQLite's default. ``autocommit``: statements commit themselves unless a transaction is begun.
    """
    path = Path(path)
    private_folder(path.parent)
    try:
        create_private(path)  # an empty file is an empty database; SQLite would create it 0644
    except FileExistsError:
        pass
    except OSError:
        pass  # a read-only folder, say: SQLite's own open below reports it as callers expect (sqlite3.Error)
    _tighten(path)
    # without autocommit, Python's sqlite3 begins a (deferred) transaction before the first change
    con = sqlite3.connect(path, timeout=timeout, check_same_thread=False,
                          isolation_level=None if autocommit else "DEFERRED")
    try:
        _to_wal(con, timeout)
        if synchronous is not None:
            con.execute(f"PRAGMA synchronous={synchronous}")
    except sqlite3.Error:
        con.close()
        raise
    _tighten(path)  # the -wal and -shm files WAL mode just made
    return con


def open_migrated(path: Path, component: str, steps: Migrations, *,
                  then: Callable[[sqlite3.Connection, list[str]], None] | None = None, timeout: float = 5.0,
                  synchronous: str | None = "NORMAL", autocommit: bool = True) -> sqlite3.Connection:
    """``open_shared``, brought to the store's last migration step; ``then`` gets the connection and the steps
    just applied (a store's own pragmas). A failure closes the file before it is raised."""
    con = open_shared(path, timeout=timeout, synchronous=synchronous, autocommit=autocommit)
    try:
        applied = migrate_sqlite(con, component, steps, path)
        if then is not None:
            then(con, applied)
    except BaseException:
        con.close()
        raise
    return con


def _to_wal(con: sqlite3.Connection, timeout: float) -> None:
    """Write-ahead log mode, waiting up to ``timeout`` for other connections. Switching a file out of rollback
    mode (a new file, or one an older release wrote) needs it to itself, and SQLite answers "database is
    locked" at once, without its busy handler, while another connection makes the same switch: workers that
    start together on a fresh data directory did. So the switch is retried here until the deadline."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _tighten(path: Path) -> None:
    """The database and its side files at mode 0600 (cheap: one stat each when they already are)."""
    for file in (path, *(path.with_name(path.name + side) for side in SIDE_FILES)):
        private_file(file)

