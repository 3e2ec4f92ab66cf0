"""The default storage backend: version directories on the local disk. The only importer of faiss and bm25s.

Layout of an index directory::

    index/
      current -> versions/<id>          symlink, switched atomically with os.replace
      versions/<id>/manifest.json       the typed Manifest (model.py)
      versions/<id>/passages.sqlite3    passages, pages and sentences; opened read-only and immutable
      versions/<id>/vectors.faiss       passage vectors (flat below HNSW_THRESHOLD, HNSW above)
      versions/<id>/sentences.f16.npy   sentence vectors, float16, memory-mapped
      versions/<id>/lexical/            bm25s index (memory-mapped) and the corpus words for decompounding
      .ingest.lock                      held by the one ingest allowed at a time
      last_ingest.json                  the outcome of the latest ingest, also a failed one

A version directory is written completely under a temporary name and renamed before the pointer
moves, so a reader in any process sees either the old index or the new one, never half of one. A
version is never changed after it is written, which is what lets SQLite open it immutable (no locks)
and lets every reader memory-map the vectors and the lexical index.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from assistant.audience import may_see
from assistant.errors import IndexFormatError, IndexNotFoundError, IndexWriteError, IngestBusyError
from assistant.index.audience import AudienceView, AudienceViews
from assistant.index.lexical import K1, Analyser, B, idf, lexical_text, vocabulary_of
from assistant.index.model import FORMAT_VERSION, Manifest
from assistant.index.protocol import PASSAGE_COLUMNS as _PASSAGE_COLUMNS
from assistant.index.protocol import SENTENCE_COLUMNS as _SENTENCE_COLUMNS
from assistant.index.protocol import IndexReader, ManifestReader, SentenceRecord, VersionContent, passage_audiences
from assistant.index.protocol import passage_from_row as _passage
from assistant.index.protocol import sentence_from_row as _sentence
from assistant.messages import t
from assistant.text.analysis import analyzer_config
from assistant.types import Page, Passage

log = logging.getLogger(__name__)

CURRENT = "current"
VERSIONS = "versions"
LOCK = ".ingest.lock"
LAST_INGEST = "last_ingest.json"
TMP_PREFIX = ".tmp-"
MANIFEST = "manifest.json"
DATABASE = "passages.sqlite3"
VECTORS = "vectors.faiss"
SENTENCE_VECTORS = "sentences.f16.npy"
LEXICAL = "lexical"
WORDS = "words.txt"

# Exact search is perfect but linear: ~0.1 ms per 1,000 vectors on one core, so at 50k it already
# takes ~5 ms of an ask. Past it an HNSW graph answers in under a millisecond at recall@10 >= 0.99 up
# to 100k (0.97 at 1M with efSearch 256). Measured by bench/scale.py: docs/benchmarks.md.
HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256

_SCHEMA = """
CREATE TABLE passages (id INTEGER PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, page INTEGER,
    section TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    ocr INTEGER NOT NULL DEFAULT 0, terms TEXT NOT NULL, audience TEXT NOT NULL DEFAULT '');
CREATE INDEX passages_source ON passages(source, id);
CREATE TABLE pages (source TEXT NOT NULL, page INTEGER, text TEXT NOT NULL, ocr INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL);
CREATE INDEX pages_source ON pages(source, seq);
CREATE TABLE sentences (id INTEGER PRIMARY KEY, passage_id INTEGER NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, text TEXT NOT NULL, kind TEXT NOT NULL, block INTEGER NOT NULL, facts TEXT NOT NULL,
    terms TEXT NOT NULL);
