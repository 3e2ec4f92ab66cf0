"""An index version as one set of audiences may see it: what ``IndexReader.for_audiences`` returns.

Both stores filter *inside* their searches (FAISS with a bitmap id selector and a masked BM25 in the file
backend; ``WHERE audience && $groups`` and masked posting lists in PostgreSQL), so a hidden passage is never a
candidate: it cannot crowd visible passages out of the top-k, nor show in a count. What every store's view
shares lives here: a boolean mask over passage ids (and one over sentence ids), computed once per audience set
from the passages' records, and every read through it. A hidden passage reads as absent (``passages``,
``sentences``, ``document``) and scores as nothing (zeros for its vectors and scores), which is how evidence,
composition, the language model and conversations never meet it. The manifest lists only visible documents,
and passage and sentence counts are the visible ones.

Known residue, as in Elasticsearch's document-level security: BM25's own statistics (document frequencies and
the average passage length baked into its weights) and the compound splitter's vocabulary are those of the
whole version, so a hidden document shifts scores slightly. IDF as retrieval and evidence use it (coverage, the
lexical weight) is counted over visible passages only, so a word that only a hidden document uses is
"unknown" to an outsider, exactly as if that document were not there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from assistant.index.lexical import idf
from assistant.index.protocol import IndexReader, ManifestReader, SentenceRecord
from assistant.types import Page, Passage

EVERYONE_MARK = "*"  # PostgreSQL stores a document for everyone with this "group", which every asker has


class AudienceView(ManifestReader):
    """Reads of one version through a mask of the passages (and sentences) an asker may see.

    Stores subclass it with their filtered ``dense_search``, ``lexical_search`` and ``visible_df``."""

    def __init__(self, base: Any, audiences: frozenset[str], visible: np.ndarray,
                 visible_sentences: np.ndarray) -> None:
        self._base = base
        self._audiences = audiences
        self._visible = visible
        self._visible_sentences = visible_sentences
        self._manifest = replace(base.manifest.for_audiences(audiences), passage_count=int(visible.sum()),
                                 sentence_count=int(visible_sentences.sum()))

    # ------------------------------------------------------------ what stores provide

    def dense_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def lexical_search(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def visible_df(self, terms: Sequence[str]) -> dict[str, int]:
        """Per known term, in how many visible passages it occurs."""
        raise NotImplementedError

    # ------------------------------------------------------------ shared

    def _shown(self, ids: Sequence[int]) -> list[int]:
        n = len(self._visible)
        return [int(i) for i in ids if 0 <= int(i) < n and self._visible[int(i)]]

    def _mask(self, ids: Sequence[int], visible: np.ndarray) -> np.ndarray:
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        inside = (arr >= 0) & (arr < len(visible))
        out = np.zeros(len(arr), dtype=bool)
        out[inside] = visible[arr[inside]]
        return out

    def search_both(self, query: np.ndarray, terms: Sequence[str], k: int,
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        return self.dense_search(query, k), self.lexical_search(terms, k)

    def passage_vectors(self, ids: Sequence[int]) -> np.ndarray:
        shown = self._mask(ids, self._visible)
        out = np.zeros((len(shown), self._manifest.model.dim), dtype=np.float32)
        if shown.any():
            out[shown] = self._base.passage_vectors([int(i) for i, s in zip(ids, shown, strict=True) if s])
        return out

    def dense_scores(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        return self.passage_vectors(ids) @ np.asarray(query, dtype=np.float32)

    def query_terms(self, question: str) -> list[str]:
        return self._base.query_terms(question)  # type: ignore[no-any-return]

    def lexical_scores(self, terms: Sequence[str], ids: Sequence[int]) -> np.ndarray:
        shown = self._mask(ids, self._visible)
        scores = np.zeros(len(shown), dtype=np.float32)
        if shown.any():
            scores[shown] = self._base.lexical_scores(terms, [int(i) for i, s in zip(ids, shown, strict=True) if s])
        return scores

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """IDF over the visible passages: a word that only a hidden document uses is unknown here."""
        n = self.passage_count
        return {term: idf(df, n) for term, df in self.visible_df(terms).items() if df}

    @property
    def max_idf(self) -> float:
        return idf(1, max(1, self.passage_count))

    def passages(self, ids: Sequence[int]) -> list[Passage]:
        return self._base.passages(self._shown(ids))  # type: ignore[no-any-return]

    def passage_terms(self, ids: Sequence[int]) -> list[frozenset[str]]:
        shown = list(dict.fromkeys(self._shown(ids)))
        found = dict(zip(shown, self._base.passage_terms(shown), strict=True))
        return [found.get(int(i), frozenset()) for i in ids]

    def sentences(self, passage_ids: Sequence[int]) -> list[SentenceRecord]:
        return self._base.sentences(self._shown(passage_ids))  # type: ignore[no-any-return]

    def sentence_vectors(self, ids: Sequence[int]) -> np.ndarray:
        shown = self._mask(ids, self._visible_sentences)
        out = np.zeros((len(shown), self._manifest.model.dim), dtype=np.float32)
        if shown.any():
            out[shown] = self._base.sentence_vectors([int(i) for i in np.asarray(ids, dtype=np.int64)[shown]])
        return out

    def document(self, source: str) -> tuple[list[Page], list[Passage]] | None:
        if self._manifest.document(source) is None:
            return None
        found = self._base.document(source)
        if found is None:
            return None
        pages, passages = found
        return pages, [p for p in passages if self._visible[p.id]]

    def for_audiences(self, audiences: frozenset[str]) -> IndexReader:
        if audiences != self._audiences:  # a view never widens itself; ask the version's reader
            raise ValueError("an audience view is for one set of audiences")
        return self  # type: ignore[return-value]

    def close(self) -> None:
        """The version's reader owns the files and connections; a view holds only masks."""


def hidden_documents(manifest: Any, audiences: frozenset[str]) -> bool:
    """Whether the version holds a document an asker in ``audiences`` may not see (else no view is needed)."""
    return any(not d.visible_to(audiences) for d in manifest.documents)


MAX_VIEWS = 64  # audience sets kept per version (each holds two boolean masks); more are rebuilt when asked


class AudienceViews:
    """A version's views, one per set of audiences asked for, shared by the threads that ask (both stores)."""

    def __init__(self, reader: IndexReader, make: Callable[[frozenset[str]], IndexReader]) -> None:
        self._reader = reader
        self._make = make
        self._views: dict[frozenset[str], IndexReader] = {}
        self._lock = threading.Lock()

    def get(self, audiences: frozenset[str]) -> IndexReader:
        """The reader as ``audiences`` may see it: the version itself when it hides nothing from them."""
        if not hidden_documents(self._reader.manifest, audiences):
            return self._reader  # all of it is visible (always so for a version without audiences): no filter
        with self._lock:
            view = self._views.get(audiences)
            if view is None:
                if len(self._views) >= MAX_VIEWS:
                    self._views.clear()
                view = self._views[audiences] = self._make(audiences)
        return view
