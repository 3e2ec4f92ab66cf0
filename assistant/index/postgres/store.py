"""Writing index versions to PostgreSQL: one version per schema, written in one transaction, published by
one UPDATE, old ones dropped schema and all; the one ingest per database held by an advisory lock."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from assistant.errors import DatabaseError, IndexFormatError, IndexNotFoundError, IngestBusyError
from assistant.index.audience import EVERYONE_MARK
from assistant.index.lexical import Analyser, bm25_matrix, lexical_text, vocabulary_of
from assistant.index.model import FORMAT_VERSION, Manifest
from assistant.index.postgres.codec import (
    VERSION_PREFIX,
    RawHalfVector,
    RawSparse,
    RawVector,
    ident,
    schema_of,
    sparse_bytes,
    vector_rows,
)
from assistant.index.postgres.reader import PostgresIndexReader
from assistant.index.protocol import VersionContent, passage_audiences
from assistant.messages import t
from assistant.stores.pg import LOCK_INGEST, SCHEMA, Database, HeldLock, database
from assistant.text.analysis import analyzer_config

log = logging.getLogger(__name__)

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
        schema = schema_of(version_id)
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

    return sql.SQL(template).format(s=ident(schema))


def _write_version(conn: Any, schema: str, dim: int, content: VersionContent, passage_terms: list[list[str]],
                   sentence_terms: list[str], lexicon: Any, analyser: Analyser) -> None:
    """Create the version's schema and fill it (inside the caller's transaction)."""
    n_terms = max(1, len(lexicon.vocabulary))
    conn.execute(_fmt("CREATE SCHEMA {s}", schema))
    conn.execute(_fmt(f"""
        CREATE TABLE {{s}}.passages (id integer PRIMARY KEY, source text NOT NULL, title text NOT NULL,
            page integer, section text NOT NULL, start integer NOT NULL, "end" integer NOT NULL, text text NOT NULL,
            ocr boolean NOT NULL, terms text NOT NULL, audience text[] NOT NULL);
        CREATE TABLE {{s}}.vectors (id integer PRIMARY KEY, embedding vector({dim}) NOT NULL,
            audience text[] NOT NULL);
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
    vectors = vector_rows(np.asarray(content.vectors, dtype=np.float32).reshape(-1, dim), "f4")
    # Vectors apart from the text: an exact scan reads only them, and they are never moved out of line (TOAST).
    # Each passage's audience (assistant/audience.py), on its record and beside its vector, where the searches
    # filter with `audience && $groups` (GIN-indexed); a document for everyone has the group every asker has.
    audiences = [list(a) or [EVERYONE_MARK] for a in passage_audiences(content.documents, content.passages)]
    with conn.cursor().copy(_fmt('COPY {s}.passages (id, source, title, page, section, start, "end", text, ocr, '
                                 "terms, audience) FROM STDIN (FORMAT BINARY)", schema)) as copy:
        copy.set_types(["int4", "text", "text", "int4", "text", "int4", "int4", "text", "bool", "text", "text[]"])
        for p, terms, audience in zip(content.passages, passage_terms, audiences, strict=True):
            copy.write_row((p.id, p.source, p.title, p.page, p.section, p.start, p.end, p.text, p.ocr,
                            " ".join(dict.fromkeys(terms)), audience))
    with conn.cursor().copy(_fmt("COPY {s}.vectors (id, embedding, audience) FROM STDIN (FORMAT BINARY)",
                                 schema)) as copy:
        copy.set_types(["int4", "vector", "text[]"])
        for i, (vec, audience) in enumerate(zip(vectors, audiences, strict=True)):
            copy.write_row((i, RawVector(vec), audience))
    with conn.cursor().copy(_fmt("COPY {s}.lexical (id, weights) FROM STDIN (FORMAT BINARY)", schema)) as copy:
        copy.set_types(["int4", "sparsevec"])
        indptr, indices, weights = lexicon.indptr, lexicon.indices, lexicon.weights
        for i in range(len(content.passages)):
            a, b = indptr[i], indptr[i + 1]
            copy.write_row((i, RawSparse(sparse_bytes(n_terms, indices[a:b], weights[a:b]))))
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
    sentence_vectors = vector_rows(np.asarray(content.sentence_vectors).reshape(-1, dim).astype(np.float16), "f2")
    with conn.cursor().copy(_fmt('COPY {s}.sentences (id, passage_id, start, "end", text, kind, block, facts, '
                                 "terms, embedding) FROM STDIN (FORMAT BINARY)", schema)) as copy:
        copy.set_types(["int4", "int4", "int4", "int4", "text", "text", "int4", "text", "text", "halfvec"])
        for s, joined, vec in zip(content.sentences, sentence_terms, sentence_vectors, strict=True):
            copy.write_row((s.id, s.passage_id, s.start, s.end, s.text, s.kind, s.block, s.facts, joined,
                            RawHalfVector(vec)))
    with conn.cursor().copy(_fmt("COPY {s}.pages (seq, source, page, text, ocr) FROM STDIN (FORMAT BINARY)",
                                 schema)) as copy:
        copy.set_types(["int4", "text", "int4", "text", "bool"])
        for i, pg in enumerate(content.pages):
            copy.write_row((i, pg.source, pg.page, pg.text, pg.ocr))
    conn.execute(_fmt("CREATE INDEX ON {s}.passages (source, id)", schema))
    conn.execute(_fmt("CREATE INDEX ON {s}.passages USING gin (audience)", schema))
    conn.execute(_fmt("CREATE INDEX ON {s}.vectors USING gin (audience)", schema))
    conn.execute(_fmt("CREATE INDEX ON {s}.sentences (passage_id, id)", schema))
    conn.execute(_fmt("CREATE INDEX ON {s}.pages (source, seq)", schema))
