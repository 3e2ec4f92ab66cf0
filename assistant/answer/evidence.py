"""Sentence-level evidence: which sentences of the retrieved passages answer the question, and whether any does.

Every sentence of the top passages is described by a few signals: how close its vector is to the
question's, how many of the question's distinctive words it holds, whether it holds the kind of fact
asked (a number for "hoeveel", a person for "wie", a date for "wanneer"), what its neighbours say, and
what kind of unit it is (a question or a bare heading never answers). Three models weigh these
signals, all fitted on labelled questions with cross-validation by ``bench/calibrate.py``:

* the sentence model: how likely a sentence states the asked fact (a probability that means the same
  for every question, so the gates can read it);
* the sentence ranker: which of *this question's* sentences states it best. It scores the same signals,
  but is fitted as a conditional logit (a softmax over each question's sentences), so it learns only
  what tells sentences of one question apart. It chooses and orders the quoted sentences: on held-out
  questions it put the right sentence first more often than the sentence model (bench/calibrate.py);
* the answerability gates: whether the documents are about the question at all ("topic"), and whether
  the best sentences hold the specific fact it asks for ("fact"); each with a decision threshold per
  language (questions in English or French meet Dutch sentences at lower similarity and share few
  words with them). Two gates because the two ways to have no answer look different: an off-topic
  question is far from every passage, a near miss is close to the right passage but lacks its fact.

The fitted numbers live in ``evidence_model.json`` next to this module, with the data they came from;
no constant in this file is tuned to a question. The same scoring verifies sentences written by a
language model (issue 11): a generated sentence must be supported by the passage it cites.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.retrieval import Hit, Retrieval
from assistant.index.protocol import IndexReader, SentenceRecord
from assistant.text.facts import (
    AMOUNT,
    CONTACT,
    DATE,
    DEFINITION,
    NAME,
    NUMBER,
    PERSON,
    PLACE,
    Ask,
    Fact,
    ask_of,
    decode_facts,
    fact_match,
)

MODEL_PATH = Path(__file__).with_name("evidence_model.json")
# The asked kind of fact weighs differently per kind (a place line answers "waar" by itself; a name is
# common and needs its topic), so the sentence model sees the fact match once per group of kinds.
FACT_GROUPS = ((NUMBER, AMOUNT), (PERSON,), (DATE,), (PLACE,), (CONTACT,), (DEFINITION,), (NAME,))
CONTEXT = 2  # neighbours on each side that lend a sentence their topic ("Begeleiding: …" under a session title)

SENTENCE_FEATURES = (
    "cos", "rel_cos", "cos_prev", "cos_next", "cos_ctx", "cos_passage", "rank", "lex", "rel_lex", "lex_loose",
    "lex_ctx",
    "lex_section", "focus", "fact", "fact_missing", "fact_x_cos", "question", "heading", "item", "lead_in",
    "short", "log_words", "first", "foreign", "foreign_x_cos", "novelty", "focus_named",
    "fact_number", "fact_person", "fact_date", "fact_place", "fact_contact", "fact_definition", "fact_name",
)
# The ranker sees one signal more: how much of a sentence is the asked fact (a bare date line answers "wanneer"
# better than a sentence that mentions a date). It orders one question's sentences well, but as an absolute
# signal it made the sentence model, and through it the gates, refuse more answerable questions (calibration
# runs in docs/benchmarks.md), so the sentence model does without it.
RANKER_FEATURES = (*SENTENCE_FEATURES, "fact_density")
# The direction in which each answer signal may push, fixed by what it means (+1: more of it is more evidence
# of an answer; -1: less; 0: free). Fitting respects it, so a few odd training questions cannot teach the
# model that, say, fewer of the question's words in the passages is a sign of an answer.
ANSWER_SIGNS = {
    "best": 1, "second": 1, "best_logit": 1, "dense_top": 1, "dense_z": 1, "coverage": 1, "known_coverage": 1,
    "unknown_mass": -1, "best_fact": 1, "fact_missing": -1, "fact_lex": 1, "fact_cos": 1, "has_focus": 0,
    "focus_found": 1, "checkable": 0, "foreign": 0, "open_dense": 1, "open_best": 1, "open_cov": 1,
    "foreign_dense": 1,
}
# The topic gate sees how close the question is to the corpus at all.
TOPIC_FEATURES = ("best", "dense_top", "dense_z", "coverage", "known_coverage", "unknown_mass", "foreign",
                  "foreign_dense")
ANSWER_FEATURES = (
    "best", "second", "best_logit", "dense_top", "dense_z", "coverage", "known_coverage", "unknown_mass",
    "best_fact", "fact_missing", "fact_lex", "fact_cos", "has_focus", "focus_found", "checkable", "foreign",
    "open_dense", "open_best", "open_cov", "foreign_dense",
)


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved passage, with its signals and the sentence model's probability."""

    sentence: SentenceRecord
    hit: Hit
    rank: int  # rank of its passage in the retrieval, 0 = best
    features: np.ndarray
    probability: float  # the sentence model's: does it state the asked fact
    fact: float  # how well it supplies the asked kind of fact (facts.fact_match)
    share: float  # the ranker's softmax share among the question's eligible sentences (they sum to 1)


