"""Late interaction: the question and its best sentences read together, token by token (issue 19, item 7).

The bi-encoder compares one vector per question with one vector per sentence, so a sentence about the
right session that gives a count of *participants* looks as close to "Hoeveel mensen staan op de
wachtlijst?" as one that gives the waiting list. Here each content word of the question is matched to
its closest token of a sentence (ColBERT's MaxSim), over the e5 model's own contextual token vectors
(the last hidden state the product's sentence vectors are pooled from; no other model). A near miss
leaves the asked word without a close token in every good sentence; a paraphrase still finds one.

Per question, over the ``TOP_K`` sentences the sentence model likes best (see :func:`signals`): how
well the question's rarest word is matched (``li_rare``), its weakest word (``li_min``), and all its
words weighted by IDF (``li_idf``).

``bench/pairwise_reader.py`` measures them as extra inputs of the fact gate, on calibrate's nested
cross-validation. They did not lift the refusal curve (docs/benchmarks.md, "Late interaction"), so
``assistant.answer.evidence`` does not read them; the module is kept, tested, for that measurement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from assistant.text.analysis import STOPWORDS, fold

TOP_K = 3  # sentences read per question: the sentence model's best eligible ones
FEATURES = ("li_rare", "li_min", "li_idf")
# When the signals cannot be computed (the embedder gives no token vectors).
MISSING = {f: float("nan") for f in FEATURES}

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
# Words of the question form that STOPWORDS keeps (they say what is asked, not what it is about).
_FORM_WORDS = frozenset(fold(w) for w in """
    many much long often combien quand comment pourquoi ou où hoelang hoelaat welk welke laat
    """.split())


class TokenEncoder(Protocol):
    """What reads token vectors: ``assistant.model.embedding.SentenceTransformerEmbedder.token_vectors``."""

    def token_vectors(self, texts: list[str], kinds: list[str]) -> list[tuple[np.ndarray, np.ndarray, int]]: ...


@dataclass(frozen=True)
class Tokens:
    """One text's token vectors (unit rows; special and prompt tokens dropped) and which word each is part of."""

    vectors: np.ndarray  # (n, dim)
    word: np.ndarray  # (n,) index into ``words``
    words: tuple[str, ...]  # folded words, in order
    content: np.ndarray  # (len(words),) bool: a content word of a question (not a stop or question-form word)


def tokens_of(vectors: np.ndarray, offsets: np.ndarray, text: str, start: int,
              center: np.ndarray | None = None) -> Tokens:
    """Keep the tokens that lie inside a word of ``text`` (which starts at character ``start`` of what was
    encoded: the prompt precedes it) and tie each to its word."""
    spans = [(m.start() + start, m.end() + start, fold(m.group())) for m in _WORD.finditer(text)]
    keep, word_of = [], []
    j = 0
    for t, (a, b) in enumerate(offsets.tolist()):
        if b <= a or b <= start:
            continue
        last = b - 1  # a token's offsets may include the space before it: place it by its last character
        while j < len(spans) and spans[j][1] <= last:
            j += 1
        if j < len(spans) and spans[j][0] <= last < spans[j][1]:
            keep.append(t)
            word_of.append(j)
    v = np.asarray(vectors, dtype=np.float32)[keep]
    if center is not None:
        v = v - center
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    v = (v / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    words = tuple(w for _, _, w in spans)
    content = np.array([w not in STOPWORDS and w not in _FORM_WORDS and (len(w) > 1 or w.isdigit())
                        for w in words], dtype=bool)
    return Tokens(v, np.asarray(word_of, dtype=np.int64), words, content)


def content_ids(question: Tokens) -> list[int]:
    """The question's content words that have tokens, by index into ``question.words``."""
    return [int(i) for i in np.flatnonzero(question.content) if (question.word == i).any()]


def word_scores(question: Tokens, sentence: Tokens) -> np.ndarray:
    """Per content word of the question (``content_ids``): the mean over its tokens of their best cosine with
    any token of the sentence (MaxSim)."""
    ids = content_ids(question)
    if not ids or not len(sentence.vectors):
        return np.zeros(len(ids))
    best = (question.vectors @ sentence.vectors.T).max(axis=1)
    return np.array([best[question.word == i].mean() for i in ids])


def word_weights(question: Tokens, weight: Callable[[str], float]) -> np.ndarray:
    """A weight per content word (``content_ids``): its IDF in the corpus, as ``weight`` gives it."""
    return np.array([weight(question.words[i]) for i in content_ids(question)], dtype=np.float64)


def best_sentences(probabilities: np.ndarray, eligible: np.ndarray, k: int = TOP_K) -> list[int]:
    """The ``k`` eligible sentences the sentence model likes best, best first (ties: text order)."""
    order = np.argsort(-np.where(eligible, probabilities, -np.inf), kind="stable")
    return [int(i) for i in order if eligible[i]][:k]


def signals(scores: Sequence[np.ndarray], weights: np.ndarray) -> dict[str, float]:
    """The late-interaction signals from the word scores of the sentences read (each content word's best
    match in any of them):

    * ``li_rare``: the match of the question's rarest word (highest IDF; the weakest of ties), the word a
      near miss most often asks about and the passage lacks ("wachtlijst", "burgemeester");
    * ``li_min``: the weakest match of any content word;
    * ``li_idf``: the IDF-weighted mean match.
    """
    scores = [s for s in scores if len(s)]
    if not scores or not len(weights) or not weights.sum() > 0:
        return {f: 1.0 for f in FEATURES}  # no content word, none unmatched
    union = np.max(np.vstack(scores), axis=0)
    rare = weights >= weights.max() - 1e-9
    return {"li_rare": float(union[rare].min()), "li_min": float(union.min()),
            "li_idf": float(weights @ union / weights.sum())}


def read(encoder: Any, question: str, sentences: Sequence[str], weight: Callable[[str], float]) -> dict[str, float]:
    """Encode the question and the ``sentences`` in one batch and return the signals; MISSING when the
    embedder gives no token vectors (a stand-in embedder in fast tests)."""
    token_vectors = getattr(encoder, "token_vectors", None)
    if token_vectors is None or not sentences:
        return dict(MISSING)
    texts = [question, *sentences]
    encoded = token_vectors(texts, ["query"] + ["passage"] * len(sentences))
    q, *ss = (tokens_of(v, o, t, start) for (v, o, start), t in zip(encoded, texts, strict=True))
    if not len(q.vectors):
        return dict(MISSING)
    return signals([word_scores(q, s) for s in ss], word_weights(q, weight))
