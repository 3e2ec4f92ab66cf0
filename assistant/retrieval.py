"""Hybrid retrieval: dense (FAISS) and lexical (BM25 over Dutch-analysed terms), fused by rank.

Dense vectors carry meaning across languages and paraphrases; the lexical side nails names,
numbers and rare Dutch words ("correspondentietesten", "12work") that embeddings blur.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .analysis import Decompounder, analyze, content_words, words
from .embedding import Embedder
from .index import IndexData
from .types import Passage

RRF_K = 60
CANDIDATES = 100


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # fused score, comparable within one query only
    dense: float  # cosine similarity of question and passage
    lexical: float  # BM25 score
    coverage: float  # share of the question's IDF mass found in the passage


class LexicalIndex:
    """Okapi BM25 over stemmed, accent-folded, decompounded terms."""

    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75) -> None:
        vocab = Counter(w for text in texts for w in content_words(text))
        self.decompounder = Decompounder(vocab)
        self.k1, self.b = k1, b
        self.docs = [Counter(analyze(text, self.decompounder)) for text in texts]
        self.lengths = np.array([sum(d.values()) for d in self.docs], dtype=np.float32)
        self.avgdl = float(self.lengths.mean()) if len(self.docs) else 0.0
        df: Counter[str] = Counter()
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, d in enumerate(self.docs):
            for term, tf in d.items():
                df[term] += 1
                self.postings.setdefault(term, []).append((i, tf))
        n = len(self.docs)
        self.idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}

    def query_terms(self, question: str) -> list[str]:
        return list(dict.fromkeys(analyze(question, self.decompounder)))

    def scores(self, terms: list[str]) -> np.ndarray:
        out = np.zeros(len(self.docs), dtype=np.float32)
        for term in terms:
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in self.postings[term]:
                denom = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avgdl)
                out[i] += idf * tf * (self.k1 + 1) / denom
        return out

    def coverage(self, terms: list[str], doc: int) -> float:
        """IDF-weighted share of query terms present in ``doc``; unknown terms count at full weight."""
        if not terms:
            return 0.0
        max_idf = max(self.idf.values(), default=1.0)
        total = found = 0.0
        for term in terms:
            weight = self.idf.get(term, max_idf)
            total += weight
            if term in self.docs[doc]:
                found += weight
        return found / total if total else 0.0


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    toks = words(text)
    return {tuple(toks[i:i + n]) for i in range(max(1, len(toks) - n + 1))}


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class Retriever:
    """Searches one loaded index version."""

    DUPLICATE_JACCARD = 0.5

    def __init__(self, data: IndexData, embedder: Embedder) -> None:
        self.data = data
        self.embedder = embedder
        self.lexical = LexicalIndex([f"{p.title}\n{p.section}\n{p.text}" for p in data.passages])
        self._shingles: dict[int, set[tuple[str, ...]]] = {}

    def _shingles_of(self, pid: int) -> set[tuple[str, ...]]:
        if pid not in self._shingles:
            self._shingles[pid] = shingles(self.data.passages[pid].text)
        return self._shingles[pid]

    def search(self, question: str, k: int = 5) -> tuple[list[Hit], dict[str, float]]:
        """Top-k distinct passages for ``question``, best first, and signals for the abstention decision."""
        n = len(self.data.passages)
        if n == 0:
            return [], {"dense_top": 0.0, "dense_z": 0.0, "coverage": 0.0}
        qvec = self.embedder.embed_queries([question])[0]
        n_cand = min(n, max(CANDIDATES, 4 * k))
        dense_scores, dense_ids = self.data.vectors.search(qvec[None, :], n_cand)
        dense_ids, dense_scores = dense_ids[0], dense_scores[0]
        valid = dense_ids >= 0
        dense_ids, dense_scores = dense_ids[valid], dense_scores[valid]

        terms = self.lexical.query_terms(question)
        lex = self.lexical.scores(terms)
        lex_order = np.argsort(-lex)[:n_cand]
        lex_order = lex_order[lex[lex_order] > 0]

        fused: dict[int, float] = {}
        for rank, pid in enumerate(dense_ids):
            fused[int(pid)] = fused.get(int(pid), 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, pid in enumerate(lex_order):
            fused[int(pid)] = fused.get(int(pid), 0.0) + 1.0 / (RRF_K + rank + 1)

        dense_of = dict(zip((int(i) for i in dense_ids), (float(s) for s in dense_scores), strict=True))
        missing = [pid for pid in fused if pid not in dense_of]
        if missing:
            for pid, s in zip(missing, self.data.vectors.scores_for(qvec, np.array(missing)), strict=True):
                dense_of[pid] = float(s)

        ranked = sorted(fused.items(), key=lambda kv: -kv[1])
        hits: list[Hit] = []
        for pid, score in ranked:
            if len(hits) >= k:
                break
            sh = self._shingles_of(pid)
            if any(jaccard(sh, self._shingles_of(h.passage.id)) >= self.DUPLICATE_JACCARD for h in hits):
                continue  # a near-duplicate of a better passage (the programme and its announcement overlap)
            hits.append(Hit(self.data.passages[pid], score, dense_of[pid], float(lex[pid]),
                            self.lexical.coverage(terms, pid)))

        top = float(dense_scores[0]) if len(dense_scores) else 0.0
        spread = float(np.std(dense_scores)) if len(dense_scores) > 1 else 0.0
        signals = {
            "dense_top": top,
            "dense_z": (top - float(np.mean(dense_scores))) / spread if spread > 1e-6 else 0.0,
            "coverage": max((h.coverage for h in hits[:3]), default=0.0),
            "terms": float(len(terms)),
        }
        return hits, signals
