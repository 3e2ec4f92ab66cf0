"""Answers written by a language model from the retrieved passages, every sentence verified (issue 11).

Off unless ``WEGWIJZER_LLM_URL`` is set. The model gets the question and the retrieved passages,
numbered; it must mark every sentence with the passage it comes from. What it writes is split into
sentences (:func:`assistant.answer.verify.claims`) and each is checked against the passages it cites
(:class:`assistant.answer.verify.Verifier`); unsupported sentences are removed. The passages the remaining
sentences cite become the answer's citations, numbered in the order they are first cited; the other
retrieved passages are related reading. When nothing supported is left, or the model says the passages
do not answer, the answer is the standard refusal.

Streamed (:class:`SentenceStream`), the same check runs on each sentence as soon as the model has
finished it, and only a sentence that passed is handed on (:class:`Checked`): a client never sees text
that was not checked. The final answer is built from the same sentences and verdicts as :func:`finish`
builds it from the whole reply, so it is what ``ask`` gives for the same model output.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from assistant.answer import prompts
from assistant.answer.compose import citation_of
from assistant.answer.llm import ChatClient, Deadline, Message
from assistant.answer.retrieval import Hit
from assistant.answer.verify import Claim, Support, Verifier, claims
from assistant.index.protocol import IndexReader
from assistant.messages import t
from assistant.model.embedding import Embedder
from assistant.types import Citation

log = logging.getLogger(__name__)

MAX_PASSAGE_CHARS = 1600
MAX_REWRITE_CHARS = 400


@dataclass(frozen=True)
class Checked:
    """A sentence of a generated answer that passed the check, as the final answer will show it (streaming).

    ``text`` is the sentence with the answer's own ``[n]`` numbers; ``so_far`` is every checked sentence
    until now, laid out as the final answer's text begins (the final ``Answer`` replaces it).
    """

    text: str
    so_far: str


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
        return _declined(hits, lang)
    items = claims(_plain(raw))
    verdicts = Verifier(reader, embedder).check(items, _markers(hits), foreign=lang != "nl")
    return _assemble(items, verdicts, hits, lang)


def _plain(raw: str) -> str:
    """The model's text without Markdown emphasis (the answer is shown as plain text)."""
    return raw.replace("**", "").replace("__", "")


def _markers(hits: Sequence[Hit]) -> dict[int, int]:
    """Marker number in the prompt -> the passage id it stands for."""
    return {n: h.passage.id for n, h in enumerate(hits, start=1)}


def _declined(hits: list[Hit], lang: str) -> Written:
    return Written(False, t("answer.not_found", lang), (), _numbered(hits, 1), 0, 0, True)


class _Layout:
    """The kept sentences laid out as the answer's text, renumbered in the order they first cite a passage."""

    def __init__(self) -> None:
        self.order: list[int] = []  # prompt numbers in the order the kept sentences first cite them
        self.lines: dict[int, list[str]] = {}

    def add(self, claim: Claim) -> str:
        for n in claim.cites:
            if n not in self.order:
                self.order.append(n)
        marks = "".join(f"[{self.order.index(n) + 1}]" for n in claim.cites)
        shown = f"{claim.text} {marks}"
        self.lines.setdefault(claim.line, []).append(shown)
        return shown

    @property
    def text(self) -> str:
        return "\n".join(" ".join(parts) for _, parts in sorted(self.lines.items()))


def _assemble(items: list[Claim], verdicts: Sequence[Support], hits: list[Hit], lang: str) -> Written:
    """The answer from the sentences the passages support (the refusal when none is)."""
    judged = tuple(zip(items, verdicts, strict=True))
    kept = [c for c, s in judged if s.supported]
    removed = len(items) - len(kept)
    if not kept:
        return Written(False, t("answer.not_found", lang), (), _numbered(hits, 1), 0, removed, False, judged)
    layout = _Layout()
    for c in kept:
        layout.add(c)
    new = {old: i + 1 for i, old in enumerate(layout.order)}
    citations = tuple(citation_of(hits[old - 1], new[old]) for old in layout.order)
    rest = [h for n, h in enumerate(hits, start=1) if n not in new]
    return Written(True, layout.text, citations, _numbered(rest, len(citations) + 1), len(kept), removed, False,
                   judged)


