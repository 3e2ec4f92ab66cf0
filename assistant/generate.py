"""Answers written by a language model from the retrieved passages, every sentence verified (issue 11).

Off unless ``WEGWIJZER_LLM_URL`` is set. The model gets the question and the retrieved passages,
numbered; it must mark every sentence with the passage it comes from. What it writes is split into
sentences (:func:`assistant.verify.claims`) and each is checked against the passages it cites
(:class:`assistant.verify.Verifier`); unsupported sentences are removed. The passages the remaining
sentences cite become the answer's citations, numbered in the order they are first cited; the other
retrieved passages are related reading. When nothing supported is left, or the model says the passages
do not answer, the answer is the standard refusal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from . import prompts
from .compose import citation_of
from .embedding import Embedder
from .index.protocol import IndexReader
from .llm import ChatClient, Deadline, Message
from .messages import t
from .retrieval import Hit
from .types import Citation
from .verify import Claim, Support, Verifier, claims

MAX_PASSAGE_CHARS = 1600
MAX_REWRITE_CHARS = 400


@dataclass(frozen=True)
class Delta:
    """A piece of the model's text as it arrives (streaming); the final, verified text replaces it."""

    text: str


@dataclass(frozen=True)
class Written:
    """A verified generated answer."""

    found: bool
    text: str
    citations: tuple[Citation, ...]
    related: tuple[Citation, ...]
    kept: int  # sentences that stayed
    removed: int  # sentences removed because no cited passage supports them
    declined: bool  # the model said the passages do not answer
    verdicts: tuple[tuple[Claim, Support], ...] = ()


def answer_messages(question: str, hits: Sequence[Hit], lang: str) -> list[Message]:
    """The chat messages that ask for an answer to ``question`` from the numbered ``hits``."""
    blocks = []
    for n, h in enumerate(hits, start=1):
        p = h.passage
        where = f", p. {p.page}" if p.page else ""
        where += f" ({p.section})" if p.section else ""
        text = p.text if len(p.text) <= MAX_PASSAGE_CHARS else p.text[:MAX_PASSAGE_CHARS] + " …"
        blocks.append(prompts.PASSAGE.format(n=n, title=p.title, where=where, text=text))
    language = prompts.ANSWER_LANGUAGE.get(lang, prompts.ANSWER_LANGUAGE["nl"])
    return [{"role": "system", "content": prompts.SYSTEM.format(language=language)},
            {"role": "user", "content": prompts.USER.format(passages="\n\n".join(blocks), question=question)}]


def rewrite_messages(question: str, earlier: Sequence[str]) -> list[Message]:
    history = "\n".join(f"- {q}" for q in earlier)
    return [{"role": "system", "content": prompts.REWRITE_SYSTEM},
            {"role": "user", "content": prompts.REWRITE_USER.format(history=history, question=question)}]


def usable_rewrite(raw: str, question: str) -> str | None:
    """The model's rewrite, if it looks like one question (else the caller reads the follow-up itself)."""
    lines = [ln.strip(" \"'`*-") for ln in raw.strip().splitlines() if ln.strip(" \"'`*-")]
    if not lines:
        return None
    text = re.sub(r"^(?:rewritten question|question|vraag|herschreven vraag)\s*:\s*", "", lines[0], flags=re.I)
    if not text or len(text) > MAX_REWRITE_CHARS or len(text) < 3 or prompts.NO_ANSWER in text:
        return None
    if not re.search(r"\w", text):
        return None
    return text


def declined(raw: str) -> bool:
    """Whether the model said the passages do not answer (its whole reply is the agreed phrase)."""
    text = re.sub(r"[\W_]+", " ", raw).strip().upper()
    return text == prompts.NO_ANSWER or (text.startswith(prompts.NO_ANSWER) and len(text) < len(prompts.NO_ANSWER) + 40)


class Writer:
    """Writes and verifies answers with one chat endpoint."""

    def __init__(self, client: ChatClient) -> None:
        self.client = client

    def rewrite(self, question: str, earlier: Sequence[str], deadline: Deadline) -> str | None:
        raw = self.client.complete(rewrite_messages(question, earlier), deadline, max_tokens=80)
        return usable_rewrite(raw, question)

    def write(self, question: str, hits: Sequence[Hit], lang: str, deadline: Deadline) -> str:
        return self.client.complete(answer_messages(question, hits, lang), deadline)

    def stream(self, question: str, hits: Sequence[Hit], lang: str, deadline: Deadline) -> Iterator[str]:
        yield from self.client.stream(answer_messages(question, hits, lang), deadline)


def finish(raw: str, hits: Sequence[Hit], reader: IndexReader, embedder: Embedder, lang: str) -> Written:
    """Verify the model's text sentence by sentence and build the answer from what the passages support."""
    hits = list(hits)
    if declined(raw):
        return Written(False, t("answer.not_found", lang), (), _numbered(hits, 1), 0, 0, True)
    items = claims(raw.replace("**", "").replace("__", ""))
    passages = {n: h.passage.id for n, h in enumerate(hits, start=1)}
    verdicts = Verifier(reader, embedder).check(items, passages, foreign=lang != "nl")
    kept = [c for c, s in zip(items, verdicts, strict=True) if s.supported]
    removed = len(items) - len(kept)
    if not kept:
        return Written(False, t("answer.not_found", lang), (), _numbered(hits, 1), 0, removed, False,
                       tuple(zip(items, verdicts, strict=True)))
    order: list[int] = []  # old numbers in the order the kept sentences first cite them
    for c in kept:
        for n in c.cites:
            if n not in order:
                order.append(n)
    new = {old: i + 1 for i, old in enumerate(order)}
    lines: dict[int, list[str]] = {}
    for c in kept:
        marks = "".join(f"[{new[n]}]" for n in c.cites)
        lines.setdefault(c.line, []).append(f"{c.text} {marks}")
    text = "\n".join(" ".join(parts) for _, parts in sorted(lines.items()))
    citations = tuple(citation_of(hits[old - 1], new[old]) for old in order)
    rest = [h for n, h in enumerate(hits, start=1) if n not in new]
    return Written(True, text, citations, _numbered(rest, len(citations) + 1), len(kept), removed, False,
                   tuple(zip(items, verdicts, strict=True)))


def _numbered(hits: Sequence[Hit], first: int) -> tuple[Citation, ...]:
    return tuple(citation_of(h, first + i) for i, h in enumerate(hits))