CREATE INDEX sentences_passage ON sentences(passage_id, id);
"""
def _marks(n: int) -> str:
    return ",".join("?" * n)


class FileIndexReader(ManifestReader):
    """One version directory, opened for reading. Thread-safe; cheap to open (files are memory-mapped)."""

    def __init__(self, vdir: Path, manifest: Manifest) -> None:
        import bm25s

        self.path = vdir
        self._manifest = manifest
        for name in (DATABASE, VECTORS, SENTENCE_VECTORS, LEXICAL):
            if not (vdir / name).exists():
                raise IndexFormatError(t("index.damaged", reason=f"{vdir.name}: {name} is missing"))
        try:
            self._vectors = faiss.read_index(str(vdir / VECTORS))
            self._sentence_vectors = np.load(vdir / SENTENCE_VECTORS, mmap_mode="r")
            self._bm25 = bm25s.BM25.load(str(vdir / LEXICAL), mmap=True, show_progress=False)
        except (RuntimeError, OSError, ValueError) as exc:
            raise IndexFormatError(t("index.damaged", reason=f"{vdir.name}: {exc}")) from exc
        self._vocab: dict[str, int] = self._bm25.vocab_dict
        indptr = np.asarray(self._bm25.scores["indptr"])
        self._df = np.diff(indptr)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []  # every thread's, so that close() reaches them all
        self._connections_lock = threading.Lock()
        self._words: frozenset[str] | None = None
        self._analyser: Analyser | None = None
        self._analyser_lock = threading.Lock()
        self._views = AudienceViews(self, lambda audiences: _AudienceView(self, audiences))
        n = manifest.passage_count
        if self._vectors.ntotal != n or int(self._bm25.scores["num_docs"]) != n or \
                len(self._sentence_vectors) != manifest.sentence_count:
            raise IndexFormatError(t("index.damaged", reason=(
                f"{vdir.name}: {self._vectors.ntotal} vectors, {self._bm25.scores['num_docs']} lexical entries, "
                f"{len(self._sentence_vectors)} sentence vectors; manifest {n} / {manifest.sentence_count}")))
        if self._vectors.ntotal and self._vectors.d != manifest.model.dim:
            raise IndexFormatError(t("index.damaged", reason=f"{vdir.name}: vector dimension {self._vectors.d}"))
        if manifest.vector_index == "hnsw":
            faiss.downcast_index(self._vectors).hnsw.efSearch = HNSW_EF_SEARCH  # type: ignore[attr-defined]

    # ------------------------------------------------------------ basics

    def _db(self) -> sqlite3.Connection:
        """This thread's read-only connection (SQLite connections are cheap; sharing one would serialise)."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            uri = f"{(self.path / DATABASE).resolve().as_uri()}?mode=ro&immutable=1"
            con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._local.con = con
            with self._connections_lock:
                self._connections.append(con)
        return con

    def close(self) -> None:
        """Close every thread's connection (a later call opens a new one for its thread)."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
            self._local = threading.local()
        for con in connections:
            con.close()

    # ------------------------------------------------------------ dense

    def dense_search(self, query: np.ndarray, k: int, params: Any = None, n: int | None = None,
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by cosine; with ``params`` (an audience view's FAISS id selector) among the ``n`` it allows."""
        n = self._vectors.ntotal if n is None else n
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self._vectors.search(np.ascontiguousarray(query[None, :], dtype=np.float32), min(k, n),
                                           params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def passage_vectors(self, ids: Sequence[int]) -> np.ndarray:
        if len(ids) == 0:
            return np.zeros((0, self._manifest.model.dim), dtype=np.float32)
        return np.vstack([self._vectors.reconstruct(int(i)) for i in ids]).astype(np.float32)

    def dense_scores(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        return self.passage_vectors(ids) @ np.asarray(query, dtype=np.float32)

    # ------------------------------------------------------------ lexical

    def analyser(self) -> Analyser:
        """The analyser this version was built with, bound to its vocabulary (loaded on first use)."""
        if self._analyser is None:
            with self._analyser_lock:
                if self._analyser is None:
                    words = (self.path / LEXICAL / WORDS).read_text(encoding="utf-8").split("\n")
                    self._analyser = Analyser(self._manifest.analyzer, (w for w in words if w))
        return self._analyser

    def query_terms(self, question: str) -> list[str]:
        return self.analyser().query_terms(question)

    def _lexical_all(self, terms: Sequence[str]) -> np.ndarray:
        key = tuple(terms)
        cached = getattr(self._local, "lex", None)
        if cached is not None and cached[0] == key:
            return cached[1]  # type: ignore[no-any-return]
        ids = [self._vocab[term] for term in terms if term in self._vocab]
        if ids:
            scores = np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)
        else:
            scores = np.zeros(self.passage_count, dtype=np.float32)
        self._local.lex = (key, scores)
        return scores

    def lexical_search(self, terms: Sequence[str], k: int, visible: np.ndarray | None = None,
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by BM25; with ``visible`` (an audience view's mask) hidden passages score 0 before the
        top-k is taken, so they are never among it."""
        scores = self._lexical_all(terms)
        if visible is not None:
            scores = np.where(visible, scores, np.float32(0))
        if not len(scores):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[scores[top] > 0]
        order = top[np.argsort(-scores[top], kind="stable")]
        return order.astype(np.int64), scores[order]

    def search_both(self, query: np.ndarray, terms: Sequence[str], k: int,
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """One after the other: both are in-process and hold the GIL for most of their short work."""
        return self.dense_search(query, k), self.lexical_search(terms, k)

    def lexical_scores(self, terms: Sequence[str], ids: Sequence[int]) -> np.ndarray:
        return self._lexical_all(terms)[np.asarray(ids, dtype=np.int64)]

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        n = self.passage_count
        return {term: idf(int(self._df[self._vocab[term]]), n) for term in terms if term in self._vocab and term}

    @property
    def max_idf(self) -> float:
        return idf(1, max(1, self.passage_count))

    # ------------------------------------------------------------ passages and sentences

    def passages(self, ids: Sequence[int]) -> list[Passage]:
        ids = [int(i) for i in ids]
        if not ids:
            return []
        rows = self._db().execute(f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE id IN ({_marks(len(ids))})",
                                  ids).fetchall()
        by_id = {row[0]: _passage(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def passage_terms(self, ids: Sequence[int]) -> list[frozenset[str]]:
        ids = [int(i) for i in ids]
        if not ids:
            return []
        rows = self._db().execute(f"SELECT id, terms FROM passages WHERE id IN ({_marks(len(ids))})", ids).fetchall()
        by_id = {row[0]: frozenset(row[1].split()) for row in rows}
        return [by_id.get(i, frozenset()) for i in ids]

    def sentences(self, passage_ids: Sequence[int]) -> list[SentenceRecord]:
        ids = [int(i) for i in passage_ids]
        if not ids:
            return []
        rows = self._db().execute(
            f"SELECT {_SENTENCE_COLUMNS} FROM sentences WHERE passage_id IN ({_marks(len(ids))}) ORDER BY id",
            ids).fetchall()
        order = {pid: i for i, pid in enumerate(ids)}
        return sorted((_sentence(r) for r in rows), key=lambda s: (order[s.passage_id], s.id))

    def sentence_vectors(self, ids: Sequence[int]) -> np.ndarray:
        if len(ids) == 0:
            return np.zeros((0, self._manifest.model.dim), dtype=np.float32)
        return np.asarray(self._sentence_vectors[np.asarray(ids, dtype=np.int64)], dtype=np.float32)

    def document(self, source: str) -> tuple[list[Page], list[Passage]] | None:
        if self._manifest.document(source) is None:
            return None
        db = self._db()
        pages = [Page(source=r[0], page=r[1], text=r[2], ocr=bool(r[3])) for r in db.execute(
            "SELECT source, page, text, ocr FROM pages WHERE source = ? ORDER BY seq", (source,))]
        passages = [_passage(r) for r in db.execute(
            f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE source = ? ORDER BY id", (source,))]
        return pages, passages

    def for_audiences(self, audiences: frozenset[str]) -> IndexReader:
        return self._views.get(audiences)

    def hidden_from(self, audiences: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the passages and the sentences an asker in ``audiences`` may see, from the passages'
        records (the audience written at ingest)."""
        db = self._db()
        visible = np.ones(self.passage_count, dtype=bool)
        hidden = [pid for pid, audience in db.execute("SELECT id, audience FROM passages WHERE audience != ''")
                  if not may_see(audience.split(), audiences)]
        visible[hidden] = False
        sentences = np.ones(self._manifest.sentence_count, dtype=bool)
        for i in range(0, len(hidden), 500):
            block = hidden[i:i + 500]
            ids = [r[0] for r in db.execute(f"SELECT id FROM sentences WHERE passage_id IN ({_marks(len(block))})",
                                            block)]
            sentences[ids] = False
        return visible, sentences

    def all_sentences_of(self, passage_ids: Sequence[int]) -> list[SentenceRecord]:
        """Sentences of many passages (ingest reuse), fetched in chunks SQLite accepts."""
        out: list[SentenceRecord] = []
        ids = list(passage_ids)
        for i in range(0, len(ids), 500):
            out.extend(self.sentences(ids[i:i + 500]))
        return out


class _AudienceView(AudienceView):
    """A version as one set of audiences may see it (assistant/index/audience.py). Dense search passes FAISS a
    bitmap id selector, so the top-k is taken among visible passages only (flat and HNSW alike); lexical search
    zeroes hidden passages' BM25 scores before its top-k."""

    def __init__(self, base: FileIndexReader, audiences: frozenset[str]) -> None:
        super().__init__(base, audiences, *base.hidden_from(audiences))
        self._file = base
        # The bitmap must outlive every search that uses it: it is kept here, beside the selector.
        self._bitmap = np.packbits(self._visible, bitorder="little")
        self._selector = faiss.IDSelectorBitmap(len(self._visible), faiss.swig_ptr(self._bitmap))
        if base.manifest.vector_index == "hnsw":
            self._params: Any = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                sel=self._selector, efSearch=HNSW_EF_SEARCH)
        else:
            self._params = faiss.SearchParameters(sel=self._selector)  # type: ignore[call-arg]
        scores = base._bm25.scores
        self._postings = (np.asarray(scores["indptr"]), scores["indices"])

    def dense_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._file.dense_search(query, k, params=self._params, n=self.passage_count)

    def lexical_search(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._file.lexical_search(terms, k, visible=self._visible)

    def visible_df(self, terms: Sequence[str]) -> dict[str, int]:
        indptr, indices = self._postings
        vocab = self._file._vocab
        return {term: int(self._visible[np.asarray(indices[indptr[vocab[term]]:indptr[vocab[term] + 1]])].sum())
                for term in terms if term and term in vocab}


class FileIndexStore:
    """Versions of one index directory on the local disk (or a shared file system)."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)

    def describe(self) -> str:
        return str(self.index_dir)

    # ------------------------------------------------------------ reading

    def current_version(self) -> str | None:
        try:
            target = os.readlink(self.index_dir / CURRENT)
        except OSError:
            return None
        return Path(target).name

    def read_manifest(self, version: str) -> Manifest:
        vdir = self.index_dir / VERSIONS / version
        try:
            data = json.loads((vdir / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise IndexFormatError(t("index.damaged", reason=f"{version} has no {MANIFEST}")) from exc
        except ValueError as exc:
            raise IndexFormatError(t("index.damaged", reason=f"{MANIFEST} is not valid JSON: {exc}")) from exc
        return Manifest.from_dict(data)

    def open(self, version: str | None = None) -> FileIndexReader:
        version = version or self.current_version()
        if version is None:
            raise IndexNotFoundError(t("index.missing") + f" ({self.index_dir}; `wegwijzer ingest`)")
        manifest = self.read_manifest(version)
        if manifest.analyzer != analyzer_config(str(manifest.analyzer.get("stemmer", ""))):
            raise IndexFormatError(t("index.format", found=f"{FORMAT_VERSION} ({manifest.analyzer.get('name')})",
                                     expected=FORMAT_VERSION))
        return FileIndexReader(self.index_dir / VERSIONS / version, manifest)

    # ------------------------------------------------------------ writing

    def write(self, content: VersionContent) -> str:
        passages, sentences = content.passages, content.sentences
        if len(passages) != len(content.vectors):
            raise ValueError(f"{len(passages)} passages but {len(content.vectors)} vectors")
        if any(p.id != i for i, p in enumerate(passages)):
            raise ValueError("passage ids must be 0..n-1 in vector order")
        if len(sentences) != len(content.sentence_vectors) or any(s.id != i for i, s in enumerate(sentences)):
            raise ValueError("sentence ids must be 0..m-1 in sentence-vector order")
        (self.index_dir / VERSIONS).mkdir(parents=True, exist_ok=True)
        version_id = content.version_id or new_version_id()
        tmp = self.index_dir / VERSIONS / f"{TMP_PREFIX}{version_id}"
        tmp.mkdir()
        try:
            dim = content.model.dim
            kind = _write_vectors(tmp / VECTORS, content.vectors, dim)
            _write_npy(tmp / SENTENCE_VECTORS, np.asarray(content.sentence_vectors, dtype=np.float16).reshape(-1, dim))
            analyzer = dict(content.analyzer)
            texts = [lexical_text(p) for p in passages]
            analyser = Analyser(analyzer, vocabulary_of(texts))
            passage_terms = [analyser.terms(text) for text in texts]
            _write_lexical(tmp / LEXICAL, passage_terms, analyser.decompounder.vocabulary)
            _write_database(tmp / DATABASE, passages, content.pages, sentences, passage_terms, analyser,
                            passage_audiences(content.documents, passages))
            manifest = Manifest(
                format_version=FORMAT_VERSION, version_id=version_id, created_at=content.created_at or time.time(),
                model=content.model,
                chunker=content.chunker, analyzer=analyzer, documents=tuple(content.documents),
                passage_count=len(passages), sentence_count=len(sentences), vector_index=kind,
                report=dict(content.report))
            _write_text(tmp / MANIFEST, manifest.to_json())
            _fsync_dir(tmp)
            os.rename(tmp, self.index_dir / VERSIONS / version_id)
            _fsync_dir(self.index_dir / VERSIONS)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return version_id

    def publish(self, version_id: str) -> None:
        if not (self.index_dir / VERSIONS / version_id / MANIFEST).is_file():
            raise IndexFormatError(f"Cannot publish {version_id}: it is not a complete version.")
        tmp_link = self.index_dir / f"{CURRENT}.{uuid.uuid4().hex[:8]}.tmp"
        os.symlink(Path(VERSIONS) / version_id, tmp_link)
        os.replace(tmp_link, self.index_dir / CURRENT)
        _fsync_dir(self.index_dir)

    def prune(self, keep: int = 3) -> list[str]:
        """Remove old versions (never the published one) and leftovers of interrupted ingests."""
        vroot = self.index_dir / VERSIONS
        if not vroot.is_dir():
            return []
        current = self.current_version()
        removed = []
        for link in self.index_dir.glob(f"{CURRENT}.*.tmp"):  # a publish killed before its rename
            link.unlink(missing_ok=True)
            removed.append(link.name)
        for leftover in vroot.glob(f"{TMP_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover.name)
        versions = sorted(d.name for d in vroot.iterdir() if d.is_dir() and not d.name.startswith("."))
        for name in versions[:-keep] if keep else versions:
            if name != current:
                shutil.rmtree(vroot / name, ignore_errors=True)
                removed.append(name)
        return removed

    @contextmanager
    def lock(self) -> Iterator[IngestLock]:
        with IngestLock(self.index_dir) as held:
            yield held

    def write_last_ingest(self, report: dict[str, Any]) -> None:
        """Record the outcome of the latest ingest (also failed ones) for status pages; best effort."""
        try:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            _write_text(self.index_dir / LAST_INGEST, json.dumps(report, ensure_ascii=False, indent=2))
        except OSError:
            pass

    def read_last_ingest(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads((self.index_dir / LAST_INGEST).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None


class IngestLock:
    """Exclusive, crash-safe lock (the OS drops it when the holder dies, even on kill -9)."""

    def __init__(self, index_dir: Path) -> None:
        from filelock import FileLock, Timeout

        try:
            Path(index_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IndexWriteError(t("ingest.write_failed", reason=exc.strerror or exc)) from exc
        self._timeout = Timeout
        self._lock = FileLock(str(Path(index_dir) / LOCK), timeout=0)

    def __enter__(self) -> IngestLock:
        try:
            self._lock.acquire()
        except self._timeout:
            raise IngestBusyError(t("index.busy")) from None
        except OSError as exc:  # a read-only or full data directory cannot even hold the lock file
            raise IndexWriteError(t("ingest.write_failed", reason=exc.strerror or exc)) from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


# ---------------------------------------------------------------- writing helpers


def new_version_id() -> str:
    """Sortable by creation time (microseconds), unique across processes (random suffix)."""
    now = time.time()
    micros = int(now * 1e6) % 1_000_000
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{micros:06d}-" + uuid.uuid4().hex[:6]


def choose_index_kind(n: int) -> str:
    return "hnsw" if n >= HNSW_THRESHOLD else "flat"


def build_vector_index(vectors: np.ndarray, dim: int, kind: str | None = None) -> Any:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    kind = kind or choose_index_kind(len(vectors))
    index: Any
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        raise ValueError(f"kind must be 'flat' or 'hnsw', got {kind!r}")
    if len(vectors):
        index.add(vectors)
    return index


def _write_vectors(path: Path, vectors: np.ndarray, dim: int) -> str:
    index = build_vector_index(vectors, dim)
    try:
        faiss.write_index(index, str(path))
    except RuntimeError as exc:
        # FAISS reports a failed write (full disk, size limit) as a RuntimeError with C++ context;
        # it is an I/O failure like any other, and ingest reports it as one.
        reason = str(exc).splitlines()[-1] if str(exc) else "write failed"
        raise OSError(f"cannot write {path.name}: {reason}") from exc
    return "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else "flat"


def _write_npy(path: Path, array: np.ndarray, rows_per_write: int = 65536) -> None:
    """``np.save`` through Python's file writes, so a full disk or a size limit is an OSError with its errno
    (numpy's own writer reports only "N requested and M written")."""
    array = np.ascontiguousarray(array)
    header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False, "shape": array.shape}
    with path.open("wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        for i in range(0, len(array), rows_per_write):
            fh.write(array[i:i + rows_per_write].tobytes())
        fh.flush()
        os.fsync(fh.fileno())


def _write_lexical(directory: Path, docs: list[list[str]], vocabulary: Iterable[str]) -> None:
    import bm25s

    bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
    # bm25s needs at least one token per corpus; an empty token scores nothing and keeps it valid.
    bm25.index([d for d in docs] if any(docs) else [[""] for _ in docs], show_progress=False)
    bm25.save(str(directory), show_progress=False)
    (directory / WORDS).write_text("\n".join(sorted(vocabulary)), encoding="utf-8")


def _write_database(path: Path, passages: list[Passage], pages: list[Page], sentences: list[SentenceRecord],
                    passage_terms: list[list[str]], analyser: Analyser, audiences: list[tuple[str, ...]]) -> None:
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")  # the whole directory is fsynced before it is renamed
        con.executescript(_SCHEMA)
        con.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((p.id, p.source, p.title, p.page, p.section, p.start, p.end, p.text, int(p.ocr),
              " ".join(dict.fromkeys(terms)), " ".join(audience))
             for p, terms, audience in zip(passages, passage_terms, audiences, strict=True)))
        con.executemany("INSERT INTO pages VALUES (?, ?, ?, ?, ?)",
                        ((pg.source, pg.page, pg.text, int(pg.ocr), i) for i, pg in enumerate(pages)))
        con.executemany(
            "INSERT INTO sentences VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((s.id, s.passage_id, s.start, s.end, s.text, s.kind, s.block, s.facts,
              " ".join(dict.fromkeys(analyser.terms(s.text)))) for s in sentences))
        con.commit()
    finally:
        con.close()
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
