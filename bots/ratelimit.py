"""Per-client rate limits for the front ends: GCRA (a token bucket kept as one timestamp per client).

A limit of ``count`` per ``period`` lets a client make ``count`` requests at once and then one every
``period / count`` seconds. The state of a client is one number, its *theoretical arrival time* (TAT):
a request is allowed when the TAT it would leave behind is at most ``period`` ahead of now.

Three stores with the same arithmetic: :class:`MemoryLimiter` for one process (the Telegram bot),
:class:`SQLiteLimiter` for the web service, whose worker processes share one file under the data
directory, so ``serve --workers N`` does not hand a client N times its limit, and
:class:`PostgresLimiter` when replicas share a database (``WEGWIJZER_DATABASE_URL``): one limit per client
across all of them. :func:`open_limiter` picks the shared one from the settings. The shared stores key a
bucket by a salted hash of the client (``hash_user``, with the salt of the feedback pseudonyms), never its
address. Hand-written rather than
``limits``/``slowapi``: those share state between processes only through Redis or memcached, which a
municipal intranet server should not need for a few counters (bench/ratelimit.py measures the cost).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.errors import WegwijzerError
from assistant.hashing import hash_user
from assistant.stores.factory import open_stores
from assistant.stores.feedback import database_salt, local_salt
from assistant.stores.sqlitefile import open_shared

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """``count`` requests per ``period`` seconds per client; ``count == 0`` means no limit."""

    name: str
    count: int
    period: float

    def __post_init__(self) -> None:
        if self.count < 0 or self.period <= 0:
            raise ValueError(f"limit {self.name!r} needs count >= 0 and period > 0, got {self.count}/{self.period}")

    @property
    def interval(self) -> float:
        return self.period / self.count


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0  # seconds until the next request would be allowed (when refused)

    @property
    def retry_after_s(self) -> int:
        """Whole seconds for a Retry-After header or a message: rounded up, at least 1."""
        return max(1, math.ceil(self.retry_after))


ALLOWED = Decision(True)


def step(tat: float | None, now: float, limit: Limit) -> tuple[float | None, Decision]:
    """The GCRA step: (the TAT to store or None to leave it, the decision) for a request at ``now``."""
    new_tat = max(tat if tat is not None else now, now) + limit.interval
    ahead = new_tat - now - limit.period
    if ahead > 1e-9:
        return None, Decision(False, ahead)
    return new_tat, ALLOWED


class MemoryLimiter:
    """Limits kept in this process (thread-safe)."""

    PRUNE_EVERY = 1000

    def __init__(self) -> None:
        self._tat: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def hit(self, limit: Limit, client: str, now: float | None = None) -> Decision:
        if limit.count == 0:
            return ALLOWED
        now = time.time() if now is None else now
        key = (limit.name, client)
        with self._lock:
            new_tat, decision = step(self._tat.get(key), now, limit)
            if new_tat is not None:
                self._tat[key] = new_tat
            self._hits += 1
            if self._hits % self.PRUNE_EVERY == 0:  # forget clients whose bucket is full again
                self._tat = {k: v for k, v in self._tat.items() if v > now}
        return decision


    def used(self, limit: Limit, client: str, now: float | None = None) -> int:
        """How many of ``limit.count`` requests ``client`` has used now (the bucket's fill, rounded up)."""
        if limit.count == 0:
            return 0
        now = time.time() if now is None else now
        with self._lock:
            tat = self._tat.get((limit.name, client))
        return 0 if tat is None or tat <= now else min(limit.count, math.ceil((tat - now) / limit.interval - 1e-9))


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


class _SharedLimiter:
    """What the SQLite and PostgreSQL limiters share: the GCRA step, pruning now and then, and letting a
    request through (with a warning at most once a minute) when the store cannot be used. A store supplies
    ``_check(key, params, now)``: None when the atomic update admitted the request, else the bucket's
    ``tat`` (or None for no bucket) wrapped in a one-element tuple."""

    PRUNE_EVERY_S = 60.0
    WARN_EVERY_S = 60.0
    _STORE_ERRORS: tuple[type[BaseException], ...] = ()

    def __init__(self, salt: Callable[[], str]) -> None:
        self._next_prune = 0.0
        self._next_warning = 0.0
        self._salt_source = salt
        self._salt = ""

    def _key(self, limit: Limit, client: str) -> str:
        """The bucket's key: the limit's name and a salted hash of the client (its address is never stored)."""
        if not self._salt:
            self._salt = self._salt_source()
        return f"{limit.name}:{hash_user(client, self._salt)}"

    def _check(self, key: str, params: dict[str, object], now: float) -> tuple[float | None] | None:
        raise NotImplementedError

    def _due_for_pruning(self, now: float) -> bool:
        if now < self._next_prune:
            return False
        self._next_prune = now + self.PRUNE_EVERY_S
        return True

    def _describe_failure(self, exc: BaseException) -> str:
        return str(exc)

    def hit(self, limit: Limit, client: str, now: float | None = None) -> Decision:
        if limit.count == 0:
            return ALLOWED
        now = time.time() if now is None else now
        try:
            key = self._key(limit, client)
            params = {"key": key, "now": now, "interval": limit.interval, "period": limit.period}
            found = self._check(key, params, now)
        except self._STORE_ERRORS as exc:
            if now >= self._next_warning:
                self._next_warning = now + self.WARN_EVERY_S
                log.warning("a request went through without its rate-limit check: %s", self._describe_failure(exc))
            return ALLOWED
        if found is None:
            return ALLOWED
        _, decision = step(found[0], now, limit)
        return decision


class SQLiteLimiter(_SharedLimiter):
    """Limits shared by every process that opens the same file (the web service's workers).

    WAL and ``synchronous=OFF``: a crash may forget the last few requests of a bucket, which only makes
    the limit briefly more generous. When the database cannot be used (locked for too long, read-only,
    disk full) requests are let through and the problem is logged: a rate limit must never take the
    service down.
    """

    BUSY_TIMEOUT_MS = 250  # per check; opening (switching to WAL) may wait longer
    _STORE_ERRORS = (sqlite3.Error, OSError)  # OSError: the salt file cannot be read or made

    def __init__(self, path: Path, salt: Callable[[], str] | None = None) -> None:
        self.path = Path(path)
        super().__init__(salt or (lambda: local_salt(self.path.parent)))
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._con is None:
            con = open_shared(self.path, synchronous="OFF")
            try:
                con.execute(_SCHEMA)
                con.execute(f"PRAGMA busy_timeout={self.BUSY_TIMEOUT_MS}")
                if con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                    _drop_raw_addresses(con)
            except sqlite3.Error:
                con.close()
                raise
            self._con = con
        return self._con

    def _check(self, key: str, params: dict[str, object], now: float) -> tuple[float | None] | None:
        with self._lock:
            con = self._connect()
            if con.execute(_HIT, params).fetchone() is not None:
                if self._due_for_pruning(now):
                    con.execute("DELETE FROM buckets WHERE tat < ?", (now,))
                return None
            row = con.execute("SELECT tat FROM buckets WHERE key = ?", (key,)).fetchone()
        return (row[0] if row else None,)

    def _describe_failure(self, exc: BaseException) -> str:
        return f"{self.path} is unusable ({exc})"

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


def _drop_raw_addresses(con: sqlite3.Connection) -> None:
    """Empty a version-0 file, whose keys held raw client addresses, and leave no trace of them on disk."""
    con.execute("PRAGMA secure_delete=ON")  # freed pages are overwritten, not just marked free
    con.execute("DELETE FROM buckets")
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the old pages leave the write-ahead log too
    con.execute("PRAGMA secure_delete=OFF")


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


class PostgresLimiter(_SharedLimiter):
    """Limits shared by every replica on one database; like the SQLite store, it lets requests through
    (and logs) when the database cannot be used."""

    _STORE_ERRORS = (WegwijzerError,)

    def __init__(self, url: str, salt: Callable[[], str] | None = None) -> None:
        from assistant.stores.pg import database

        super().__init__(salt or (lambda: database_salt(url)))
        self.db = database(url)
        self._ready = False

    def _check(self, key: str, params: dict[str, object], now: float) -> tuple[float | None] | None:
        if not self._ready:
            self.db.migrate("ratelimit", _PG_MIGRATIONS)
            self._ready = True
        if self.db.rows(_PG_HIT, params):
            if self._due_for_pruning(now):
                self.db.execute("DELETE FROM wegwijzer.ratelimit WHERE tat < %s", (now,))
            return None
        rows = self.db.rows("SELECT tat FROM wegwijzer.ratelimit WHERE key = %s", (key,))
        return (rows[0][0] if rows else None,)

    def close(self) -> None:
        """Connections belong to the process's pool."""


def open_limiter(settings: Settings) -> SQLiteLimiter | PostgresLimiter:
    """The limiter shared by every process that serves these settings."""
    db = open_stores(settings).database
    if db is not None:
        return PostgresLimiter(db.url)
    return SQLiteLimiter(settings.ratelimit_db)
