"""THE on-disk index format and its version. The only module that imports faiss.

Layout of an index directory::

    index/
      current -> versions/<id>      symlink, switched atomically with os.replace
      versions/<id>/manifest.json   format_version, model identity, dimension, chunker settings,
                                    per-document hashes and catalog facts, ingest report
      versions/<id>/passages.jsonl  one Passage per line, in vector order
      versions/<id>/pages.jsonl     the text of every page, for the document viewer
      versions/<id>/vectors.faiss   FAISS index over L2-normalised vectors (inner product = cosine)
      .ingest.lock                  held by the one ingest allowed at a time

A version directory is written completely under a temporary name and renamed before the pointer
moves, so a reader in any process sees either the old index or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .errors import IndexFormatError, IndexNotFoundError, IndexWriteError, IngestBusyError
from .messages import t
from .types import DocumentInfo, Page, Passage

FORMAT_VERSION = 1
CURRENT = "current"
VERSIONS = "versions"
LOCK = ".ingest.lock"
LAST_INGEST = "last_ingest.json"
TMP_PREFIX = ".tmp-"

# Exact search is perfect but linear: ~0.1 ms per 1,000 vectors on one core, so at 50k it already
# takes ~5 ms of an ask whose whole non-embedding budget is ~0.5 x the ~25 ms query embedding. Past
# it an HNSW graph answers in under a millisecond at recall@10 >= 0.99 up to 100k (0.97 at 1M with
# efSearch 256, which costs ~0.4 ms more than 128). Measured by bench/scale.py: docs/benchmarks.md.
HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256


@dataclass(frozen=True)
class Manifest:
    """Everything needed to decide whether an index can be used, and how it was built."""

    format_version: int
    version_id: str
    created_at: float
    model: dict[str, Any]
    chunker: dict[str, Any]
    documents: dict[str, dict[str, Any]]
    passage_count: int
    vector_index: str
    report: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexFormatError(t("index.format", found=version, expected=FORMAT_VERSION))
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError as exc:
            raise IndexFormatError(t("index.damaged", reason=f"manifest incomplete: {exc}")) from exc

    def document_infos(self) -> list[DocumentInfo]:
        out = []
        for source, d in sorted(self.documents.items()):
            out.append(DocumentInfo(source=source, title=d.get("title", source), publisher=d.get("publisher", ""),
                                    date=d.get("date", ""), kind=d.get("kind", ""),
                                    language=d.get("language", "nl-BE"), sha256=d.get("sha256", ""),
                                    pages=d.get("pages")))
        return out


class VectorIndex:
    """Dense vectors in FAISS; exact inner product for small corpora, HNSW for large ones."""

    def __init__(self, index: Any) -> None:
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str | None = None) -> VectorIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        kind = kind or choose_index_kind(n)
        index: Any
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            raise ValueError(f"kind must be 'flat' or 'hnsw', got {kind!r}")
        if n:
            index.add(vectors)
        return cls(index)

    @property
    def kind(self) -> str:
        return "hnsw" if isinstance(self._index, faiss.IndexHNSWFlat) else "flat"

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; ids are -1 where fewer than k vectors exist."""
        k = max(1, min(k, self.size)) if self.size else 1
        if self.size == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        scores, ids = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, ids

    def scores_for(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact cosine of one query against chosen vectors (for fusion and re-scoring)."""
        return self.vectors(ids) @ np.asarray(query, dtype=np.float32)

    def vectors(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._index.reconstruct(int(i)) for i in ids]).astype(np.float32)

    def all_vectors(self) -> np.ndarray:
        if self.size == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._index.reconstruct_n(0, self.size), dtype=np.float32)

    def save(self, path: Path) -> None:
        try:
            faiss.write_index(self._index, str(path))
        except RuntimeError as exc:
            # FAISS reports a failed write (full disk, size limit) as a RuntimeError with C++ context;
            # it is an I/O failure like any other, and ingest reports it as one.
            reason = str(exc).splitlines()[-1] if str(exc) else "write failed"
            raise OSError(f"cannot write {path.name}: {reason}") from exc

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        return cls(faiss.read_index(str(path)))


def choose_index_kind(n: int) -> str:
    return "hnsw" if n >= HNSW_THRESHOLD else "flat"


@dataclass
class IndexData:
    """One loaded index version."""

    path: Path
    manifest: Manifest
    passages: list[Passage]
    pages: dict[str, list[Page]]
    vectors: VectorIndex

    @property
    def version_id(self) -> str:
        return self.manifest.version_id


# ---------------------------------------------------------------- reading


def current_version(index_dir: Path) -> str | None:
    """The id of the published version, or None when nothing is published yet."""
    try:
        target = os.readlink(Path(index_dir) / CURRENT)
    except (FileNotFoundError, OSError):
        return None
    return Path(target).name


def read_manifest(version_dir: Path) -> Manifest:
    try:
        data = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexFormatError(t("index.damaged", reason=f"{version_dir} has no manifest.json")) from exc
    except ValueError as exc:
        raise IndexFormatError(t("index.damaged", reason=f"manifest.json is not valid JSON: {exc}")) from exc
    return Manifest.from_dict(data)


def load_index(index_dir: Path, version: str | None = None) -> IndexData:
    """Load the published version (or a named one) completely into memory."""
    index_dir = Path(index_dir)
    version = version or current_version(index_dir)
    if version is None:
        raise IndexNotFoundError(t("index.missing") + f" ({index_dir}; `wegwijzer ingest`)")
    vdir = index_dir / VERSIONS / version
    manifest = read_manifest(vdir)
    passages = [Passage(**json.loads(line)) for line in _lines(vdir / "passages.jsonl")]
    pages: dict[str, list[Page]] = {}
    for line in _lines(vdir / "pages.jsonl"):
        page = Page(**json.loads(line))
        pages.setdefault(page.source, []).append(page)
    vectors = VectorIndex.load(vdir / "vectors.faiss")
    if vectors.size != len(passages) or len(passages) != manifest.passage_count:
        raise IndexFormatError(t("index.damaged", reason=(
            f"{version}: {vectors.size} vectors, {len(passages)} passages, manifest {manifest.passage_count}")))
    return IndexData(path=vdir, manifest=manifest, passages=passages, pages=pages, vectors=vectors)


def _lines(path: Path) -> Iterable[str]:
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield line
    except FileNotFoundError as exc:
        raise IndexFormatError(t("index.damaged", reason=f"{path.name} is missing")) from exc


# ---------------------------------------------------------------- writing


def new_version_id() -> str:
    """Sortable by creation time (microseconds), unique across processes (random suffix)."""
    now = time.time()
    micros = int(now * 1e6) % 1_000_000
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{micros:06d}-" + uuid.uuid4().hex[:6]


def write_version(index_dir: Path, *, model: dict[str, Any], chunker: dict[str, Any],
                  documents: dict[str, dict[str, Any]], passages: list[Passage], pages: list[Page],
                  vectors: np.ndarray, report: dict[str, Any] | None = None,
                  vector_kind: str | None = None) -> str:
    """Write a complete new version beside the published one; returns its id. Does not publish it."""
    if len(passages) != len(vectors):
        raise ValueError(f"{len(passages)} passages but {len(vectors)} vectors")
    if any(p.id != i for i, p in enumerate(passages)):
        raise ValueError("passage ids must be 0..n-1 in vector order")
    index_dir = Path(index_dir)
    (index_dir / VERSIONS).mkdir(parents=True, exist_ok=True)
    version_id = new_version_id()
    tmp = index_dir / VERSIONS / f"{TMP_PREFIX}{version_id}"
    tmp.mkdir()
    try:
        vector_index = VectorIndex.build(vectors if len(vectors) else np.zeros((0, model["dim"]), np.float32),
                                         vector_kind)
        vector_index.save(tmp / "vectors.faiss")
        _write_jsonl(tmp / "passages.jsonl", (p.to_dict() for p in passages))
        _write_jsonl(tmp / "pages.jsonl", ({"source": p.source, "page": p.page, "text": p.text} for p in pages))
        manifest = Manifest(format_version=FORMAT_VERSION, version_id=version_id, created_at=time.time(),
                            model=model, chunker=chunker, documents=documents, passage_count=len(passages),
                            vector_index=vector_index.kind, report=report or {})
        _write_text(tmp / "manifest.json", manifest.to_json())
        _fsync_dir(tmp)
        os.rename(tmp, index_dir / VERSIONS / version_id)
        _fsync_dir(index_dir / VERSIONS)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return version_id


def publish(index_dir: Path, version_id: str) -> None:
    """Atomically point ``current`` at a written version."""
    index_dir = Path(index_dir)
    if not (index_dir / VERSIONS / version_id / "manifest.json").is_file():
        raise IndexFormatError(f"Cannot publish {version_id}: it is not a complete version.")
    tmp_link = index_dir / f"{CURRENT}.{uuid.uuid4().hex[:8]}.tmp"
    os.symlink(Path(VERSIONS) / version_id, tmp_link)
    os.replace(tmp_link, index_dir / CURRENT)
    _fsync_dir(index_dir)


def prune(index_dir: Path, keep: int = 3) -> list[str]:
    """Remove old versions (never the published one) and leftovers of interrupted ingests."""
    vroot = Path(index_dir) / VERSIONS
    if not vroot.is_dir():
        return []
    current = current_version(index_dir)
    removed = []
    for link in Path(index_dir).glob(f"{CURRENT}.*.tmp"):  # a publish killed before its rename
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


def write_last_ingest(index_dir: Path, report: dict[str, Any]) -> None:
    """Record the outcome of the latest ingest (also failed ones) for status pages; best effort."""
    try:
        Path(index_dir).mkdir(parents=True, exist_ok=True)
        _write_text(Path(index_dir) / LAST_INGEST, json.dumps(report, ensure_ascii=False, indent=2))
    except OSError:
        pass


def read_last_ingest(index_dir: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((Path(index_dir) / LAST_INGEST).read_text(encoding="utf-8")))
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


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False))
            fh.write("\n")
        fh.flush()
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