@dataclass(frozen=True)
class Evidence:
    """The scored sentences of one question and the answerability decision."""

    ask: Ask
    candidates: list[Candidate]  # eligible sentences, best first
    sentences: list[SentenceRecord]  # every sentence of the retrieved passages, in passage and text order
    answerable: bool
    confidence: float  # the answerability model's probability
    features: dict[str, float]
    terms: frozenset[str] = frozenset()  # the question's analysed terms (as SentenceRecord.terms are analysed)


def _logistic(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


@dataclass(frozen=True)
class LinearModel:
    """A fitted logistic model: standardisation, weights, intercept."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    intercept: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearModel:
        return cls(tuple(data["features"]), np.asarray(data["mean"], dtype=np.float64),
                   np.asarray(data["scale"], dtype=np.float64), np.asarray(data["weights"], dtype=np.float64),
                   float(data["intercept"]))

    def logit(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(((x - self.mean) / self.scale) @ self.weights + self.intercept)

    def probability(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(_logistic(self.logit(x)))


@dataclass(frozen=True)
class Gate:
    """One answerability gate: a logistic model over answer signals and a threshold per language group."""

    model: LinearModel
    thresholds: dict[str, float]  # "nl" and "foreign"

    def probability(self, signals: dict[str, float]) -> float:
        return float(self.model.probability(np.array([[signals[f] for f in self.model.features]]))[0])

    def passes(self, signals: dict[str, float]) -> tuple[bool, float]:
        p = self.probability(signals)
        return p >= self.thresholds["foreign" if signals["foreign"] else "nl"], p


GATES = {"topic": TOPIC_FEATURES, "fact": ANSWER_FEATURES}


@dataclass(frozen=True)
class EvidenceModel:
    """The sentence model, the sentence ranker and the answerability gates."""

    sentence: LinearModel
    ranker: LinearModel
    gates: dict[str, Gate]
    meta: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceModel:
        if tuple(data["sentence"]["features"]) != SENTENCE_FEATURES or set(data.get("gates", {})) != set(GATES) \
                or tuple(data.get("ranker", {}).get("features", ())) != RANKER_FEATURES \
                or any(tuple(data["gates"][g]["features"]) != f for g, f in GATES.items()):
            raise ValueError("evidence_model.json was fitted on other features; run bench/calibrate.py --write")
        gates = {name: Gate(LinearModel.from_dict(g), {k: float(v) for k, v in g["thresholds"].items()})
                 for name, g in data["gates"].items()}
        return cls(LinearModel.from_dict(data["sentence"]), LinearModel.from_dict(data["ranker"]), gates,
                   dict(data.get("meta", {})))

    @classmethod
    def neutral(cls) -> EvidenceModel:
        """A model that weighs nothing: for calibration, which computes signals before any fit exists."""
        def zero(features: tuple[str, ...]) -> LinearModel:
            n = len(features)
            return LinearModel(features, np.zeros(n), np.ones(n), np.zeros(n), 0.0)
        gates = {name: Gate(zero(f), {"nl": 0.5, "foreign": 0.5}) for name, f in GATES.items()}
        return cls(zero(SENTENCE_FEATURES), zero(RANKER_FEATURES), gates, {"neutral": True})

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> EvidenceModel:
        return _load(str(path))


@lru_cache(maxsize=4)
def _load(path: str) -> EvidenceModel:
    return EvidenceModel.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# ---------------------------------------------------------------- signals


PREFIX = 6  # stems sharing their first six letters count as a loose match: registr(eren) ~ registr(atie)


def _prefixes(terms: set[str] | frozenset[str]) -> frozenset[str]:
    return frozenset(p[:PREFIX] for p in terms if len(p) >= PREFIX)


def _coverage(terms: list[str], present: set[str] | frozenset[str], idf: dict[str, float], max_idf: float,
              known_only: bool, loose: bool = False) -> float:
    """IDF-weighted share of the question's terms in ``present``; ``loose`` also accepts a shared prefix."""
    prefixes = _prefixes(present) if loose else frozenset()
    total = found = 0.0
    for term in terms:
        if known_only and term not in idf:
            continue
        weight = idf.get(term, max_idf)
        total += weight
        if term in present or (loose and len(term) >= PREFIX and term[:PREFIX] in prefixes):
            found += weight
    return found / total if total else 0.0


def sentence_signals(retrieval: Retrieval, reader: IndexReader, ask: Ask | None = None,
                     max_passages: int | None = None) -> tuple[list[SentenceRecord], list[Hit], list[int],
                                                                np.ndarray, np.ndarray]:
    """Signals of every sentence of the retrieved passages: (sentences, hits, ranks, feature matrix, fact).

    The matrix has a column per ``RANKER_FEATURES``; the sentence model reads the first ``SENTENCE_FEATURES``
    of them (:func:`sentence_part`)."""
    ask = ask or ask_of(retrieval.question)
    hits = retrieval.hits[:max_passages] if max_passages else retrieval.hits
    if not hits:
        return [], [], [], np.zeros((0, len(RANKER_FEATURES))), np.zeros(0)
    rank_of = {h.passage.id: i for i, h in enumerate(hits)}
    hit_of = {h.passage.id: h for h in hits}
    sentences = reader.sentences([h.passage.id for h in hits])
    if not sentences:
        return [], [], [], np.zeros((0, len(RANKER_FEATURES))), np.zeros(0)
    vectors = reader.sentence_vectors([s.id for s in sentences])
    cos = vectors @ np.asarray(retrieval.query, dtype=np.float32)
    foreign = retrieval.language != "nl"
    terms, idf, max_idf = retrieval.terms, retrieval.idf, retrieval.max_idf
    term_sets = [frozenset(s.terms) for s in sentences]
    n = len(sentences)
    # Which question terms each sentence holds, as a matrix: coverage of any span of sentences is then a
    # weighted OR over their rows. Terms the corpus never uses weigh fully (unless the question is not Dutch:
    # then only the terms the corpus knows count).
    weighted = [(t, idf.get(t, max_idf)) for t in terms if not foreign or t in idf]
    weights = np.array([w for _, w in weighted], dtype=np.float64)
    total = float(weights.sum())
    exact = np.array([[t in ts for t, _ in weighted] for ts in term_sets], dtype=bool).reshape(n, len(weighted))
    loose = exact.copy()
    if not foreign:  # loose prefix matches help Dutch word forms; in English or French they find false cognates
        prefix_sets = [_prefixes(ts) for ts in term_sets]
        for j, (t, _) in enumerate(weighted):
            if len(t) >= PREFIX:
                loose[:, j] |= [t[:PREFIX] in ps for ps in prefix_sets]

    def cover(rows: np.ndarray) -> np.ndarray:
        return (rows @ weights) / total if total else np.zeros(len(rows))

    lex = cover(exact)
    lex_loose = cover(loose)
    focus_stems = set(reader.query_terms(ask.focus)) if ask.focus else set()
    decoded = [decode_facts(s.facts) for s in sentences]  # parsed once: fact match and fact density read them
    facts = np.array([fact_match(ask, found, retrieval.question, focus_stems, ts, s.text)
                      for found, ts, s in zip(decoded, term_sets, sentences, strict=True)])
    if ask.kind == NAME:
        # A list under a lead-in names things too ("de volgende vier thema's:"), whatever its items look like.
        for i, s in enumerate(sentences):
            if s.kind in ("lead_in", "item") and (not focus_stems or focus_stems & term_sets[i]
                                                 or (s.kind == "item" and i and focus_stems & term_sets[i - 1])):
                facts[i] = max(facts[i], 1.0)
    passage = np.array([s.passage_id for s in sentences])
    same_prev = np.r_[False, passage[1:] == passage[:-1]]
    same_next = np.r_[passage[:-1] == passage[1:], False]
    cos_prev = np.where(same_prev, np.r_[cos[:1], cos[:-1]], cos)
    cos_next = np.where(same_next, np.r_[cos[1:], cos[-1:]], cos)
    first = (~same_prev).astype(np.float64)
    # Neighbours within CONTEXT sentences of the same passage lend their topic and their words.
    cos_ctx = np.full(n, -np.inf)
    window = loose.copy()
    for d in range(1, CONTEXT + 1):
        same_back = np.r_[np.zeros(d, dtype=bool), passage[d:] == passage[:-d]] if d < n else np.zeros(n, bool)
        same_fwd = np.r_[passage[:-d] == passage[d:], np.zeros(d, dtype=bool)] if d < n else np.zeros(n, bool)
        if d < n:
            back, fwd = np.r_[np.zeros(d), cos[:-d]], np.r_[cos[d:], np.zeros(d)]
            cos_ctx = np.where(same_back, np.maximum(cos_ctx, back), cos_ctx)
            cos_ctx = np.where(same_fwd, np.maximum(cos_ctx, fwd), cos_ctx)
            window[d:] |= loose[:-d] & same_back[d:, None]
            window[:-d] |= loose[d:] & same_fwd[:-d, None]
    cos_ctx = np.where(np.isfinite(cos_ctx), cos_ctx, cos)
    lex_ctx = cover(window)
    section_rows = np.zeros_like(exact)
    for h in hits:
        sect = set(reader.query_terms(h.passage.section))
        if sect:
            section_rows[passage == h.passage.id] = [t in sect for t, _ in weighted]
    lex_section = cover(exact | section_rows)
    focus = np.array([1.0 if focus_stems and focus_stems & ts else 0.0 for ts in term_sets])
    # What a sentence adds beyond the question: a heading that restates the question adds nothing.
    q_terms = set(terms)
    novelty = np.array([len(ts - q_terms) / len(ts) if ts else 0.0 for ts in term_sets])
    ranks = [rank_of[s.passage_id] for s in sentences]
    kinds = [s.kind for s in sentences]
    checkable = 1.0 if ask.checkable else 0.0
    n_words = np.array([s.text.count(" ") + 1 for s in sentences], dtype=np.float64)
    matrix = np.column_stack([
        cos,
        cos - cos.max(),
        cos_prev,
        cos_next,
        cos_ctx,
        [hit_of[s.passage_id].dense for s in sentences],
        [1.0 / (1 + r) for r in ranks],
        lex,
        lex - lex.max(),
        lex_loose,
        lex_ctx,
        lex_section,
        focus,
        facts,
        checkable * (facts == 0),
        facts * cos,
        [k == "question" for k in kinds],
        [k == "heading" for k in kinds],
        [k == "item" for k in kinds],
        [k == "lead_in" for k in kinds],
        n_words < 4,
        np.log1p(n_words),
        first,
        np.full(n, 1.0 if foreign else 0.0),
        cos * (1.0 if foreign else 0.0),
        novelty,
        focus * (1.0 if ask.kind in (NAME, PLACE, PERSON) else 0.0),
        *(facts * (1.0 if ask.kind in kinds_ else 0.0) for kinds_ in FACT_GROUPS),
        [fact_density(ask, s.text, found) for s, found in zip(sentences, decoded, strict=True)],
    ]).astype(np.float64)
    return sentences, [hit_of[s.passage_id] for s in sentences], ranks, matrix, facts


def sentence_part(matrix: np.ndarray) -> np.ndarray:
    """The columns of a signal matrix that the sentence model reads."""
    return matrix[:, :len(SENTENCE_FEATURES)]


def fact_density(ask: Ask, text: str, facts: list[Fact]) -> float:
    """How much of a sentence (its ``text`` and the ``facts`` found in it) is the asked kind of fact: 1.0 for
    a line that is only a date ("31 maart 2023 10:00 - 17:00") when the question asks "wanneer", less for a
    sentence that mentions a date among other things ("Registratie sluit op 20 maart"). 0 when the question
    asks for no checkable kind of fact."""
    if not ask.checkable or not text:
        return 0.0
    group = next((g for g in FACT_GROUPS if ask.kind in g), (ask.kind,))
    found = {f.text for f in facts if f.kind in group}
    if not found:
        return 0.0
    letters = sum(map(str.isalnum, text))
    return min(1.0, sum(sum(map(str.isalnum, fact)) for fact in found) / letters) if letters else 0.0


def answer_signals(retrieval: Retrieval, ask: Ask, probabilities: np.ndarray, logits: np.ndarray,
                   facts: np.ndarray, eligible: np.ndarray, matrix: np.ndarray,
                   focus_found: float) -> dict[str, float]:
    """Question-level signals for the answerability model, from the best eligible sentences."""
    probs = np.where(eligible, probabilities, 0.0)
    col = {f: i for i, f in enumerate(SENTENCE_FEATURES)}
    fact_on = np.where(eligible, facts, 0.0)
    order = np.argsort(-probs)
    best = float(probs[order[0]]) if len(order) else 0.0
    second = float(probs[order[1]]) if len(order) > 1 else 0.0
    best_fact = float(facts[order[0]]) if len(order) else 0.0
    s = retrieval.signals
    idf, terms = retrieval.idf, retrieval.terms
    total = sum(idf.get(t, retrieval.max_idf) for t in terms)
    unknown = sum(retrieval.max_idf for t in terms if t not in idf)
    return {
        "best": best,
        "second": second,
        "best_logit": float(logits[order[0]]) if len(order) else -10.0,
        "dense_top": float(s.get("dense_top", 0.0)),
        "dense_z": float(s.get("dense_z", 0.0)),
        "coverage": float(s.get("coverage", 0.0)),
        "known_coverage": float(s.get("known_coverage", 0.0)),
        "unknown_mass": unknown / total if total else 0.0,
        "best_fact": best_fact,
        "fact_missing": 1.0 if ask.required and float(np.max(fact_on, initial=0.0)) == 0 else 0.0,
        # the asked kind of fact in a sentence that is itself about the question
        "fact_lex": float(np.max(fact_on * matrix[:, col["lex_ctx"]], initial=0.0)),
        "fact_cos": float(np.max(fact_on * matrix[:, col["cos_ctx"]], initial=0.0)),
        "has_focus": 1.0 if ask.focus else 0.0,
        "focus_found": focus_found,
        "checkable": 1.0 if ask.required else 0.0,
        "foreign": 0.0 if retrieval.language == "nl" else 1.0,
        # questions that ask for no required kind of fact ("welke", "hoe", "wat is") are judged on topic alone
        "open_dense": 0.0 if ask.required else float(s.get("dense_top", 0.0)),
        "open_best": 0.0 if ask.required else best,
        "open_cov": 0.0 if ask.required else float(s.get("coverage", 0.0)),
        "foreign_dense": float(s.get("dense_top", 0.0)) if retrieval.language != "nl" else 0.0,
    }


def focus_found(retrieval: Retrieval, reader: IndexReader, ask: Ask, passages: int = 3) -> float:
    """Whether the word the question counts or names ("deelnemers", "apps") occurs in the best passages."""
    if not ask.focus:
        return 0.0
    focus = set(reader.query_terms(ask.focus))
    if not focus:
        return 0.0
    present = reader.passage_terms([h.passage.id for h in retrieval.hits[:passages]])
    return 1.0 if any(focus & terms for terms in present) else 0.0


# A question, a table-of-contents line and an appeal to the reader ("… iets voor jou!") never state a fact.
NEVER_ANSWERS = frozenset({"question", "toc", "appeal"})


def eligible_mask(sentences: list[SentenceRecord], facts: np.ndarray) -> np.ndarray:
    """Which sentences may stand as an answer: never a question, a contents line, an appeal, a bare heading or a
    fragment.

    A short line that holds the asked fact (a name under "Begeleiding", a date line) may.
    """
    out = []
    for s, fact in zip(sentences, facts, strict=True):
        n_words = len(s.text.split())
        if s.kind in NEVER_ANSWERS:
            out.append(False)
        elif n_words < 3 or (s.kind == "heading" and n_words < 6):
            out.append(bool(fact >= 1.0) and n_words >= 2)
        else:
            out.append(True)
    return np.array(out, dtype=bool)


def rank_candidates(ranker: LinearModel, sentences: list[SentenceRecord], hits: list[Hit], ranks: list[int],
                    matrix: np.ndarray, probabilities: np.ndarray, facts: np.ndarray, eligible: np.ndarray,
                    ) -> list[Candidate]:
    """The eligible sentences as candidates, best first by the ranker (its softmax share), ties by probability."""
    idx = np.flatnonzero(eligible)
    if not len(idx):
        return []
    scores = ranker.logit(matrix[idx])
    shares = np.exp(scores - scores.max())
    shares /= shares.sum()
    order = sorted(range(len(idx)), key=lambda j: (-shares[j], -probabilities[idx[j]]))
    candidates = []
    for j in order:
        i = int(idx[j])
        candidates.append(Candidate(sentences[i], hits[i], ranks[i], matrix[i], float(probabilities[i]),
                                    float(facts[i]), float(shares[j])))
    return candidates


def weigh(retrieval: Retrieval, reader: IndexReader, model: EvidenceModel | None = None) -> Evidence:
    """Score the sentences of the retrieved passages and decide whether they answer the question."""
    model = model or EvidenceModel.load()
    ask = ask_of(retrieval.question)
    sentences, hits, ranks, matrix, facts = sentence_signals(retrieval, reader, ask)
    if not sentences:
        return Evidence(ask, [], [], False, 0.0, {})
    logits = model.sentence.logit(sentence_part(matrix))
    probabilities = np.asarray(_logistic(logits))
    eligible = eligible_mask(sentences, facts)
    signals = answer_signals(retrieval, ask, probabilities, logits, facts, eligible, matrix,
                             focus_found(retrieval, reader, ask))
    verdicts = {name: gate.passes(signals) for name, gate in model.gates.items()}
    confidence = min(p for _, p in verdicts.values())
    candidates = rank_candidates(model.ranker, sentences, hits, ranks, matrix, probabilities, facts, eligible)
    answerable = bool(candidates) and all(ok for ok, _ in verdicts.values())
    return Evidence(ask, candidates, sentences, answerable, confidence,
                    {**signals, **{f"gate_{name}": p for name, (_, p) in verdicts.items()}}, frozenset(retrieval.terms))
