"""The PostgreSQL database layer: one connection pool per process and URL, the schema migrations, advisory
locks, connect and statement timeouts, and errors in Dutch. The only place that talks to the driver
(psycopg, psycopg_pool, pgvector's adapters); the index (``assistant.index.postgres``) and every state
store use :class:`Database` for their connections and migrations.

Everything lives in the schema ``wegwijzer``::

    wegwijzer.migrations        (component, version): the schema version of each owner, applied in order
    wegwijzer.meta              small documents by key: the last ingest report, the feedback salt
    wegwijzer.versions, .state  the index's versions and the published one (owned by the index, created here
                                with ``meta`` as the "core" component, as every release since 1 did)
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from assistant.errors import DatabaseError, DatabaseUnavailableError
from assistant.messages import t

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA = "wegwijzer"
MIN_SERVER = 150000  # PostgreSQL 15

# Advisory locks: (LOCK_SPACE, what). Session locks die with their connection, so a killed holder frees them.
LOCK_SPACE = 0x5767  # "Wg"
LOCK_MIGRATE, LOCK_INGEST, LOCK_RUNNER, LOCK_WATCH = 0, 1, 2, 3

HNSW_EF_SEARCH = 400  # per connection, for index versions written with HNSW (before IVFFlat)
POOL_SIZE = 10
CONNECT_TIMEOUT_S = 5  # dedicated connections (ingest, locks, migrations)
# A request's budget when the database is gone: libpq's shortest connect timeout (2 s) for the pool's
# connections, and at most POOL_WAIT_S waiting for one, so a question gets its Dutch 503 within about 2 s
# instead of hanging (issue 20). A healthy pool hands out a connection in microseconds.
POOL_CONNECT_TIMEOUT_S = 2
POOL_WAIT_S = 1.5
# Once the database was found unreachable, later calls wait only this long for a pooled connection for a
# while: a question touches the database several times (rate limit, retrieval, question log), and each
# must not cost the full wait again. The pool reconnects in the background; a connection it has is taken.
POOL_WAIT_DOWN_S = 0.25
DOWN_MEMORY_S = 5.0
PROBE_EVERY_S = 0.5  # while the pool has no connection: how often a direct connection checks for the server
STATEMENT_TIMEOUT_MS = 30_000  # pooled connections: no statement of a request may hang a worker for longer

_CORE_MIGRATIONS = (
    # 1: the version registry and the pointer to the published one
    f"""
    CREATE TABLE {SCHEMA}.versions (
        id text PRIMARY KEY,
        schema_name text NOT NULL UNIQUE,
        created_at double precision NOT NULL,
        passage_count integer NOT NULL,
        manifest jsonb NOT NULL,
        published_at timestamptz
    );
    CREATE TABLE {SCHEMA}.state (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        current text REFERENCES {SCHEMA}.versions (id),
        changed_at timestamptz
    );
    INSERT INTO {SCHEMA}.state (singleton) VALUES (true);
    CREATE TABLE {SCHEMA}.meta (
        key text PRIMARY KEY,
        value jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    """,
)



# ---------------------------------------------------------------- the database and its connections


def redact(url: str) -> str:
    """The URL without its password, for people and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://…"
    netloc = parts.netloc
    if "@" in netloc:
        auth, host = netloc.rsplit("@", 1)
        user = auth.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Raw:
    """Bytes already in PostgreSQL's binary format for one value (bulk COPY without per-value objects)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class RawVector(Raw):
    pass


class RawHalfVector(Raw):
    pass


class RawSparse(Raw):
    pass


_TEXT_DUMPERS: list[type] = []


def _register_text(conn: Any) -> None:
    """Every string sent is made storable first (``stores.text``): PostgreSQL refuses NUL in text and cannot
    take lone surrogates, where SQLite stores both; without this a question or comment holding one was a 500."""
    if not _TEXT_DUMPERS:
        from psycopg.types.string import StrBinaryDumper, StrDumper, StrDumperUnknown

        from assistant.stores.text import storable

        # in psycopg's own order: the last text dumper registered for str (to the unknown oid) is the default
        for base in (StrDumper, StrBinaryDumper, StrDumperUnknown):
            class Storable(base):  # type: ignore[valid-type,misc]
                def dump(self, obj: str) -> Any:
                    if "\x00" in obj:
                        obj = obj.replace("\x00", "")
                    try:  # encoded once in the common case; only a lone surrogate takes the slow path
                        return super().dump(obj)
                    except UnicodeEncodeError:
                        return super().dump(storable(obj))

            _TEXT_DUMPERS.append(Storable)
    for dumper in _TEXT_DUMPERS:
        conn.adapters.register_dumper(str, dumper)
    from psycopg.types.json import set_json_dumps

    set_json_dumps(_json_dumps, conn)  # jsonb refuses \u0000 and lone surrogates as well


def _storable_json(value: Any) -> Any:
    from assistant.stores.text import storable

    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(k) if isinstance(k, str) else k: _storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable_json(v) for v in value]
    return value


def _json_dumps(value: Any) -> str:
    return json.dumps(_storable_json(value))


def _configure(conn: Any) -> None:
    """Per connection: storable text, vector types (numpy in, numpy out), search settings, no JIT (it costs
    more than it saves)."""
    import psycopg
    from pgvector.psycopg import register_vector
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format
    from psycopg.types import TypeInfo

    _register_text(conn)
    register_vector(conn)
    for name, raw, dtype in (("vector", RawVector, ">f4"), ("halfvec", RawHalfVector, ">f2"),
                             ("sparsevec", RawSparse, None)):
        info = TypeInfo.fetch(conn, name)
        if info is None:
            continue

        class RawDumper(Dumper):
            format = Format.BINARY
            oid = info.oid

            def dump(self, obj: Any) -> bytes:
                return obj.data  # type: ignore[no-any-return]

        conn.adapters.register_dumper(raw, RawDumper)
        if dtype is not None:
            class NumpyLoader(Loader):
                format = Format.BINARY
                _dtype = dtype

                def load(self, data: Any) -> np.ndarray:
                    return np.frombuffer(data, dtype=self._dtype, offset=4).astype(np.float32)

            conn.adapters.register_loader(info.oid, NumpyLoader)
    conn.execute(f"SET hnsw.ef_search = {HNSW_EF_SEARCH}")  # versions written before IVFFlat
    conn.execute("SET jit = off")
    conn.commit()
    # Probed lists holding fewer than k rows (a skewed list): scan on rather than return fewer. A safety net
    # only (sqrt(lists) probes hold ~sqrt(lists) * 1000 rows against k = 100), and pgvector before 0.8 has
    # no such setting: without it the probes alone answer.
    try:
        conn.execute("SET ivfflat.iterative_scan = relaxed_order")
        conn.commit()
    except psycopg.Error:
        conn.rollback()


class Database:
    """One database (by URL) in this process: a small connection pool, the schema migrations, and errors in
    Dutch. Feedback, rate limits and jobs use it too; it is the only place that talks to the driver."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        if not re.match(r"^postgres(ql)?://", url or ""):
            raise DatabaseError(t("db.bad_url", url=redact(url)))
        self.url = url
        self.where = redact(url)
        self._pool_size = pool_size
        self._pool: Any = None
        self._lock = threading.Lock()
        self._migrated: set[str] = set()
        self._down_until = 0.0  # monotonic time until which the database counts as just found unreachable
        self._next_probe = 0.0

    def describe(self) -> str:
        return self.where

    # ------------------------------------------------------------ connections

    def connect(self, autocommit: bool = True, timeout: int = CONNECT_TIMEOUT_S) -> Any:
        """A dedicated connection (locks held for a long time, bulk writes); the caller closes it."""
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=autocommit, connect_timeout=timeout,
                                   application_name="wegwijzer")
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(t("db.unreachable", where=self.where, reason=_reason(exc))) from exc
        try:
            self._check_server(conn)
            self.migrate("core", _CORE_MIGRATIONS, conn)
            _configure(conn)
            conn.autocommit = autocommit
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_server(self, conn: Any) -> None:
        version = conn.info.server_version
        if version < MIN_SERVER:
            raise DatabaseError(t("db.too_old", where=self.where, found=f"{version // 10000}.{version % 10000}"))

    def _open_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                # a clear Dutch error now, rather than a pool timeout later
                first = self.connect(timeout=POOL_CONNECT_TIMEOUT_S)
                first.close()
                self._pool = ConnectionPool(
                    self.url, min_size=1, max_size=self._pool_size, open=True, configure=_configure,
                    timeout=POOL_WAIT_S, name="wegwijzer",
                    kwargs={"connect_timeout": POOL_CONNECT_TIMEOUT_S, "application_name": "wegwijzer",
                            "autocommit": True, "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"})
            return self._pool

    def run(self, work: Callable[[Any], T], retry: bool = True) -> T:
        """``work(connection)`` on a pooled autocommit connection (``with conn.transaction():`` where several
        statements must hold together); a connection the server dropped is retried once."""
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = None
        with self._errors():
            try:
                pool = self._pool or self._open_pool()
                with pool.connection(timeout=self._wait()) as conn:
                    result = work(conn)
                self._down_until = 0.0
                return result
            except psycopg.errors.QueryCanceled as exc:  # the statement timeout: the server is there
                raise DatabaseError(t("db.failed", reason=_reason(exc))) from exc
            except (psycopg.OperationalError, PoolTimeout) as exc:
                if retry and not isinstance(exc, PoolTimeout):
                    return self.run(work, retry=False)  # a server restart closes idle connections; one new try
                replaced = pool is not None and self._pool is not pool  # another caller's probe found the server
                if isinstance(exc, PoolTimeout) and (replaced or self._server_is_back()):
                    return self.run(work, retry=False)  # on a fresh pool
                raise self._unavailable(exc) from exc

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """What every use of the database turns errors into: unreachable is remembered (the next callers wait
        less), anything else psycopg raises is a DatabaseError with its reason in Dutch."""
        import psycopg

        try:
            yield
        except DatabaseUnavailableError:
            self._down_until = time.monotonic() + DOWN_MEMORY_S
            raise
        except psycopg.Error as exc:
            raise DatabaseError(t("db.failed", reason=_reason(exc))) from exc

    def _server_is_back(self) -> bool:
        """After the pool found no connection: whether a direct connection works now (one probe per
        PROBE_EVERY_S; a caller that finds the last one too recent waits for the next slot instead of trusting
        it: the follow thread's failed probe may be from just before the server came back). If it does, the
        server came back while the pool waits out its reconnect backoff (which doubles up to minutes): the
        pool is replaced, so service resumes at once instead of after the backoff."""
        import psycopg

        now = time.monotonic()
        if now < self._next_probe:
            time.sleep(self._next_probe - now)
        self._next_probe = time.monotonic() + PROBE_EVERY_S
        try:
            psycopg.connect(self.url, connect_timeout=POOL_CONNECT_TIMEOUT_S, application_name="wegwijzer").close()
        except psycopg.Error:
            return False
        with self._lock:
            old, self._pool = self._pool, None
        if old is not None:  # connections still lent out close when they come back; don't wait for them here
            threading.Thread(target=old.close, name="wegwijzer-old-pool", daemon=True).start()
        self._down_until = 0.0
        log.info("database %s is reachable again: new connection pool", self.where)
        return True

    def _wait(self) -> float:
        return POOL_WAIT_DOWN_S if time.monotonic() < self._down_until else POOL_WAIT_S

    def _unavailable(self, exc: BaseException) -> DatabaseUnavailableError:
        self._down_until = time.monotonic() + DOWN_MEMORY_S
        return DatabaseUnavailableError(t("db.unreachable", where=self.where, reason=_reason(exc)))

    def check(self) -> None:
        """Raise DatabaseUnavailableError unless the server answers now (readiness: ``/readyz``)."""
        self.run(lambda conn: conn.execute("SELECT 1").fetchone(), retry=True)

    def rows(self, sql: Any, params: Any = None, binary: bool = False) -> list[tuple[Any, ...]]:
        return self.run(lambda conn: conn.execute(sql, params, binary=binary).fetchall())

    def execute(self, sql: Any, params: Any = None) -> int:
        """One statement in its own transaction; returns the row count."""
        return self.run(lambda conn: conn.execute(sql, params).rowcount)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A pooled connection inside one transaction (committed on success, rolled back on error)."""
        import psycopg
        from psycopg_pool import PoolTimeout

        with self._errors():
            try:
                pool = self._pool or self._open_pool()
                with pool.connection(timeout=self._wait()) as conn, conn.transaction():
                    yield conn
            except (psycopg.OperationalError, PoolTimeout) as exc:
                raise self._unavailable(exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    # ------------------------------------------------------------ schema

    def migrate(self, component: str, steps: Sequence[str | Callable[[Any], None]], conn: Any | None = None) -> None:
        """Bring ``component``'s tables to ``len(steps)``: each step (SQL, or a function of the connection) once,
        in order, under a lock, recorded in ``wegwijzer.migrations`` (idempotent; ``stores.migrations``)."""
        if component in self._migrated:
            return
        if conn is None:
            own = self.connect()
            try:
                self.migrate(component, steps, own)
            finally:
                own.close()
            return
        import psycopg

        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, LOCK_MIGRATE))
                if component == "core":
                    self._ensure_vector(conn)
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
                conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.migrations (component text PRIMARY KEY, "
                             "version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
                row = conn.execute(f"SELECT version FROM {SCHEMA}.migrations WHERE component = %s",
                                   (component,)).fetchone()
                done = row[0] if row else 0
                if done > len(steps):
                    raise DatabaseError(t("db.schema_newer", where=self.where, component=component, found=done,
                                          expected=len(steps)))
                for step in steps[done:]:
                    if callable(step):
                        step(conn)
                    else:
                        conn.execute(step)
                if done < len(steps):
                    conn.execute(f"INSERT INTO {SCHEMA}.migrations (component, version) VALUES (%s, %s) "
                                 "ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = now()",
                                 (component, len(steps)))
                    log.info("database %s: %s schema now at version %d", self.where, component, len(steps))
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(t("db.unreachable", where=self.where, reason=_reason(exc))) from exc
        except psycopg.Error as exc:
            raise DatabaseError(t("db.failed", reason=_reason(exc))) from exc
        self._migrated.add(component)

    def _ensure_vector(self, conn: Any) -> None:
        import psycopg

        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
            return
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as exc:
            raise DatabaseError(t("db.no_pgvector", where=self.where, reason=_reason(exc))) from exc

    # ------------------------------------------------------------ advisory locks

    def try_lock(self, what: int, timeout: float = 0.0) -> HeldLock | None:
        """Session lock ``what`` on a dedicated connection, or None when another session holds it.

        The server releases it when the connection ends, also when the holder is killed.
        """
        import psycopg

        conn = self.connect()
        deadline = time.monotonic() + timeout
        try:
            while True:
                if conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, what)).fetchone()[0]:
                    return HeldLock(conn)
                if time.monotonic() >= deadline:
                    conn.close()
                    return None
                time.sleep(0.2)
        except psycopg.Error as exc:
            conn.close()
            raise DatabaseUnavailableError(t("db.unreachable", where=self.where, reason=_reason(exc))) from exc
        except BaseException:
            conn.close()
            raise

    def lock_held(self, what: int) -> bool:
        """Whether any session holds lock ``what`` now."""
        rows = self.rows("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s "
                         "AND objsubid = 2 AND granted", (LOCK_SPACE, what))
        return bool(rows)

    # ------------------------------------------------------------ small documents

    @staticmethod
    def jsonb(value: Any) -> Any:
        """``value`` as a jsonb parameter."""
        from psycopg.types.json import Jsonb

        return Jsonb(value)

    def get_meta(self, key: str) -> Any:
        rows = self.rows(f"SELECT value FROM {SCHEMA}.meta WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: Any) -> None:
        from psycopg.types.json import Jsonb

        self.execute(f"INSERT INTO {SCHEMA}.meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                     "SET value = excluded.value, updated_at = now()", (key, Jsonb(value)))

    def add_meta(self, key: str, value: Any) -> Any:
        """Store ``value`` under ``key`` unless one is there already; returns the stored one (a race's winner)."""
        from psycopg.types.json import Jsonb

        self.execute(f"INSERT INTO {SCHEMA}.meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                     (key, Jsonb(value)))
        return self.get_meta(key)


class HeldLock:
    """An advisory lock held by its own database session."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()  # ending the session releases its locks
            finally:
                self._conn = None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


_DATABASES: dict[tuple[str, int], Database] = {}
_DATABASES_LOCK = threading.Lock()


def database(url: str) -> Database:
    """The process's Database for ``url`` (one pool per process; a forked child makes its own)."""
    key = (url, os.getpid())
    with _DATABASES_LOCK:
        db = _DATABASES.get(key)
        if db is None:
            db = _DATABASES[key] = Database(url)
        return db


