""""Kan je dat samenvatten?": the previous answer's passages, summarised by their best sentences. Pure.

The summary quotes, for each passage the previous answer cited, its best sentence for the previous
question, then the next best sentences of those passages, up to four, in the order of the passages
and of the text. Nothing new is searched: a summary stays with the sources the person already saw.
"""

from __future__ import annotations

from assistant.answer.compose import Quote, citation_of, render, unit_of
from assistant.answer.evidence import Candidate, Evidence
from assistant.answer.retrieval import Hit
from assistant.messages import t
from assistant.text.analysis import words
from assistant.types import Citation

MAX_SENTENCES = 4
REPEAT_OVERLAP = 0.6  # a sentence sharing this much of its words with a chosen one says nothing new


def _overlap(a: str, b: str) -> float:
    wa, wb = set(words(a)), set(words(b))
    return len(wa & wb) / min(len(wa), len(wb)) if wa and wb else 0.0


def summarise(evidence: Evidence, cited: list[Hit], related: list[Hit], lang: str = "nl",
              max_sentences: int = MAX_SENTENCES) -> tuple[str, tuple[Citation, ...], tuple[Citation, ...]]:
    """(text, citations, related) quoting the best sentences of the ``cited`` passages, in their order."""
    order = [h.passage.id for h in cited]
    chosen: list[Quote] = []

    def take(c: Candidate) -> None:
        unit = unit_of(c.sentence, evidence.sentences)
        if any(unit.text == q.text or _overlap(unit.text, q.text) >= REPEAT_OVERLAP for q in chosen):
            return
        chosen.append(Quote(c, unit))

    by_passage = {pid: [c for c in evidence.candidates if c.sentence.passage_id == pid] for pid in order}
    for pid in order:  # every passage the previous answer relied on is represented
        if by_passage[pid] and len(chosen) < max_sentences:
            take(by_passage[pid][0])
    for c in evidence.candidates:
        if len(chosen) >= max_sentences:
            break
        if c.sentence.passage_id in by_passage:
            take(c)
    used = [pid for pid in order if any(q.candidate.sentence.passage_id == pid for q in chosen)]
    if not used:
        return t("answer.not_found", lang), (), tuple(citation_of(h, i + 1) for i, h in enumerate(cited + related))
    numbers = {pid: i + 1 for i, pid in enumerate(used)}
    hit_of = {h.passage.id: h for h in cited}
    # A summary reads in the order of the passages and of their text.
    ordered = sorted(chosen, key=lambda q: (numbers[q.candidate.sentence.passage_id], q.candidate.sentence.id))
    text = render(ordered, numbers, {pid: hit_of[pid].passage.title for pid in used}, lang)
    spans = {pid: tuple(sorted((q.unit.start, q.unit.end) for q in chosen if q.candidate.sentence.passage_id == pid))
             for pid in used}
    citations = tuple(citation_of(hit_of[pid], numbers[pid], spans[pid]) for pid in used)
    rest = [h for h in cited if h.passage.id not in numbers] + related
    return text, citations, tuple(citation_of(h, len(citations) + i + 1) for i, h in enumerate(rest))
