"""Sentence evidence for questions that ask for a numbered label ("Welk actienummer heeft…?")."""

from __future__ import annotations

import numpy as np

from assistant.answer.evidence import eligible_mask, sentence_signals
from assistant.answer.retrieval import Hit, Retrieval
from assistant.index.protocol import SentenceRecord
from assistant.text.analysis import analyze
from assistant.text.facts import encode_facts, facts_in
from assistant.types import Passage


class _Reader:
    """The three reader calls sentence evidence makes, over a fixed set of sentences."""

    def __init__(self, sentences: list[SentenceRecord]) -> None:
        self._sentences = sentences

    def sentences(self, passage_ids: list[int]) -> list[SentenceRecord]:
        return [s for s in self._sentences if s.passage_id in passage_ids]

    def sentence_vectors(self, ids: list[int]) -> np.ndarray:
        return np.full((len(ids), 4), 0.5, dtype=np.float32)

    def query_terms(self, text: str) -> list[str]:
        return analyze(text)


def _sentence(sid: int, text: str, kind: str) -> SentenceRecord:
    return SentenceRecord(id=sid, passage_id=1, start=0, end=len(text), text=text, kind=kind, block=0,
                          facts=encode_facts(facts_in(text)), terms=tuple(analyze(text)))


def test_a_numbered_heading_answers_which_action_number() -> None:
    heading = _sentence(1, "Werksessie actie 22: Pleinmakers aanbieden", "heading")
    other = _sentence(2, "De pleinmaker spreekt andere bewoners aan.", "sentence")
    question = "Welk actienummer heeft het aanbieden van pleinmakers?"
    passage = Passage(id=1, source="p.txt", title="Programma", page=None, section="", start=0, end=10, text="…")
    retrieval = Retrieval(question, "nl", np.full(4, 0.5, dtype=np.float32), analyze(question), {}, 1.0,
                          [Hit(passage, 1.0, 0.9, 1.0, 1.0, 1.0)])
    sentences, _, _, _, facts = sentence_signals(retrieval, _Reader([heading, other]))  # type: ignore[arg-type]
    assert [s.id for s in sentences] == [1, 2]
    assert list(facts) == [1.0, 0.0]  # the label holds the asked number; the plain sentence holds none
    # a bare heading may stand as the answer only because it holds the asked fact
    assert list(eligible_mask(sentences, facts)) == [True, True]
