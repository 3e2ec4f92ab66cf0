"""Hybrid retrieval over one index version: dense (e5 vectors) and lexical (BM25 over Dutch-analysed
terms), fused by score, near-duplicates removed.

Dense vectors carry meaning across languages and paraphrases; the lexical side nails names, numbers
and rare Dutch words ("correspondentietesten", "12work") that embeddings blur.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from assistant.index.lexical import full_match
from assistant.index.protocol import IndexReader
from assistant.text.analysis import detect_language, words
from assistant.types import Passage

CANDIDATES = 100
LEXICAL_WEIGHT = 2.5  # a full lexical match is worth 2.5 standard deviations of dense similarity
# The analyser is Dutch: for English or French questions word matches are mostly accidental
# cognates, so they count for less.
FOREIGN_LEXICAL_FACTOR = 0.2
DUPLICATE_JACCARD = 0.5


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # fused score, comparable within one query only
    dense: float  # cosine similarity of question and passage
    lexical: float  # BM25 score
    coverage: float  # share of the question's IDF mass found in the passage (unknown terms count)
    known_coverage: float  # the same over the terms the corpus knows


@dataclass
class Retrieval:
    """What one search found, with what evidence scoring needs to go on."""

    question: str
    language: str
    query: np.ndarray
    terms: list[str]
    idf: dict[str, float]
    max_idf: float
    hits: list[Hit]
    signals: dict[str, float] = field(default_factory=dict)


@lru_cache(maxsize=4096)
def shingles(text: str, n: int = 3) -> frozenset[tuple[str, ...]]:
    """Word trigrams of a passage (cached: the same passages come back for question after question)."""
    toks = words(text)
    return frozenset(tuple(toks[i:i + n]) for i in range(max(1, len(toks) - n + 1)))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def coverage(terms: list[str], present: frozenset[str], idf: dict[str, float], max_idf: float,
             known_only: bool = False) -> float:
    """IDF-weighted share of query terms present in a passage.

    Terms the corpus never uses count at full weight ("leefloon" in a corpus without it is strong
    evidence of no answer), unless ``known_only``: for a question in another language most words
    are simply not Dutch, so only the terms the corpus does know are weighed.
    """
    total = found = 0.0
    for term in terms:
        if known_only and term not in idf:
            continue
        weight = idf.get(term, max_idf)
        total += weight
        if term in present:
            found += weight
    return found / total if total else 0.0


class Retriever:
    """Searches one index version."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader

    def search(self, question: str, query: np.ndarray, k: int = 5) -> Retrieval:
        """Top-k distinct passages for ``question`` (its vector is ``query``), best first, with signals."""
        reader = self.reader
        lang = detect_language(question)
        terms = reader.query_terms(question)
        idf = reader.idf(terms)
        max_idf = reader.max_idf
        result = Retrieval(question, lang, query, terms, idf, max_idf, [])
        n = reader.passage_count
        if n == 0:
            result.signals = {"dense_top": 0.0, "dense_z": 0.0, "coverage": 0.0, "known_coverage": 0.0,
                              "dutch": 1.0 if lang == "nl" else 0.0}
            return result
        n_cand = min(n, max(CANDIDATES, 4 * k))
        (dense_ids, dense_scores), (lex_ids, lex_scores) = reader.search_both(query, terms, n_cand)

        candidates = list(dict.fromkeys([int(i) for i in dense_ids] + [int(i) for i in lex_ids]))
        dense_of = dict(zip((int(i) for i in dense_ids), (float(s) for s in dense_scores), strict=True))
        lex_of = dict(zip((int(i) for i in lex_ids), (float(s) for s in lex_scores), strict=True))
        missing = [pid for pid in candidates if pid not in dense_of]
        if missing:
            dense_of.update(zip(missing, (float(s) for s in reader.dense_scores(query, missing)), strict=True))
        no_lex = [pid for pid in candidates if pid not in lex_of]
        if no_lex and len(lex_ids):
            lex_of.update(zip(no_lex, (float(s) for s in reader.lexical_scores(terms, no_lex)), strict=True))
        # Score fusion: the dense cosine in units of its spread over the candidates, plus the lexical
        # match relative to a full match of the question's terms. Unlike rank fusion, a passage that
        # is the only one to contain a rare name or number keeps its lead.
        mean = float(np.mean(dense_scores)) if len(dense_scores) else 0.0
        spread = float(np.std(dense_scores)) if len(dense_scores) > 1 else 0.0
        scale = spread or 1.0
        weight = LEXICAL_WEIGHT * (1.0 if lang == "nl" else FOREIGN_LEXICAL_FACTOR) / (
            full_match(idf.values()) or 1.0)
        fused = {pid: (dense_of[pid] - mean) / scale + weight * lex_of.get(pid, 0.0) for pid in candidates}
        ranked = sorted(fused, key=lambda pid: -fused[pid])

        hits: list[Hit] = []
        seen: list[frozenset[tuple[str, ...]]] = []
        window = 3 * k
        start = 0
        while len(hits) < k and start < len(ranked):
            chunk = ranked[start:start + window]
            start += window
            passages = reader.passages(chunk)
            present = reader.passage_terms(chunk)
            for p, terms_of in zip(passages, present, strict=True):
                if len(hits) >= k:
                    break
                sh = shingles(p.text)
                if any(jaccard(sh, other) >= DUPLICATE_JACCARD for other in seen):
                    continue  # a near-duplicate of a better passage (the programme and its announcement overlap)
                seen.append(sh)
                hits.append(Hit(p, fused[p.id], dense_of[p.id], lex_of.get(p.id, 0.0),
                                coverage(terms, terms_of, idf, max_idf),
                                coverage(terms, terms_of, idf, max_idf, known_only=True)))
        top = float(dense_scores[0]) if len(dense_scores) else 0.0
        best = hits[:3]
        result.hits = hits
        result.signals = {
            "dense_top": top,
            "dense_z": (top - mean) / spread if spread > 1e-6 else 0.0,
            "coverage": max((h.coverage for h in best), default=0.0),
            "known_coverage": max((h.known_coverage for h in best), default=0.0),
            "dutch": 1.0 if lang == "nl" else 0.0,
        }
        return result
