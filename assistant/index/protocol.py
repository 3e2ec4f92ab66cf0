"""The seams of the index: one version to read (IndexReader) and the versions of a store (IndexStore).

Two owners of storage implement them: version directories with FAISS and bm25s (``files``), and
PostgreSQL with pgvector (``postgres``). Retrieval, evidence and the front ends only see these.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from assistant.errors import IndexFormatError
from assistant.index.model import DocumentEntry, Manifest, ModelInfo
from assistant.messages import t
from assistant.text.analysis import analyzer_config
from assistant.types import Page, Passage


@dataclass(frozen=True)
class SentenceRecord:
    """One sentence of a passage as stored: span in the passage text, reading text, kind, facts, terms."""

    id: int
    passage_id: int
    start: int
    end: int
    text: str
    kind: str
    block: int
    facts: str = ""  # assistant.text.facts.encode_facts
    terms: tuple[str, ...] = ()  # analysed terms, as the lexical index analyses the question


# The row layout both stores select passages and sentences in (SQLite and PostgreSQL alike).
PASSAGE_COLUMNS = 'id, source, title, page, section, start, "end", text, ocr'
SENTENCE_COLUMNS = 'id, passage_id, start, "end", text, kind, block, facts, terms'


def passage_audiences(documents: Sequence[DocumentEntry], passages: Sequence[Passage]) -> list[tuple[str, ...]]:
    """Each passage's audience, from its document's entry: what a store writes into the passage's record."""
    by_source = {d.source: d.audience for d in documents}
    return [by_source.get(p.source, ()) for p in passages]


def passage_from_row(row: Sequence[Any]) -> Passage:
    return Passage(id=row[0], source=row[1], title=row[2], page=row[3], section=row[4], start=row[5], end=row[6],
                   text=row[7], ocr=bool(row[8]))


def sentence_from_row(row: Sequence[Any]) -> SentenceRecord:
    return SentenceRecord(id=row[0], passage_id=row[1], start=row[2], end=row[3], text=row[4], kind=row[5],
                          block=row[6], facts=row[7], terms=tuple(row[8].split()))


@dataclass
class VersionContent:
    """Everything one version holds, as ingest hands it to a store to write.

    ``passages[i].id == i`` and ``vectors[i]`` is its vector; ``sentences[j].id == j`` and
    ``sentence_vectors[j]`` its vector. Terms are filled in by the store (it owns the analyser).
    """

    model: ModelInfo
    chunker: dict[str, Any]
    documents: list[DocumentEntry]
    passages: list[Passage]
    pages: list[Page]
    vectors: np.ndarray
    sentences: list[SentenceRecord]
    sentence_vectors: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)
    analyzer: dict[str, Any] = field(default_factory=analyzer_config)
    version_id: str = ""  # empty: the store makes a new id (set when a version moves between stores)
    created_at: float = 0.0  # 0: now


class IndexReader(Protocol):
    """One published version, read-only and safe to share between threads."""

    @property
    def manifest(self) -> Manifest: ...

    @property
    def version_id(self) -> str: ...

    @property
    def passage_count(self) -> int: ...

    def dense_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k passage ids and cosines for one L2-normalised query vector, best first."""
        ...

    def dense_scores(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        """Exact cosines of the query against chosen passages."""
        ...

    def query_terms(self, question: str) -> list[str]:
        """The question analysed as the lexical index was (stemming, folding, decompounding)."""
        ...

    def lexical_search(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k passage ids and BM25 scores (only ids with a score above 0), best first."""
        ...

    def lexical_scores(self, terms: Sequence[str], ids: Sequence[int]) -> np.ndarray:
        """BM25 scores of chosen passages."""
        ...

    def search_both(self, query: np.ndarray, terms: Sequence[str], k: int,
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """``dense_search(query, k)`` and ``lexical_search(terms, k)``, which a store may run side by side.
        The lexical search runs in the calling thread (``lexical_scores`` may reuse its work there)."""
        ...

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """IDF of the terms the corpus knows (unknown terms are left out)."""
        ...

    @property
    def max_idf(self) -> float: ...

    def passages(self, ids: Sequence[int]) -> list[Passage]:
        """Passages by id, in the order asked."""
        ...

    def passage_terms(self, ids: Sequence[int]) -> list[frozenset[str]]:
        """The analysed terms of each passage (section path and text), in the order asked."""
        ...

    def passage_vectors(self, ids: Sequence[int]) -> np.ndarray: ...

    def sentences(self, passage_ids: Sequence[int]) -> list[SentenceRecord]:
        """The sentences of the given passages, in passage order then text order."""
        ...

    def sentence_vectors(self, ids: Sequence[int]) -> np.ndarray: ...

    def document(self, source: str) -> tuple[list[Page], list[Passage]] | None:
        """One document's page texts and passages, or None when it is not in this version."""
        ...

    def for_audiences(self, audiences: frozenset[str]) -> IndexReader:
        """This version as an asker in ``audiences`` may see it (assistant/audience.py), deny by default.

        Searches filter inside the store (a hidden passage is never a candidate, so it neither crowds out
        visible ones nor shows in a count); reading a hidden passage, its sentences or its document gives
        nothing; scores and vectors of hidden ids are zeros. The manifest lists only visible documents and
        the IDF statistics count only visible passages. A version whose documents are all visible to the
        asker returns the reader itself. Cheap after the first call per audience set (cached)."""
        ...

    def close(self) -> None: ...


class ManifestReader:
    """What every reader derives from its version's manifest (a base class for the two stores' readers)."""

    _manifest: Manifest

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def version_id(self) -> str:
        return self._manifest.version_id

    @property
    def passage_count(self) -> int:
        return self._manifest.passage_count

    def for_audiences(self, audiences: frozenset[str]) -> IndexReader:
        """Deny by default for a store that cannot filter by audience: the version itself when every document
        is visible to the asker, else a refusal (never the unfiltered version). Stores override it."""
        if all(d.visible_to(audiences) for d in self._manifest.documents):
            return self  # type: ignore[return-value]  # the concrete readers are IndexReaders
        raise IndexFormatError(t("index.damaged", reason="this store cannot filter passages by audience"))


class IndexStore(Protocol):
    """Where versions live: write, publish atomically, find the current one, one ingest at a time."""

    def current_version(self) -> str | None: ...

    def open(self, version: str | None = None) -> IndexReader: ...

    def read_manifest(self, version: str) -> Manifest:
        """A version's manifest alone (cheap: no vectors or passages are opened)."""
        ...

    def write(self, content: VersionContent) -> str:
        """Write a complete new version beside the published one; returns its id. Does not publish."""
        ...

    def publish(self, version_id: str) -> None: ...

    def prune(self, keep: int = 3) -> list[str]: ...

    def lock(self) -> AbstractContextManager[Any]:
        """The exclusive ingest lock (IngestBusyError when another ingest holds it)."""
        ...

    def read_last_ingest(self) -> dict[str, Any] | None: ...

    def write_last_ingest(self, report: dict[str, Any]) -> None: ...

    def describe(self) -> str:
        """Where the store is, for people (a path, or a database URL without its password)."""
        ...
