"""The PostgreSQL backend: index versions in one database, with pgvector. The only importer of psycopg and pgvector.

Selected by ``WEGWIJZER_DATABASE_URL=postgresql://…`` (see ``open_store``). Several serving replicas with
empty data directories share one database: the published version, the ingest lock and the last ingest
report live here, and so do feedback, the question log, rate limits and re-index jobs (their owners use
:class:`Database` for connections and migrations; nobody else imports the driver).

Layout::

    wegwijzer.migrations        (component, version): the schema version of each owner, applied in order
    wegwijzer.versions          one row per complete version: id, its schema, the typed Manifest as jsonb
    wegwijzer.state             the single row that says which version is ``current``
    wegwijzer.meta              small documents by key: the last ingest report, the feedback salt
    wv_<version id>.passages    passages: source, page, section, span, text, analysed terms
    wv_<version id>.vectors     their float32 vectors (IVFFlat index from VECTOR_INDEX_THRESHOLD passages)
    wv_<version id>.lexical     per passage its BM25 weights as a pgvector sparsevec (term id -> weight)
    wv_<version id>.terms       per analysed term: id, df, the largest weight, and its posting list
    wv_<version id>.words       the corpus words the query analyser may split compounds into
    wv_<version id>.sentences   sentences with their float16 vector (halfvec), as the file backend stores them
    wv_<version id>.pages       page texts for the document view

A version is written in ONE transaction (PostgreSQL's DDL is transactional): an ingest that dies
halfway leaves nothing behind, and a version exists only once it is complete. Publishing is one UPDATE
of ``wegwijzer.state``. Old versions are dropped schema and all.

Lexical search is BM25 with exactly the numbers of the file backend (``lexical.bm25_matrix``, the
project's analyser). PostgreSQL's own ``ts_rank_cd`` took 410-874 ms per query at 100k passages, and an
``ORDER BY weights <#> q`` scan over the sparse vectors reads every row (docs/benchmarks.md). Instead the
top k are found with MaxScore over per-term posting lists (rarest terms first, stop once no unseen
passage can reach the k-th score), and the few passages whose score is still open are scored exactly
with the sparsevec inner product. The result is exact, not approximate.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from assistant.errors import DatabaseError, IndexFormatError, IndexNotFoundError, IngestBusyError
from assistant.index.lexical import Analyser, bm25_matrix, idf, lexical_text, vocabulary_of
from assistant.index.model import FORMAT_VERSION, Manifest
from assistant.index.protocol import PASSAGE_COLUMNS as _PASSAGE_COLUMNS
from assistant.index.protocol import SENTENCE_COLUMNS as _SENTENCE_COLUMNS
from assistant.index.protocol import ManifestReader, SentenceRecord, VersionContent
from assistant.index.protocol import passage_from_row as _passage
from assistant.index.protocol import sentence_from_row as _sentence
from assistant.messages import t
from assistant.text.analysis import analyzer_config
from assistant.types import Page, Passage

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA = "wegwijzer"
VERSION_PREFIX = "wv_"
MIN_SERVER = 150000  # PostgreSQL 15

# Advisory locks: (LOCK_SPACE, what). Session locks die with their connection, so a killed holder frees them.
LOCK_SPACE = 0x5767  # "Wg"
LOCK_MIGRATE, LOCK_INGEST, LOCK_RUNNER, LOCK_WATCH = 0, 1, 2, 3

# Exact search scans every vector: ~0.5 ms per 1,000 in pgvector (about 4x FAISS's flat scan; 2.7 ms p50 at
# 5k on a busy 2-core machine, bench/scale.py), so past 10k it would eat the answer's budget. From there an
# IVFFlat index answers, sized by pgvector's own guidance: rows / 1000 lists up to 1M rows, sqrt(rows) beyond,
# and sqrt(lists) probes. Why IVFFlat rather than HNSW, measured at 1M synthetic passages (bench/scale.py,
# bench/pg_vector_index.py, docs/benchmarks.md):
# * HNSW's recall stopped rising with ef_search: m 32 / ef_construction 80 gave dense recall@10 0.951 at
#   ef_search 256, 0.965 at 400 and 0.972 at 1000 (the most pgvector allows), m 48 / 128 0.977; hybrid
#   recall@10 stayed at 0.934, under the 0.95 the scale goal asks. IVFFlat scans whole lists exactly, so its
#   recall is the probes' to set: 0.99 at 2 of 1000 probes, 1.000 from 5.
# * A version is written once and never changed, so IVFFlat's known weakness (lists that go stale as rows
#   are added after the build) does not arise; its build took 31 s at 1M against 688 s for HNSW m 48.
# * Its cost: query time grows with rows (about sqrt(rows) * 1000 vectors scanned per question).
# Versions written with an HNSW index (before this change) are still read, with HNSW_EF_SEARCH.
VECTOR_INDEX_THRESHOLD = 10_000
IVF_ROWS_PER_LIST = 1_000
HNSW_EF_SEARCH = 400
POOL_SIZE = 10
CONNECT_TIMEOUT_S = 5
RESCORE_LIMIT = 500  # MaxScore fetches another posting list rather than rescore more passages than this
FIRST_POSTINGS = 50_000  # posting entries fetched in the first round trip (the rarest terms)
SHORT_LIST = 5_000  # posting lists this short come with the term's statistics
POSTING_CACHE_BYTES = 64 * 1024 * 1024  # per process and version: the hot terms' lists stay in memory
CACHED_APPLY = 200_000  # a cached posting list this short is applied rather than its passages rescored
# Work bound for one lexical search at scale. Posting entries applied per question: past this, the remaining
# (long, low-weight) lists of very common terms are not fetched; the RESCORE_CAP passages with the best partial
# score are rescored exactly instead. Below the budget the search is exact (the shipped corpus has 55 passages
# and ~10k postings in all); at 1M synthetic passages a question's common terms hold 2-8 MB of postings each,
# which cost 10-70 ms apiece to fetch (bench/scale.py, docs/benchmarks.md).
POSTINGS_BUDGET = 400_000
RESCORE_CAP = 1_000


def ivf_lists(rows: int) -> int:
    """pgvector's guidance for an IVFFlat index: rows / 1000 lists up to 1M rows, sqrt(rows) beyond."""
    return max(1, rows // IVF_ROWS_PER_LIST if rows <= 1_000_000 else math.isqrt(rows))


def ivf_build_kb(rows: int, dim: int) -> int:
    """maintenance_work_mem (kB) an IVFFlat build needs. pgvector samples 50 rows per list (at least 10,000)
    for its k-means and refuses to start when the samples and the k-means bounds (a float per sample and
    list) do not fit: about 285 MB at 1M passages of 384 dimensions, far over PostgreSQL's default 64 MB.
    Estimated from those sizes (pgvector's ivfbuild.c / ivfkmeans.c), with a margin."""
    lists = ivf_lists(rows)
    samples = max(50 * lists, 10_000)
    vector = 4 * dim + 8
    total = (samples + 3 * lists) * vector + 4 * samples * (lists + 2) + 4 * lists * (lists + 4)
    return int(total * 1.25 / 1024) + 1024


def ivf_probes(lists: int) -> int:
    """Lists scanned per question: sqrt(lists), pgvector's starting point (32 at 1M passages, about 6x the 5
    that reach recall 1.000 on the synthetic 1M version)."""
    return max(1, math.ceil(math.sqrt(lists)))


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


class _Raw:
    """Bytes already in PostgreSQL's binary format for one value (bulk COPY without per-value objects)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class _RawVector(_Raw):
    pass


class _RawHalfVector(_Raw):
    pass


class _RawSparse(_Raw):
    pass


def _vector_rows(matrix: np.ndarray, dtype: str, block: int = 8192) -> Iterator[bytes]:
    """pgvector's binary form of each row: int16 dim, int16 0, then big-endian floats (made a block at a time)."""
    n, dim = matrix.shape
    width = 2 if dtype == "f2" else 4
    head = np.frombuffer(np.array([dim, 0], dtype=">u2").tobytes(), dtype=np.uint8)
    for i in range(0, n, block):
        part = matrix[i:i + block]
        out = np.empty((len(part), 4 + width * dim), dtype=np.uint8)
        out[:, :4] = head
        out[:, 4:] = np.ascontiguousarray(part, dtype=f">{dtype}").view(np.uint8).reshape(len(part), width * dim)
        yield from (row.tobytes() for row in out)


def _sparse_bytes(dim: int, indices: np.ndarray, values: np.ndarray) -> bytes:
    """pgvector's binary sparsevec: int32 dim, int32 nnz, int32 0, indices, float32 values (big-endian)."""
    head = np.array([dim, len(indices), 0], dtype=">i4").tobytes()
    return head + indices.astype(">i4").tobytes() + values.astype(">f4").tobytes()


def _configure(conn: Any) -> None:
    """Per connection: vector types (numpy in, numpy out), search settings, no JIT (it costs more than it saves)."""
    import psycopg
    from pgvector.psycopg import register_vector
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format
    from psycopg.types import TypeInfo

    register_vector(conn)
    for name, raw, dtype in (("vector", _RawVector, ">f4"), ("halfvec", _RawHalfVector, ">f2"),
                             ("sparsevec", _RawSparse, None)):
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

    def describe(self) -> str:
        return self.where

    # ------------------------------------------------------------ connections

    def connect(self, autocommit: bool = True) -> Any:
        """A dedicated connection (locks held for a long time, bulk writes); the caller closes it."""
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S,
                                   application_name="wegwijzer")
        except psycopg.OperationalError as exc:
            raise DatabaseError(t("db.unreachable", where=self.where, reason=_reason(exc))) from exc
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

                first = self.connect()  # a clear Dutch error now, rather than a pool timeout later
                first.close()
                self._pool = ConnectionPool(
                    self.url, min_size=1, max_size=self._pool_size, open=True, configure=_configure,
                    timeout=CONNECT_TIMEOUT_S * 2, name="wegwijzer",
                    kwargs={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "wegwijzer",
                            "autocommit": True})
            return self._pool

    def run(self, work: Callable[[Any], T], retry: bool = True) -> T:
        """``work(connection)`` on a pooled autocommit connection (``with conn.transaction():`` where several
        statements must hold together); a connection the server dropped is retried once."""
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = self._pool or self._open_pool()
        try:
            with pool.connection() as conn:
                return work(conn)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            if retry and not isinstance(exc, PoolTimeout):
                return self.run(work, retry=False)  # a server restart closes idle connections; one new try
            raise DatabaseError(t("db.unreachable", where=self.where, reason=_reason(exc))) from exc
        except psycopg.Error as exc:
            raise DatabaseError(t("db.failed", reason=_reason(exc))) from exc

    def rows(self, sql: Any, params: Any = None, binary: bool = False) -> list[tuple[Any, ...]]:
        return self.run(lambda conn: conn.execute(sql, params, binary=binary).fetchall())

    def execute(self, sql: Any, params: Any = None) -> int:
        """One statement in its own transaction; returns the row count."""
        return self.run(lambda conn: conn.execute(sql, params).rowcount)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A pooled connection inside one transaction (committed on success, rolled back on error)."""
        import psycopg

        pool = self._pool or self._open_pool()
        try:
            with pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.OperationalError as exc:
            raise DatabaseError(t("db.unreachable", where=self.where, reason=_reason(exc))) from exc
        except psycopg.Error as exc:
            raise DatabaseError(t("db.failed", reason=_reason(exc))) from exc

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    # ------------------------------------------------------------ schema

    def migrate(self, component: str, steps: Sequence[str], conn: Any | None = None) -> None:
        """Bring ``component``'s tables to ``len(steps)``: each step once, in order, under a lock (idempotent)."""
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
                    conn.execute(step)
                if done < len(steps):
                    conn.execute(f"INSERT INTO {SCHEMA}.migrations (component, version) VALUES (%s, %s) "
                                 "ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = now()",
                                 (component, len(steps)))
                    log.info("database %s: %s schema now at version %d", self.where, component, len(steps))
        except psycopg.OperationalError as exc:
            raise DatabaseError(t("db.unreachable", where=self.where, reason=_reason(exc))) from exc
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
            raise DatabaseError(t("db.unreachable", where=self.where, reason=_reason(exc))) from exc
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


