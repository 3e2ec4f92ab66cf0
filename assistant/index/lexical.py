"""The lexical side of an index, shared by both storage backends: one analyser, one BM25.

Both backends score with BM25 as Lucene computes it (k1 1.2, b 0.75: idf * tf / (tf + k1 * norm), without
the constant k1 + 1 factor) over the same analysed terms, so the file backend (bm25s, method "lucene")
and PostgreSQL (sparse vectors of the same weights) give the same scores.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.text.analysis import DEFAULT_STEMMER, Decompounder, analyze, analyzer_config, content_words
from assistant.types import Passage

K1 = 1.2
B = 0.75


def lexical_text(p: Passage) -> str:
    """What BM25 indexes: the passage and its section path (words people ask with), not the title.

    A title repeated in every passage of a document makes them all match its words equally, which
    hides the one passage that answers; the title still reaches the dense vector.
    """
    return f"{p.section}\n{p.text}"


def vocabulary_of(texts: Iterable[str]) -> set[str]:
    """The folded content words of a corpus: what the decompounder may split compounds into."""
    return {w for text in texts for w in content_words(text) if len(w) >= Decompounder.MIN_PART}


class Analyser:
    """The project's analyser bound to one corpus vocabulary (for compound splitting)."""

    def __init__(self, config: dict[str, Any] | None, vocabulary: Iterable[str]) -> None:
        self.config = dict(config or analyzer_config())
        self.stemmer = str(self.config.get("stemmer", DEFAULT_STEMMER))
        self.decompounder = Decompounder(vocabulary, self.stemmer)

    def terms(self, text: str) -> list[str]:
        return analyze(text, self.decompounder)

    def query_terms(self, question: str) -> list[str]:
        return list(dict.fromkeys(self.terms(question)))


def full_match(idfs: Iterable[float]) -> float:
    """The BM25 score of an average-length passage holding each term once: the scale of a full match."""
    return sum(idfs) / (1 + K1)


def idf(df: int, n: int) -> float:
    """Lucene's BM25 IDF (always positive)."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def bm25_weights(docs: Sequence[Sequence[str]]) -> tuple[list[dict[str, float]], dict[str, int]]:
    """Per document, the BM25 weight of each term it holds (a query scores the sum over its terms),
    and the document frequency of every term. The reference for backends that store weights."""
    counts = [Counter(d) for d in docs]
    n = len(counts)
    lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
    avgdl = float(lengths.mean()) if n else 0.0
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    weights = []
    for c, length in zip(counts, lengths, strict=True):
        norm = K1 * (1 - B + B * length / avgdl) if avgdl else K1
        weights.append({term: idf(df[term], n) * tf / (tf + norm) for term, tf in c.items()})
    return weights, dict(df)


@dataclass(frozen=True)
class BM25Matrix:
    """``bm25_weights`` as a sparse document-by-term matrix (CSR), for corpora too large for dicts.

    ``vocabulary[i]`` is term ``i`` (sorted); document ``d`` holds ``indices[indptr[d]:indptr[d + 1]]`` (term
    ids, ascending) with ``weights`` at the same positions; ``df[i]`` is term ``i``'s document frequency.
    """

    vocabulary: list[str]
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    df: np.ndarray


def bm25_matrix(docs: Sequence[Sequence[str]], block: int = 50_000) -> BM25Matrix:
    """The numbers of :func:`bm25_weights` (float32), computed with numpy a block of documents at a time, so
    that a million passages fit in memory."""
    vocabulary = sorted({term for d in docs for term in d})
    ids = {term: i for i, term in enumerate(vocabulary)}
    n, v = len(docs), max(len(vocabulary), 1)
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=n)
    counts = np.zeros(n, dtype=np.int64)
    cols_parts, tf_parts = [], []
    for start in range(0, n, block):
        part = docs[start:start + block]
        flat = np.fromiter((ids[term] for d in part for term in d), dtype=np.int64,
                           count=int(lengths[start:start + len(part)].sum()))
        doc_of = np.repeat(np.arange(len(part), dtype=np.int64), lengths[start:start + len(part)])
        keys, tf = np.unique(doc_of * v + flat, return_counts=True)  # sorted: by document, then term
        counts[start:start + len(part)] = np.bincount(keys // v, minlength=len(part))
        cols_parts.append((keys % v).astype(np.int32))
        tf_parts.append(tf.astype(np.int32))
    cols = np.concatenate(cols_parts) if cols_parts else np.zeros(0, dtype=np.int32)
    tf = np.concatenate(tf_parts) if tf_parts else np.zeros(0, dtype=np.int32)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    rows = np.repeat(np.arange(n, dtype=np.int64), counts)
    df = np.bincount(cols, minlength=len(vocabulary)).astype(np.int64)
    avgdl = float(lengths.mean()) if n else 0.0
    norm = K1 * (1 - B + B * lengths / avgdl) if avgdl else np.full(n, K1)
    idfs = np.log(1 + (n - df + 0.5) / (df + 0.5))
    weights = (idfs[cols] * tf / (tf + norm[rows])).astype(np.float32)
    return BM25Matrix(vocabulary=vocabulary, indptr=indptr, indices=cols, weights=weights, df=df)
