"""Hybrid retrieval: dense (FAISS) and lexical (BM25 over Dutch-analysed terms), fused by rank.

Dense vectors carry meaning across languages and paraphrases; the lexical side nails names,
numbers and rare Dutch words ("correspondentietesten", "12work") that embeddings blur.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .analysis import Decompounder, analyze, content_words, detect_language, words
from .embedding import Embedder
from .index import IndexData
from .types import Passage

CANDIDATES = 100
LEXICAL_WEIGHT = 2.5  # a full lexical match is worth 2.5 standard deviations of dense similarity
# The analyser is Dutch: for English or French questions word matches are mostly accidental
# cognates, so they count for less.
FOREIGN_LEXICAL_FACTOR = 0.2


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

    def ideal(self, terms: list[str]) -> float:
        """BM25 of an average-length passage containing each known query term once: the scale of a full match."""
        return sum(self.idf[t] for t in terms if t in self.idf) or 1.0

    def coverage(self, terms: list[str], doc: int, known_only: bool = False) -> float:
        """IDF-weighted share of query terms present in ``doc``.

        Terms the corpus never uses count at full weight ("leefloon" in a corpus without it is strong
        evidence of no answer), unless ``known_only``: for a question in another language most words
        are simply not Dutch, so only the terms the corpus does know are weighed.
        """
        if not terms:
            return 0.0
        max_idf = max(self.idf.values(), default=1.0)
        total = found = 0.0
        for term in terms:
            if known_only and term not in self.idf:
                continue
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


def lexical_text(p: Passage) -> str:
    """What BM25 indexes: the passage and its section path (words people ask with), not the title.

    A title repeated in every passage of a document makes them all match its words equally, which
    hides the one passage that answers; the title still reaches the dense vector.
    """
    return f"{p.section}\n{p.text}"


class Retriever:
    """Searches one loaded index version."""

    DUPLICATE_JACCARD = 0.5

    def __init__(self, data: IndexData, embedder: Embedder) -> None:
        self.data = data
        self.embedder = embedder
        self.lexical = LexicalIndex([lexical_text(p) for p in data.passages])
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

        candidates = list(dict.fromkeys([int(i) for i in dense_ids] + [int(i) for i in lex_order]))
        dense_of = dict(zip((int(i) for i in dense_ids), (float(s) for s in dense_scores), strict=True))
        missing = [pid for pid in candidates if pid not in dense_of]
        if missing:
            for pid, s in zip(missing, self.data.vectors.scores_for(qvec, np.array(missing)), strict=True):
                dense_of[pid] = float(s)
        # Score fusion: the dense cosine in units of its spread over the candidates, plus the lexical
        # match relative to a full match of the question's terms. Unlike rank fusion, a passage that
        # is the only one to contain a rare name or number keeps its lead.
        mean, spread = float(np.mean(dense_scores)), float(np.std(dense_scores)) or 1.0
        lang = detect_language(question)
        weight = LEXICAL_WEIGHT * (1.0 if lang == "nl" else FOREIGN_LEXICAL_FACTOR) / self.lexical.ideal(terms)
        fused = {pid: (dense_of[pid] - mean) / spread + weight * float(lex[pid]) for pid in candidates}
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
        best = hits[:3]
        signals = {
            "dense_top": top,
            "dense_z": (top - float(np.mean(dense_scores))) / spread if spread > 1e-6 else 0.0,
            "coverage": max((h.coverage for h in best), default=0.0),
            "known_coverage": max((self.lexical.coverage(terms, h.passage.id, known_only=True) for h in best),
                                  default=0.0),
            "dutch": 1.0 if lang == "nl" else 0.0,
        }
        return hits, signals
