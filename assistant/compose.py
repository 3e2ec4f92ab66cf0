"""Turn sentence evidence into the answer a person reads: quoted sentences with [n] markers. Pure functions.

Wegwijzer does not write text of its own in extractive mode: the answer quotes the one to three
sentences that best state the asked fact, each followed by the number of the passage it comes from,
under the name of the document that sentence comes from. Passages the answer quotes become its
citations; the other retrieved passages are offered as related reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .analysis import words
from .evidence import Candidate, Evidence
from .index.protocol import SentenceRecord
from .messages import t
from .retrieval import Hit
from .types import Citation

MAX_SENTENCES = 3
# A further sentence joins the answer when the ranker gives it at least a tenth of the best sentence's
# share (and 2% of the whole): when the ranker is unsure, the answer quotes its two or three best
# candidates rather than betting on one. Chosen from three settings by the cross-validated figures of
# bench/calibrate.py (states-the-fact 0.69 at 1/4, 0.71 at 1/10 and at 0, with 1.8, 2.2 and 3.0 sentences
# per answer); not fitted to any question.
FOLLOWER_RATIO = 0.1
FOLLOWER_MIN = 0.02
MAX_LIST_ITEMS = 8
MAX_LIST_CHARS = 500
DUPLICATE_OVERLAP = 0.6


@dataclass(frozen=True)
class Quote:
    """A sentence the answer quotes, with the list items it introduces (for a lead-in)."""

    candidate: Candidate
    text: str


def _overlap(a: str, b: str) -> float:
    wa, wb = set(words(a)), set(words(b))
    return len(wa & wb) / min(len(wa), len(wb)) if wa and wb else 0.0


SHORT_ITEM_WORDS = 8  # a list item this short is a name in a list, read with its lead-in and siblings


def _join_items(lead: str, items: list[str]) -> str:
    kept: list[str] = []
    size = 0
    for item in items:
        if len(kept) >= MAX_LIST_ITEMS or size > MAX_LIST_CHARS:
            kept.append("…")
            break
        kept.append(item.rstrip(";,."))
        size += len(item)
    body = "; ".join(kept)
    if not body.endswith("…"):
        body += "."
    return f"{lead} {body}" if lead else body


def _heads(sentence: SentenceRecord) -> bool:
    return sentence.text.rstrip().endswith(":")


def unit_text(sentence: SentenceRecord, sentences: list[SentenceRecord]) -> str:
    """What an answer quotes for ``sentence``: the sentence itself, or a whole short list.

    A lead-in ("... de volgende vier thema's:") brings the items under it; a short item ("Voldoende NT2
    aanbod") is read with the lead-in above its list and its sibling items, because one item of a list
    rarely answers "which ..." alone. ``sentences`` are the passage's sentences in text order.
    """
    mine = [s for s in sentences if s.passage_id == sentence.passage_id]
    try:
        at = next(i for i, s in enumerate(mine) if s.id == sentence.id)
    except StopIteration:
        return sentence.text
    if sentence.kind == "lead_in":
        items = []
        for s in mine[at + 1:]:
            if s.kind not in ("item", "question"):
                break
            items.append(s.text)
        return _join_items(sentence.text, items) if items else sentence.text
    if sentence.kind != "item" or len(sentence.text.split()) > SHORT_ITEM_WORDS:
        return sentence.text
    # An item that ends in a colon ("2) Taalbeleid:") heads the items under it: the list runs from there
    # to the next such item, and it is the list's lead.
    first = at
    while first > 0 and mine[first - 1].kind == "item" and not _heads(mine[first - 1]):
        first -= 1
    last = at
    while last + 1 < len(mine) and mine[last + 1].kind == "item" and not _heads(mine[last + 1]):
        last += 1
    if first == last:
        return sentence.text
    lead = ""
    if first > 0 and (mine[first - 1].kind in ("lead_in", "heading") or _heads(mine[first - 1])):
        lead = mine[first - 1].text
    return _join_items(lead, [s.text for s in mine[first:last + 1]])


def choose_quotes(evidence: Evidence) -> list[Quote]:
    """The best sentence, and up to two more that the ranker rates close to it (no near-repeats)."""
    if not evidence.candidates:
        return []
    best = evidence.candidates[0]
    chosen = [best]
    for c in evidence.candidates[1:8]:
        if len(chosen) >= MAX_SENTENCES:
            break
        if c.share < max(FOLLOWER_MIN, FOLLOWER_RATIO * best.share):
            break
        if any(_overlap(c.sentence.text, q.sentence.text) >= DUPLICATE_OVERLAP for q in chosen):
            continue
        chosen.append(c)
    quotes: list[Quote] = []
    for c in chosen:
        text = unit_text(c.sentence, evidence.sentences)
        if any(_holds(q, c, text) for q in quotes):
            continue  # two items of one list, or an item of a list already quoted: the list is quoted once
        held = [i for i, q in enumerate(quotes) if _holds(Quote(c, text), q.candidate, q.text)]
        if held:  # a list that holds an earlier quote takes its place, under the earlier (better) sentence
            quotes[held[0]] = Quote(quotes[held[0]].candidate, text)
            quotes = [q for i, q in enumerate(quotes) if i not in held[1:]]
            continue
        quotes.append(Quote(c, text))
    return quotes


def _holds(quote: Quote, candidate: Candidate, text: str) -> bool:
    """Whether ``quote`` already reads ``text`` (``candidate``'s unit): the same passage, and the text, without
    its closing punctuation, a whole run of words inside the quote (a list holds its items)."""
    if quote.candidate.sentence.passage_id != candidate.sentence.passage_id:
        return False
    core = text.strip().rstrip(";,.:")
    return bool(core) and re.search(rf"(?<!\w){re.escape(core)}(?!\w)", quote.text) is not None


def citation_of(hit: Hit, n: int) -> Citation:
    p = hit.passage
    return Citation(n=n, text=p.text, title=p.title, source=p.source, page=p.page, section=p.section,
                    score=round(hit.dense, 4), passage_id=p.id, start=p.start, end=p.end, ocr=p.ocr)


def compose(evidence: Evidence, hits: list[Hit], lang: str = "nl") -> tuple[str, tuple[Citation, ...],
                                                                         tuple[Citation, ...]]:
    """(answer text, citations it relies on, related passages) for an answerable question."""
    quotes = choose_quotes(evidence)
    if not quotes:
        return not_found(hits, lang)
    # Passages in the order of their best quote; within a passage, quotes in text order.
    order: list[int] = []
    for q in quotes:
        pid = q.candidate.sentence.passage_id
        if pid not in order:
            order.append(pid)
    numbers = {pid: i + 1 for i, pid in enumerate(order)}
    hit_of = {h.passage.id: h for h in hits}
    lines = []
    for pid in order:
        mine = sorted((q for q in quotes if q.candidate.sentence.passage_id == pid),
                      key=lambda q: q.candidate.sentence.id)
        title = hit_of[pid].passage.title
        body = " ".join(f"{q.text} [{numbers[pid]}]" for q in mine)
        lines.append(f"{t('answer.according_to', lang, title=title)}: {body}")
    citations = tuple(citation_of(hit_of[pid], numbers[pid]) for pid in order)
    rest = [h for h in hits if h.passage.id not in numbers]
    related = tuple(citation_of(h, len(citations) + i + 1) for i, h in enumerate(rest))
    return "\n".join(lines), citations, related


def not_found(hits: list[Hit], lang: str = "nl") -> tuple[str, tuple[Citation, ...], tuple[Citation, ...]]:
    """The plain refusal; the nearest passages are related reading, never sources."""
    return t("answer.not_found", lang), (), tuple(citation_of(h, i + 1) for i, h in enumerate(hits))
