"""The one way Wegwijzer opens a SQLite file that threads and worker processes share (feedback and question
log, conversations, rate limits, signed-out sessions): write-ahead log, so readers never wait for a writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_shared(path: Path, *, timeout: float = 5.0, synchronous: str | None = "NORMAL",
                autocommit: bool = True) -> sqlite3.Connection:
    """A connection usable from any thread (callers serialise it with their own lock), its folder created.

    ``synchronous``: NORMAL stays crash-safe in WAL mode; OFF for data that may be lost (rate-limit buckets);
    None keeps SQLite's default. ``autocommit``: statements commit themselves unless a transaction is begun.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # without autocommit, Python's sqlite3 begins a (deferred) transaction before the first change
    con = sqlite3.connect(path, timeout=timeout, check_same_thread=False,
                          isolation_level=None if autocommit else "DEFERRED")
    try:
        con.execute("PRAGMA journal_mode=WAL")
        if synchronous is not None:
            con.execute(f"PRAGMA synchronous={synchronous}")
    except sqlite3.Error:
        con.close()
        raise
    return con