# The end of a reply still being written that more text may change: an open marker ("[1" may become
# "[1]" or "[12]") or the start of Markdown emphasis ("*" may become "**", which is removed).
_OPEN_END = re.compile(r"(?:\[[\d \t,;]*|[*_]+)\Z")


def complete_claims(text: str) -> list[Claim]:
    """The sentences of a reply still being written that no further text can change (see :func:`claims`).

    A sentence is complete once a later sentence has begun (markers that open the next sentence belong
    to this one, so the next one must have words of its own) or its line has ended; the cut between two
    sentences depends only on the text before it and the first character after it.
    """
    body = _OPEN_END.sub("", text)
    items = claims(body)
    if not items:
        return []
    parts = body.splitlines(keepends=True)
    ended = sum(1 for p in parts if p.splitlines()[0] != p)  # lines whose line break has arrived
    return items if items[-1].line < ended else items[:-1]


class SentenceStream:
    """Checks a reply while it is written: each sentence as soon as it is complete, with the check of
    :func:`finish`; hands on only those that pass.

    ``feed`` takes the model's pieces and returns the newly checked sentences to show, ``end`` those left
    when the reply is whole; ``close`` returns the :class:`Written` answer, equal to ``finish`` on the whole
    reply (verdicts already given are reused).
    """

    def __init__(self, hits: Sequence[Hit], reader: IndexReader, embedder: Embedder, lang: str) -> None:
        self.hits = list(hits)
        self.lang = lang
        self.verifier = Verifier(reader, embedder)
        self.passages = _markers(self.hits)
        self.raw = ""
        self.judged: list[tuple[Claim, Support]] = []  # the complete sentences so far, in order, with verdicts
        self.layout = _Layout()
        self.diverged = False  # a complete sentence changed after all: show nothing more until the end

    def feed(self, piece: str) -> list[Checked]:
        """The sentences that ``piece`` completed and that passed the check, ready to show."""
        self.raw += piece
        return self._advance(complete_claims(_plain(self.raw)))

    def end(self) -> list[Checked]:
        """Once the reply is whole: its last sentences, checked (nothing if the model declined)."""
        return [] if declined(self.raw) else self._advance(claims(_plain(self.raw)))

    def _advance(self, complete: list[Claim]) -> list[Checked]:
        if self.diverged:
            return []
        done = [c for c, _ in self.judged]
        if complete[:len(done)] != done:  # cannot happen if complete_claims is right; stay safe if it is not
            log.warning("a streamed sentence changed after it was complete; the rest is shown with the answer")
            self.diverged = True
            return []
        fresh = complete[len(done):]
        out = []
        for claim, support in zip(fresh, self._check(fresh), strict=True):
            self.judged.append((claim, support))
            if support.supported:
                shown = self.layout.add(claim)
                out.append(Checked(shown, self.layout.text))
        return out

    def close(self) -> Written:
        """The verified answer to the whole reply."""
        if declined(self.raw):
            return _declined(self.hits, self.lang)
        items = claims(_plain(self.raw))
        known = dict(self.judged)
        todo = [c for c in items if c not in known]
        known.update(zip(todo, self._check(todo), strict=True))
        return _assemble(items, [known[c] for c in items], self.hits, self.lang)

    def _check(self, items: list[Claim]) -> list[Support]:
        if not items:
            return []
        return self.verifier.check(items, self.passages, foreign=self.lang != "nl")


def _numbered(hits: Sequence[Hit], first: int) -> tuple[Citation, ...]:
    return tuple(citation_of(h, first + i) for i, h in enumerate(hits))
