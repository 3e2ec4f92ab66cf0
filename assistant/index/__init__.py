"""The index: one owner of its format (``model``), two owners of storage behind one Protocol.

``open_store(settings)`` is the factory: the file backend (version directories with FAISS and bm25s)
by default, PostgreSQL with pgvector when ``WEGWIJZER_DATABASE_URL`` is set. Everything else reads an
index through :class:`IndexReader` and writes one through :class:`IndexStore`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.index.files import CURRENT, LOCK, TMP_PREFIX, VERSIONS, FileIndexReader, FileIndexStore, IngestLock
from assistant.index.model import FORMAT_VERSION, DocumentEntry, Manifest, ModelInfo
from assistant.index.protocol import IndexReader, IndexStore, SentenceRecord, VersionContent

if TYPE_CHECKING:
    from assistant.config import Settings

__all__ = [
    "CURRENT", "FORMAT_VERSION", "LOCK", "TMP_PREFIX", "VERSIONS", "DocumentEntry", "FileIndexReader",
    "FileIndexStore", "IndexReader", "IndexStore", "IngestLock", "Manifest", "ModelInfo", "SentenceRecord",
    "VersionContent", "current_version", "open_index", "open_store", "read_last_ingest", "read_manifest",
]


def open_store(settings: Settings) -> IndexStore:
    """The index store the settings select: PostgreSQL when ``database_url`` is set, else the data directory."""
    from assistant.stores.factory import open_stores

    db = open_stores(settings).database
    if db is not None:
        from assistant.index.postgres import PostgresIndexStore

        return PostgresIndexStore(db.url)
    return FileIndexStore(settings.index_dir)


# Conveniences for the file backend, by index directory (status pages, tests, the CLI).

def open_index(index_dir: Path, version: str | None = None) -> FileIndexReader:
    """Open a version (default: the published one) of the index directory ``index_dir``."""
    return FileIndexStore(index_dir).open(version)


def read_manifest(index_dir: Path, version: str | None = None) -> Manifest:
    """The manifest of a version (default: the published one) of ``index_dir``; raises if there is none."""
    store = FileIndexStore(index_dir)
    chosen = version or store.current_version()
    if chosen is None:
        from assistant.errors import IndexNotFoundError
        from assistant.messages import t
        raise IndexNotFoundError(t("index.missing") + f" ({index_dir})")
    return store.read_manifest(chosen)


def current_version(index_dir: Path) -> str | None:
    return FileIndexStore(index_dir).current_version()


def read_last_ingest(index_dir: Path) -> dict[str, Any] | None:
    return FileIndexStore(index_dir).read_last_ingest()
