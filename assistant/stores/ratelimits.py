"""Rate-limit buckets: one number per (limit, client pseudonym), the GCRA's theoretical arrival time (TAT).

The storage half of ``bots/ratelimit.py`` (which keeps the arithmetic and the policy): :meth:`admit` advances
a bucket in one atomic statement when the request is allowed, and otherwise returns the bucket's TAT so the
caller can say how long to wait. Keys never hold a client address (the caller hashes it).

- :class:`SqliteRateLimitStore`   ``ratelimit.sqlite3``, shared by the web service's worker processes
- :class:`PostgresRateLimitStore` ``wegwijzer.ratelimit`` (unlogged), shared by every replica
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from assistant.errors import WegwijzerError
from assistant.stores.sqlitefile import open_migrated


class RateLimitStore(Protocol):
    errors: tuple[type[BaseException], ...]  # what means "the store cannot be used now" (requests then pass)

    def admit(self, key: str, now: float, interval: float, period: float) -> tuple[float | None] | None:
        """None when the request was admitted (the bucket advanced by ``interval``); else ``(tat,)``, the
        bucket's TAT (None for no bucket)."""
        ...

    def prune(self, now: float) -> None:
        """Drop buckets whose TAT has passed (they hold nothing any more)."""
        ...

    def describe_failure(self, exc: BaseException) -> str: ...

    def close(self) -> None: ...


_SCHEMA = "CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tat REAL NOT NULL) WITHOUT ROWID"
# 1: keys hold a salted hash of the client. Rows of version 0 held raw addresses; buckets live for seconds
# to an hour and only ever make a limit stricter, so they are dropped rather than rewritten.
SCHEMA_VERSION = 1
# One statement for the common case: the row is created or advanced only when the request is allowed.
_HIT = """
INSERT INTO buckets (key, tat) VALUES (:key, :now + :interval)
ON CONFLICT (key) DO UPDATE SET tat = max(tat, :now) + :interval
WHERE max(tat, :now) + :interval - :now <= :period + 1e-9
RETURNING tat
"""


def _hashed_keys(con: sqlite3.Connection) -> None:
    """The table, emptied of a version-0 file's rows (their keys held raw client addresses) without a trace on
    disk: freed pages are overwritten, and the caller truncates the write-ahead log once this is committed."""
    con.execute(_SCHEMA)
    con.execute("PRAGMA secure_delete=ON")
    con.execute("DELETE FROM buckets")
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")  # for a release before the migration runner


# Named steps (``stores.migrations``); files of earlier releases counted them in PRAGMA user_version.
_MIGRATIONS = (("hashed_keys", _hashed_keys),)


def _after_migration(con: sqlite3.Connection, applied: list[str]) -> None:
    con.execute(f"PRAGMA busy_timeout={SqliteRateLimitStore.BUSY_TIMEOUT_MS}")
    if applied:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the old pages leave the write-ahead log too
        con.execute("PRAGMA secure_delete=OFF")


class SqliteRateLimitStore:
    """Buckets in one SQLite file. WAL and ``synchronous=OFF``: a crash may forget the last few requests of a
    bucket, which only makes the limit briefly more generous."""

    BUSY_TIMEOUT_MS = 250  # per check; opening (switching to WAL) may wait longer
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)  # OSError: the salt file, say

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._con is None:
            self._con = open_migrated(self.path, "ratelimit", _MIGRATIONS, then=_after_migration, synchronous="OFF")
        return self._con

    def admit(self, key: str, now: float, interval: float, period: float) -> tuple[float | None] | None:
        params = {"key": key, "now": now, "interval": interval, "period": period}
        with self._lock:
            con = self._connect()
            if con.execute(_HIT, params).fetchone() is not None:
                return None
            row = con.execute("SELECT tat FROM buckets WHERE key = ?", (key,)).fetchone()
        return (row[0] if row else None,)

    def prune(self, now: float) -> None:
        with self._lock:
            self._connect().execute("DELETE FROM buckets WHERE tat < ?", (now,))

    def describe_failure(self, exc: BaseException) -> str:
        return f"{self.path} is unusable ({exc})"

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


_PG_MIGRATIONS = (
    # UNLOGGED: no write-ahead log for a few counters; a server crash empties it, which only makes the
    # limits briefly more generous (as synchronous=OFF does for the SQLite file).
    "CREATE UNLOGGED TABLE wegwijzer.ratelimit (key text PRIMARY KEY, tat double precision NOT NULL)",
    # Keys hold a salted hash of the client from here on; rows with raw addresses are dropped (see SCHEMA_VERSION).
    "TRUNCATE wegwijzer.ratelimit",
)
_PG_HIT = """
INSERT INTO wegwijzer.ratelimit AS b (key, tat) VALUES (%(key)s, %(now)s + %(interval)s)
ON CONFLICT (key) DO UPDATE SET tat = GREATEST(b.tat, %(now)s) + %(interval)s
WHERE GREATEST(b.tat, %(now)s) + %(interval)s - %(now)s <= %(period)s + 1e-9
RETURNING tat
"""


class PostgresRateLimitStore:
    """Buckets in the shared database: one limit per client across every replica."""

    errors: tuple[type[BaseException], ...] = (WegwijzerError,)

    def __init__(self, db: Any) -> None:
        self.db = db
        self._ready = False

    def admit(self, key: str, now: float, interval: float, period: float) -> tuple[float | None] | None:
        if not self._ready:
            self.db.migrate("ratelimit", _PG_MIGRATIONS)
            self._ready = True
        params = {"key": key, "now": now, "interval": interval, "period": period}
        if self.db.rows(_PG_HIT, params):
            return None
        rows = self.db.rows("SELECT tat FROM wegwijzer.ratelimit WHERE key = %s", (key,))
        return (rows[0][0] if rows else None,)

    def prune(self, now: float) -> None:
        self.db.execute("DELETE FROM wegwijzer.ratelimit WHERE tat < %s", (now,))

    def describe_failure(self, exc: BaseException) -> str:
        return str(exc)

    def close(self) -> None:
        """Connections belong to the process's pool."""