# ---------------------------------------------------------------- reading one version


def _schema_of(version_id: str) -> str:
    return VERSION_PREFIX + re.sub(r"[^a-z0-9]", "_", version_id.lower())


def _ident(schema: str) -> Any:
    from psycopg import sql

    return sql.Identifier(schema)


@dataclass(frozen=True)
class _Term:
    term: str
    id: int
    df: int
    max_weight: float


_side: ThreadPoolExecutor | None = None
_side_lock = threading.Lock()


def _side_pool() -> ThreadPoolExecutor:
    """Threads that run a question's dense search while its own thread runs the lexical one."""
    global _side
    with _side_lock:
        if _side is None:
            _side = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="wegwijzer-dense")
        return _side


class PostgresIndexReader(ManifestReader):
    """One version in the database, opened for reading. Thread-safe: every call takes a pooled connection."""

    def __init__(self, db: Database, manifest: Manifest, schema: str, vocabulary_size: int,
                 probes: int = 0) -> None:
        """``probes``: IVFFlat lists to scan per question (0: the version has no IVFFlat index)."""
        from psycopg import sql

        self._db = db
        self._manifest = manifest
        self._schema = schema
        self._dim = vocabulary_size
        self._probes = probes
        s = _ident(schema)
        self._sql = {name: sql.SQL(text).format(s=s) for name, text in {
            "dense": "SELECT id, (embedding <#> %s) * -1 FROM {s}.vectors ORDER BY embedding <#> %s LIMIT %s",
            "vectors": "SELECT id, embedding FROM {s}.vectors WHERE id = ANY(%s)",
            # the cosines only: 8 bytes a passage over the wire instead of the vector's 1.5 kB
            "cosines": "SELECT id, (embedding <#> %s) * -1 FROM {s}.vectors WHERE id = ANY(%s)",
            # short posting lists come along (a question's rare terms: no second round trip for them)
            "terms": "SELECT term, id, df, max_weight, CASE WHEN df <= %s THEN ids END, "
                     "CASE WHEN df <= %s THEN weights END FROM {s}.terms WHERE term = ANY(%s)",
            "postings": "SELECT id, ids, weights FROM {s}.terms WHERE id = ANY(%s)",
            "rescore": "SELECT id, (weights <#> %s) * -1 FROM {s}.lexical WHERE id = ANY(%s)",
            "passages": f"SELECT {_PASSAGE_COLUMNS}, terms FROM {{s}}.passages WHERE id = ANY(%s)",
            "passage_terms": "SELECT id, terms FROM {s}.passages WHERE id = ANY(%s)",
            "sentences": f"SELECT {_SENTENCE_COLUMNS} FROM {{s}}.sentences WHERE passage_id = ANY(%s) ORDER BY id",
            "sentence_vectors": "SELECT id, embedding FROM {s}.sentences WHERE id = ANY(%s)",
            "pages": "SELECT source, page, text, ocr FROM {s}.pages WHERE source = %s ORDER BY seq",
            "document": f"SELECT {_PASSAGE_COLUMNS} FROM {{s}}.passages WHERE source = %s ORDER BY id",
            "words": "SELECT word FROM {s}.words",
        }.items()}
        self._terms: dict[str, _Term | None] = {}
        self._terms_lock = threading.Lock()
        self._analyser: Analyser | None = None
        self._analyser_lock = threading.Lock()
        self._local = threading.local()
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_bytes = 0
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------ basics

    def close(self) -> None:
        """Nothing to release: connections belong to the process's pool."""

    # ------------------------------------------------------------ dense

    def dense_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        from pgvector import Vector

        n = self.passage_count
        if n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = Vector(np.asarray(query, dtype=np.float32))
        k = min(k, n)

        # A setting for this query only: the version's own IVFFlat probes (the session's setting is shared by
        # all versions), or, for a version with HNSW, an ef_search of at least k (a scan returns at most that).
        setting = ("ivfflat.probes", self._probes) if self._probes else \
            ("hnsw.ef_search", k) if k > HNSW_EF_SEARCH else None

        def work(conn: Any) -> list[tuple[Any, ...]]:
            if setting is None:
                return conn.execute(self._sql["dense"], (q, q, k)).fetchall()  # type: ignore[no-any-return]
            with conn.transaction():
                conn.execute("SELECT set_config(%s, %s, true)", (setting[0], str(setting[1])))
                return conn.execute(self._sql["dense"], (q, q, k)).fetchall()  # type: ignore[no-any-return]

        rows = sorted(self._db.run(work), key=lambda r: -r[1])  # an iterative scan's order is relaxed
        return (np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], dtype=np.float32))

    def search_both(self, query: np.ndarray, terms: Sequence[str], k: int,
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Side by side: each is a round trip to the server, which works on them in two backends at once
        (a question waits for the slower one instead of both; at 1M passages each takes 10-25 ms)."""
        dense = _side_pool().submit(self.dense_search, query, k)
        lexical = self.lexical_search(terms, k)
        return dense.result(), lexical

    def passage_vectors(self, ids: Sequence[int]) -> np.ndarray:
        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros((0, self._manifest.model.dim), dtype=np.float32)
        by_id = dict(self._db.rows(self._sql["vectors"], (ids,), binary=True))
        return np.vstack([by_id[i] for i in ids]).astype(np.float32)

    def dense_scores(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        from pgvector import Vector

        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros(0, dtype=np.float32)
        by_id = dict(self._db.rows(self._sql["cosines"], (Vector(np.asarray(query, dtype=np.float32)), ids)))
        return np.array([by_id[i] for i in ids], dtype=np.float32)

    # ------------------------------------------------------------ lexical

    def analyser(self) -> Analyser:
        if self._analyser is None:
            with self._analyser_lock:
                if self._analyser is None:
                    words = [r[0] for r in self._db.rows(self._sql["words"])]
                    self._analyser = Analyser(self._manifest.analyzer, words)
        return self._analyser

    def query_terms(self, question: str) -> list[str]:
        return self.analyser().query_terms(question)

    def _term_info(self, terms: Sequence[str]) -> list[_Term]:
        """Known terms (unknown ones left out), deduplicated, in the order given; cached per version."""
        wanted = [term for term in dict.fromkeys(terms) if term]
        missing = [term for term in wanted if term not in self._terms]
        if missing:
            rows = self._db.rows(self._sql["terms"], (SHORT_LIST, SHORT_LIST, missing), binary=True)
            found = {r[0]: _Term(r[0], r[1], r[2], float(r[3])) for r in rows}
            self._remember({int(r[1]): (np.frombuffer(r[4], dtype="<i4"), np.frombuffer(r[5], dtype="<f4"))
                            for r in rows if r[4] is not None})
            with self._terms_lock:
                if len(self._terms) > 100_000:
                    self._terms.clear()
                for term in missing:
                    self._terms[term] = found.get(term)
        return [info for info in (self._terms.get(term) for term in wanted) if info is not None]

    def _query_vector(self, infos: Sequence[_Term]) -> Any:
        idx = np.array(sorted({i.id for i in infos}), dtype=np.int64)
        return _RawSparse(_sparse_bytes(self._dim, idx, np.ones(len(idx), dtype=np.float32)))

    def _rescore(self, infos: Sequence[_Term], ids: Sequence[int]) -> dict[int, float]:
        if not infos or not len(ids):
            return {}
        rows = self._db.rows(self._sql["rescore"], (self._query_vector(infos), [int(i) for i in ids]), binary=True)
        return {int(r[0]): float(r[1]) for r in rows}

    def _postings(self, terms: Sequence[_Term]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Posting lists (passage ids, weights) by term id; hot lists come from this process's cache."""
        out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        with self._cache_lock:
            for term in terms:
                hit = self._cache.get(term.id)
                if hit is not None:
                    self._cache.move_to_end(term.id)
                    out[term.id] = hit
        missing = [term.id for term in terms if term.id not in out]
        if missing:
            rows = self._db.rows(self._sql["postings"], (missing,), binary=True)
            fetched = {int(r[0]): (np.frombuffer(r[1], dtype="<i4"), np.frombuffer(r[2], dtype="<f4")) for r in rows}
            out.update(fetched)
            self._remember(fetched)
        return out

    def _cached(self, term_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        with self._cache_lock:
            return self._cache.get(term_id)

    def _remember(self, lists: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
        with self._cache_lock:
            for tid, (ids, weights) in lists.items():
                if tid not in self._cache:
                    self._cache[tid] = (ids, weights)
                    self._cache_bytes += ids.nbytes + weights.nbytes
            while self._cache_bytes > POSTING_CACHE_BYTES and self._cache:
                _, (ids, weights) = self._cache.popitem(last=False)
                self._cache_bytes -= ids.nbytes + weights.nbytes

    def lexical_search(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 top-k by MaxScore: posting lists of the rarest terms, exact rescoring of the open cases.

        Exact while the question's posting lists fit ``POSTINGS_BUDGET``; past it, the lists of the most common
        terms are left out and the ``RESCORE_CAP`` best partial scores are rescored exactly."""
        empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        infos = sorted(self._term_info(terms), key=lambda i: (-i.max_weight, i.df))
        n = self.passage_count
        if not infos or n == 0 or k <= 0:
            return empty
        k = min(k, n)
        acc = np.zeros(n, dtype=np.float32)
        seen = np.zeros(n, dtype=bool)
        remaining = float(sum(i.max_weight for i in infos))
        fetched = applied = 0
        capped = False
        # The short lists together cost one round trip; long lists come one at a time, while they still matter.
        first = 0
        budget = FIRST_POSTINGS
        while first < len(infos) and (first == 0 or infos[first].df <= budget):
            budget -= infos[first].df
            first += 1
        lists = self._postings(infos[:first])
        theta = 0.0
        for info in infos:
            if fetched and info.id not in lists:  # a list in hand costs nothing more; another one may not be needed
                cached = self._cached(info.id)
                if cached is not None and len(cached[0]) <= CACHED_APPLY:
                    lists[info.id] = cached
                    # fall through: applied below like any list in hand
            if fetched and info.id not in lists:
                touched = np.flatnonzero(seen)
                theta = float(np.partition(acc[touched], len(touched) - k)[len(touched) - k]) \
                    if len(touched) >= k else 0.0
                if remaining <= theta and np.count_nonzero(acc[touched] + remaining > theta) <= RESCORE_LIMIT:
                    break  # nobody unseen can reach the k-th score, and few seen ones are still open
                if applied + info.df > POSTINGS_BUDGET:
                    capped = True
                    break  # the rest are lists of common terms: bounded work instead of an exact answer
            ids, weights = lists.pop(info.id) if info.id in lists else self._postings([info])[info.id]
            acc[ids] += weights  # ids are unique within one list
            seen[ids] = True
            remaining -= info.max_weight
            fetched += 1
            applied += len(ids)
        rest = infos[fetched:]
        touched = np.flatnonzero(seen)
        if rest:
            upper = sum(i.max_weight for i in rest)
            open_ = touched[acc[touched] + upper > theta]
            if capped and len(open_) > RESCORE_CAP:
                open_ = open_[np.argpartition(-acc[open_], RESCORE_CAP - 1)[:RESCORE_CAP]]
            exact = self._rescore(infos, open_.tolist())
            ids_arr = np.fromiter(exact.keys(), dtype=np.int64, count=len(exact))
            vals = np.fromiter(exact.values(), dtype=np.float32, count=len(exact))
        else:
            ids_arr, vals = touched.astype(np.int64), acc[touched]
            # every posting list was applied: acc holds the exact score of every passage
            self._local.lexical = (frozenset(i.id for i in infos), acc)
        keep = vals > 0
        ids_arr, vals = ids_arr[keep], vals[keep]
        if len(vals) > k:
            top = np.argpartition(-vals, k - 1)[:k]
            ids_arr, vals = ids_arr[top], vals[top]
        order = np.lexsort((ids_arr, -vals))
        return ids_arr[order], vals[order]

    def lexical_scores(self, terms: Sequence[str], ids: Sequence[int]) -> np.ndarray:
        ids = [int(i) for i in ids]
        infos = self._term_info(terms)
        last = getattr(self._local, "lexical", None)
        if last is not None and last[0] == frozenset(i.id for i in infos):
            # the search for these terms just applied every posting list (retrieval asks for its candidates)
            return last[1][np.asarray(ids, dtype=np.int64)]  # type: ignore[no-any-return]
        exact = self._rescore(infos, ids)
        return np.array([exact.get(i, 0.0) for i in ids], dtype=np.float32)

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        n = self.passage_count
        return {info.term: idf(info.df, n) for info in self._term_info(terms)}

    @property
    def max_idf(self) -> float:
        return idf(1, max(1, self.passage_count))

    # ------------------------------------------------------------ passages and sentences

    def passages(self, ids: Sequence[int]) -> list[Passage]:
        ids = [int(i) for i in ids]
        if not ids:
            return []
        rows = self._db.rows(self._sql["passages"], (ids,))
        by_id = {r[0]: _passage(r) for r in rows}
        # Retrieval asks for the terms of the passages it just read: keep them, saving a round trip.
        self._local.terms = {r[0]: r[9] for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def passage_terms(self, ids: Sequence[int]) -> list[frozenset[str]]:
        ids = [int(i) for i in ids]
        if not ids:
            return []
        known: dict[int, str] = getattr(self._local, "terms", {})
        if not all(i in known for i in ids):
            known = dict(self._db.rows(self._sql["passage_terms"], (ids,)))
        return [frozenset(known[i].split()) if i in known else frozenset() for i in ids]

    def sentences(self, passage_ids: Sequence[int]) -> list[SentenceRecord]:
        ids = [int(i) for i in passage_ids]
        if not ids:
            return []
        order = {pid: i for i, pid in enumerate(ids)}
        rows = self._db.rows(self._sql["sentences"], (ids,))
        return sorted((_sentence(r) for r in rows), key=lambda s: (order[s.passage_id], s.id))

    def sentence_vectors(self, ids: Sequence[int]) -> np.ndarray:
        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros((0, self._manifest.model.dim), dtype=np.float32)
        by_id = dict(self._db.rows(self._sql["sentence_vectors"], (ids,), binary=True))
        return np.vstack([by_id[i] for i in ids]).astype(np.float32)

    def document(self, source: str) -> tuple[list[Page], list[Passage]] | None:
        if self._manifest.document(source) is None:
            return None

        def work(conn: Any) -> tuple[list[Page], list[Passage]]:
            pages = [Page(source=r[0], page=r[1], text=r[2], ocr=bool(r[3]))
                     for r in conn.execute(self._sql["pages"], (source,))]
            passages = [_passage(r) for r in conn.execute(self._sql["document"], (source,))]
            return pages, passages

        return self._db.run(work)


# ---------------------------------------------------------------- the store: versions, publish, lock


class PostgresIngestLock:
    """The one ingest allowed per database: a session advisory lock, freed by the server when its holder dies."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._held: HeldLock | None = None

    def __enter__(self) -> PostgresIngestLock:
        self._held = self._db.try_lock(LOCK_INGEST)
        if self._held is None:
            raise IngestBusyError(t("index.busy_db", where=self._db.where))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._held is not None:
            self._held.release()
            self._held = None


class PostgresIndexStore:
    """Index versions in one PostgreSQL database."""

    def __init__(self, url: str) -> None:
        self.db = database(url)

    def describe(self) -> str:
        return self.db.describe()

    # ------------------------------------------------------------ reading

    def current_version(self) -> str | None:
        rows = self.db.rows(f"SELECT current FROM {SCHEMA}.state")
        return rows[0][0] if rows else None

    def _row(self, version: str) -> tuple[str, dict[str, Any]]:
        rows = self.db.rows(f"SELECT schema_name, manifest FROM {SCHEMA}.versions WHERE id = %s", (version,))
        if not rows:
            raise IndexFormatError(t("index.damaged", reason=f"{version} is not in {self.describe()}"))
        return rows[0][0], rows[0][1]

    def versions(self) -> list[str]:
        """Complete versions, oldest first."""
        return [r[0] for r in self.db.rows(f"SELECT id FROM {SCHEMA}.versions ORDER BY id")]

    def read_manifest(self, version: str) -> Manifest:
        return Manifest.from_dict(self._row(version)[1])

    def open(self, version: str | None = None) -> PostgresIndexReader:
        version = version or self.current_version()
        if version is None:
            raise IndexNotFoundError(t("index.missing") + f" ({self.describe()}; `wegwijzer ingest`)")
        schema, data = self._row(version)
        manifest = Manifest.from_dict(data)
        if manifest.analyzer != analyzer_config(str(manifest.analyzer.get("stemmer", ""))):
            raise IndexFormatError(t("index.format", found=f"{FORMAT_VERSION} ({manifest.analyzer.get('name')})",
                                     expected=FORMAT_VERSION))
        size = int(data.get("lexical_dimensions") or 1)
        probes = 0
        if manifest.vector_index == "ivfflat":  # the lists the index was built with, as the writer recorded them
            probes = ivf_probes(int(data.get("ivf_lists") or ivf_lists(manifest.passage_count)))
        return PostgresIndexReader(self.db, manifest, schema, size, probes)

    # ------------------------------------------------------------ writing

    def write(self, content: VersionContent) -> str:
        from assistant.index.files import new_version_id

        passages, sentences = content.passages, content.sentences
        if len(passages) != len(content.vectors):
            raise ValueError(f"{len(passages)} passages but {len(content.vectors)} vectors")
        if any(p.id != i for i, p in enumerate(passages)):
            raise ValueError("passage ids must be 0..n-1 in vector order")
        if len(sentences) != len(content.sentence_vectors) or any(s.id != i for i, s in enumerate(sentences)):
            raise ValueError("sentence ids must be 0..m-1 in sentence-vector order")
        version_id = content.version_id or new_version_id()
        dim = content.model.dim
        analyzer = dict(content.analyzer)
        texts = [lexical_text(p) for p in passages]
        analyser = Analyser(analyzer, vocabulary_of(texts))
        passage_terms = [analyser.terms(text) for text in texts]
        sentence_terms = [" ".join(dict.fromkeys(analyser.terms(s.text))) for s in sentences]
        lexicon = bm25_matrix(passage_terms)
        manifest = Manifest(
            format_version=FORMAT_VERSION, version_id=version_id, created_at=content.created_at or time.time(),
            model=content.model, chunker=content.chunker, analyzer=analyzer, documents=tuple(content.documents),
            passage_count=len(passages), sentence_count=len(sentences),
            vector_index="ivfflat" if len(passages) >= VECTOR_INDEX_THRESHOLD else "flat",
            report=dict(content.report))
        lists = ivf_lists(len(passages)) if manifest.vector_index == "ivfflat" else 0
        record = {**manifest.to_dict(), "lexical_dimensions": max(1, len(lexicon.vocabulary)), "ivf_lists": lists}
        schema = _schema_of(version_id)
        conn = self.db.connect(autocommit=False)
        try:
            # A killed ingest must not leave its server process building an index for nothing.
            conn.execute("SET client_connection_check_interval = '1s'")
            _write_version(conn, schema, dim, content, passage_terms, sentence_terms, lexicon, analyser)
            if lists:
                # raised for this transaction only, and never lowered below what the server already allows
                need_kb = ivf_build_kb(len(passages), dim)
                conn.execute("SELECT set_config('maintenance_work_mem', %s, true) FROM pg_settings "
                             "WHERE name = 'maintenance_work_mem' AND setting::bigint < %s", (f"{need_kb}kB", need_kb))
                conn.execute(_fmt("CREATE INDEX ON {s}.vectors USING ivfflat (embedding vector_ip_ops) "
                                  f"WITH (lists = {lists})", schema))
            for table in ("passages", "vectors", "lexical", "terms", "sentences"):  # planner statistics
                conn.execute(_fmt(f"ANALYZE {{s}}.{table}", schema))
            from psycopg.types.json import Jsonb

            conn.execute(f"INSERT INTO {SCHEMA}.versions (id, schema_name, created_at, passage_count, manifest) "
                         "VALUES (%s, %s, %s, %s, %s)", (version_id, schema, manifest.created_at, len(passages),
                                                         Jsonb(record)))
            conn.commit()
        except BaseException:
            try:
                conn.rollback()
            except Exception:  # the connection may be gone; the server rolls back by itself then
                pass
            raise
        finally:
            conn.close()
        return version_id

    def publish(self, version_id: str) -> None:
        def work(conn: Any) -> None:
            with conn.transaction():  # the one switch: every reader sees the old version or the new one
                if not conn.execute(f"SELECT 1 FROM {SCHEMA}.versions WHERE id = %s", (version_id,)).fetchone():
                    raise IndexFormatError(f"Cannot publish {version_id}: it is not a complete version.")
                conn.execute(f"UPDATE {SCHEMA}.state SET current = %s, changed_at = now()", (version_id,))
                conn.execute(f"UPDATE {SCHEMA}.versions SET published_at = now() WHERE id = %s", (version_id,))
                conn.execute("SELECT pg_notify('wegwijzer_version', %s)", (version_id,))

        self.db.run(work, retry=False)

    def prune(self, keep: int = 3) -> list[str]:
        """Drop old versions (never the published one) and schemas no version row owns."""
        current = self.current_version()
        versions = self.versions()
        removed = []
        for version in versions[:-keep] if keep else versions:
            if version == current:
                continue

            def drop(conn: Any, version: str = version) -> None:
                with conn.transaction():
                    row = conn.execute(f"SELECT schema_name FROM {SCHEMA}.versions WHERE id = %s FOR UPDATE",
                                       (version,)).fetchone()
                    if row is None:
                        return
                    conn.execute(f"DELETE FROM {SCHEMA}.versions WHERE id = %s", (version,))
                    conn.execute(_fmt("DROP SCHEMA IF EXISTS {s} CASCADE", row[0]))

            self.db.run(drop, retry=False)
            removed.append(version)
        known = {r[0] for r in self.db.rows(f"SELECT schema_name FROM {SCHEMA}.versions")}
        for (name,) in self.db.rows("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                    (VERSION_PREFIX.replace("_", r"\_") + "%",)):
            if name not in known:
                self.db.execute(_fmt("DROP SCHEMA IF EXISTS {s} CASCADE", name))
                removed.append(name)
        return removed

    @contextmanager
    def lock(self) -> Iterator[PostgresIngestLock]:
        with PostgresIngestLock(self.db) as held:
            yield held

    def write_last_ingest(self, report: dict[str, Any]) -> None:
        """Record the latest ingest's outcome (also a failed one); best effort, as in the file backend."""
        try:
            self.db.set_meta("last_ingest", json.loads(json.dumps(report, default=str)))
        except DatabaseError as exc:
            log.warning("could not record the ingest report: %s", exc)

    def read_last_ingest(self) -> dict[str, Any] | None:
        try:
            value = self.db.get_meta("last_ingest")
        except DatabaseError:
            return None
        return dict(value) if isinstance(value, dict) else None


def _fmt(template: str, schema: str) -> Any:
    from psycopg import sql

    return sql.SQL(template).format(s=_ident(schema))


def _write_version(conn: Any, schema: str, dim: int, content: VersionContent, passage_terms: list[list[str]],
                   sentence_terms: list[str], lexicon: Any, analyser: Analyser) -> None:
    """Create the version's schema and fill it (inside the caller's transaction)."""
    n_terms = max(1, len(lexicon.vocabulary))
    conn.execute(_fmt("CREATE SCHEMA {s}", schema))
    conn.execute(_fmt(f"""
        CREATE TABLE {{s}}.passages (id integer PRIMARY KEY, source text NOT NULL, title text NOT NULL,
            page integer, section text NOT NULL, start integer NOT NULL, "end" integer NOT NULL, text text NOT NULL,
            ocr boolean NOT NULL, terms text NOT NULL);
        CREATE TABLE {{s}}.vectors (id integer PRIMARY KEY, embedding vector({dim}) NOT NULL);
        ALTER TABLE {{s}}.vectors ALTER COLUMN embedding SET STORAGE PLAIN;
        CREATE TABLE {{s}}.lexical (id integer PRIMARY KEY, weights sparsevec({n_terms}) NOT NULL);
        CREATE TABLE {{s}}.terms (term text PRIMARY KEY, id integer NOT NULL UNIQUE, df integer NOT NULL,
            max_weight real NOT NULL, ids bytea NOT NULL, weights bytea NOT NULL);
        ALTER TABLE {{s}}.terms ALTER COLUMN ids SET STORAGE EXTERNAL, ALTER COLUMN weights SET STORAGE EXTERNAL;
        CREATE TABLE {{s}}.words (word text NOT NULL);
        CREATE TABLE {{s}}.sentences (id integer PRIMARY KEY, passage_id integer NOT NULL, start integer NOT NULL,
            "end" integer NOT NULL, text text NOT NULL, kind text NOT NULL, block integer NOT NULL,
            facts text NOT NULL, terms text NOT NULL, embedding halfvec({dim}) NOT NULL);
        CREATE TABLE {{s}}.pages (seq integer PRIMARY KEY, source text NOT NULL, page integer, text text NOT NULL,
            ocr boolean NOT NULL);
        """, schema))
    vectors = _vector_rows(np.asarray(content.vectors, dtype=np.float32).reshape(-1, dim), "f4")
    # Vectors apart from the text: an exact scan reads only them, and they are never moved out of line (TOAST).
    with conn.cursor().copy(_fmt('COPY {s}.passages (id, source, title, page, section, start, "end", text, ocr, '
                                 "terms) FROM STDIN (FORMAT BINARY)", schema)) as copy:
        copy.set_types(["int4", "text", "text", "int4", "text", "int4", "int4", "text", "bool", "text"])
        for p, terms in zip(content.passages, passage_terms, strict=True):
            copy.write_row((p.id, p.source, p.title, p.page, p.section, p.start, p.end, p.text, p.ocr,
                            " ".join(dict.fromkeys(terms))))
    with conn.cursor().copy(_fmt("COPY {s}.vectors (id, embedding) FROM STDIN (FORMAT BINARY)", schema)) as copy:
        copy.set_types(["int4", "vector"])
        for i, vec in enumerate(vectors):
            copy.write_row((i, _RawVector(vec)))
    with conn.cursor().copy(_fmt("COPY {s}.lexical (id, weights) FROM STDIN (FORMAT BINARY)", schema)) as copy:
        copy.set_types(["int4", "sparsevec"])
        indptr, indices, weights = lexicon.indptr, lexicon.indices, lexicon.weights
        for i in range(len(content.passages)):
            a, b = indptr[i], indptr[i + 1]
            copy.write_row((i, _RawSparse(_sparse_bytes(n_terms, indices[a:b], weights[a:b]))))
    # Posting lists: the same weights inverted, one row per term (passage ids ascending, little-endian).
    order = np.argsort(lexicon.indices, kind="stable")
    doc_of = np.repeat(np.arange(len(content.passages), dtype=np.int32), np.diff(lexicon.indptr))[order]
    weight_of = lexicon.weights[order].astype("<f4")
    bounds = np.concatenate([[0], np.cumsum(lexicon.df)])
    with conn.cursor().copy(_fmt("COPY {s}.terms (term, id, df, max_weight, ids, weights) FROM STDIN "
                                 "(FORMAT BINARY)", schema)) as copy:
        copy.set_types(["text", "int4", "int4", "float4", "bytea", "bytea"])
        for tid, term in enumerate(lexicon.vocabulary):
            a, b = bounds[tid], bounds[tid + 1]
            w = weight_of[a:b]
            copy.write_row((term, tid, int(b - a), float(w.max()) if b > a else 0.0,
                            doc_of[a:b].astype("<i4").tobytes(), w.tobytes()))
    with conn.cursor().copy(_fmt("COPY {s}.words (word) FROM STDIN", schema)) as copy:
        for word in sorted(analyser.decompounder.vocabulary):
            copy.write_row((word,))
    sentence_vectors = _vector_rows(np.asarray(content.sentence_vectors).reshape(-1, dim).astype(np.float16), "f2")
    with conn.cursor().copy(_fmt('COPY {s}.sentences (id, passage_id, start, "end", text, kind, block, facts, '
                                 "terms, embedding) FROM STDIN (FORMAT BINARY)", schema)) as copy:
        copy.set_types(["int4", "int4", "int4", "int4", "text", "text", "int4", "text", "text", "halfvec"])
        for s, joined, vec in zip(content.sentences, sentence_terms, sentence_vectors, strict=True):
            copy.write_row((s.id, s.passage_id, s.start, s.end, s.text, s.kind, s.block, s.facts, joined,
                            _RawHalfVector(vec)))
    with conn.cursor().copy(_fmt("COPY {s}.pages (seq, source, page, text, ocr) FROM STDIN (FORMAT BINARY)",
                                 schema)) as copy:
        copy.set_types(["int4", "text", "int4", "text", "bool"])
        for i, pg in enumerate(content.pages):
            copy.write_row((i, pg.source, pg.page, pg.text, pg.ocr))
    conn.execute(_fmt("CREATE INDEX ON {s}.passages (source, id)", schema))
    conn.execute(_fmt("CREATE INDEX ON {s}.sentences (passage_id, id)", schema))
    conn.execute(_fmt("CREATE INDEX ON {s}.pages (source, seq)", schema))
