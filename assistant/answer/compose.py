"""Turn sentence evidence into the answer a person reads: quoted sentences with [n] markers. Pure functions.

Wegwijzer does not write text of its own in extractive mode: the answer quotes the one to three
sentences that best state the asked fact, each followed by the number of the passage it comes from,
under the name of the document that sentence comes from. Passages the answer quotes become its
citations; the other retrieved passages are offered as related reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from assistant.answer.evidence import FACT_GROUPS, Candidate, Evidence
from assistant.answer.retrieval import Hit
from assistant.index.protocol import SentenceRecord
from assistant.messages import t
from assistant.text.analysis import analyze, fold, words
from assistant.text.facts import Ask, decode_facts
from assistant.types import Citation

MAX_SENTENCES = 3
# A further sentence joins the answer when the ranker gives it at least 0.15 of the best sentence's share (and 2%
# of the whole): when the ranker is unsure, the answer quotes its close runners-up rather than bet on one. Chosen
# by bench/reading_variants.py on the cross-validated evidence of the training questions (states the fact / fact
# in the first 160 characters / median characters): 0.10: 0.744 / 0.631 / 338; 0.15: 0.739 / 0.631 / 302;
# 0.20: 0.729 / 0.626 / 283; 0.25: 0.719 / 0.616 / 253. 0.15 cuts a tenth of what is read for one answer in two
# hundred; each step beyond costs facts. Tried and left out: a follower must hold the asked kind of fact when the
# lead does (at 0.25: 0.709 / 0.616 / 253, facts lost and nothing shorter). Not fitted to any question.
FOLLOWER_RATIO = 0.15
FOLLOWER_MIN = 0.02
MAX_LIST_ITEMS = 8
MAX_LIST_CHARS = 500
DUPLICATE_OVERLAP = 0.6


@dataclass(frozen=True)
class Quote:
    """A sentence the answer quotes, with the list items it introduces (for a lead-in)."""

    candidate: Candidate
    unit: Unit
    # A list whose lead-in ends its passage goes on in the next one: that passage's hit and the span of its items.
    more: tuple[tuple[Hit, int, int], ...] = ()

    @property
    def text(self) -> str:
        return self.unit.text


# The sentences of the passage that follows a passage in its document, with that passage as a hit of the question
# (None at the end of a document). Given by the service, which can read the index; compose stays pure.
Following = Callable[[int], "tuple[Hit, list[SentenceRecord]] | None"]


def _overlap(a: str, b: str) -> float:
    wa, wb = set(words(a)), set(words(b))
    return len(wa & wb) / min(len(wa), len(wb)) if wa and wb else 0.0


SHORT_ITEM_WORDS = 8  # a list item this short is a name in a list, read with its lead-in and siblings


@dataclass(frozen=True)
class Unit:
    """What an answer quotes for one sentence: its reading text and its span in the passage text.

    A list is its lead-in (if any) and one ``- item`` line per item, so every front end can show it as a list.
    """

    text: str
    start: int
    end: int
    lead: str = ""  # a list's lead-in line ("" for a single sentence or a list without one)
    items: tuple[str, ...] = ()

    @property
    def is_list(self) -> bool:
        return bool(self.items)


def _item_text(item: str) -> str:
    return item.strip().rstrip(";,").strip()


def _list_unit(lead: SentenceRecord | None, items: list[SentenceRecord]) -> Unit:
    kept: list[str] = []
    size = 0
    for item in items:
        if len(kept) >= MAX_LIST_ITEMS or size > MAX_LIST_CHARS:
            kept.append("…")
            break
        kept.append(_item_text(item.text))
        size += len(item.text)
    lead_text = ""
    if lead is not None:
        lead_text = lead.text.strip()
        if not lead_text.endswith(":"):
            lead_text = lead_text.rstrip(".;,") + ":"  # a heading over a list reads as its lead-in
    body = "\n".join(f"- {k}" if k != "…" else k for k in kept)
    text = f"{lead_text}\n{body}" if lead_text else body
    first = lead if lead is not None else items[0]
    return Unit(text, first.start, items[-1].end, lead_text, tuple(kept))


def _heads(sentence: SentenceRecord) -> bool:
    return sentence.text.rstrip().endswith(":")


def unit_of(sentence: SentenceRecord, sentences: list[SentenceRecord], terms: frozenset[str] = frozenset()) -> Unit:
    """What an answer quotes for ``sentence``: the sentence itself, or a whole short list.

    A lead-in ("... de volgende vier thema's:") brings the items under it; a short item ("Voldoende NT2
    aanbod") is read with the lead-in above its list and its sibling items, because one item of a list
    rarely answers "which ..." alone. An item of any length is read with its whole list when the list's lead
    shares a word with the question (``terms``, analysed): "Wat vraagt de VVSG rond taalbeleid?" asks for every
    item under "Taalbeleid:", not the one that scored best. ``sentences`` are the passage's sentences in text
    order.
    """
    alone = Unit(sentence.text, sentence.start, sentence.end)
    mine = [s for s in sentences if s.passage_id == sentence.passage_id]
    try:
        at = next(i for i, s in enumerate(mine) if s.id == sentence.id)
    except StopIteration:
        return alone
    if sentence.kind == "lead_in":
        items = []
        for s in mine[at + 1:]:
            if s.kind not in ("item", "question"):
                break
            items.append(s)
        return _list_unit(sentence, items) if items else alone
    if sentence.kind != "item":
        return alone
    # An item that ends in a colon ("2) Taalbeleid:") heads the items under it: the list runs from there
    # to the next such item, and it is the list's lead.
    first = at
    while first > 0 and mine[first - 1].kind == "item" and not _heads(mine[first - 1]):
        first -= 1
    last = at
    while last + 1 < len(mine) and mine[last + 1].kind == "item" and not _heads(mine[last + 1]):
        last += 1
    if first == last:
        return alone
    lead = None
    if first > 0 and (mine[first - 1].kind in ("lead_in", "heading") or _heads(mine[first - 1])):
        lead = mine[first - 1]
    asked_for = lead is not None and bool(terms & set(lead.terms))
    if len(sentence.text.split()) > SHORT_ITEM_WORDS and not asked_for:
        return alone
    return _list_unit(lead, mine[first:last + 1])


def _headed_unit(head: SentenceRecord, sentences: list[SentenceRecord]) -> Unit:
    """A sentence that ends in a colon with the items under it, up to the next such item (or the head alone)."""
    mine = [s for s in sentences if s.passage_id == head.passage_id and s.id > head.id]
    items = []
    for s in mine:
        if s.kind not in ("item", "question") or _heads(s):
            break
        items.append(s)
    return _list_unit(head, items) if items else Unit(head.text, head.start, head.end)


def unit_text(sentence: SentenceRecord, sentences: list[SentenceRecord]) -> str:
    """The text :func:`unit_of` quotes."""
    return unit_of(sentence, sentences).text


@dataclass(frozen=True)
class Previous:
    """The turn a follow-up continues, as far as composing the follow-up's answer goes."""

    text: str  # the answer it gave: the sentences it quoted
    new_terms: frozenset[str] = frozenset()  # stems the follow-up adds (assistant.answer.followup.new_terms)

    @cached_property
    def _flat(self) -> str:
        return " ".join(self.text.split())

    def said(self, sentence: str) -> bool:
        """Whether ``sentence`` was already quoted in this answer, as a whole run of words."""
        core = " ".join(sentence.split()).strip().rstrip(";,.:!")
        return len(core) > 12 and core in self._flat


def choose_quotes(evidence: Evidence, previous: Previous | None = None, following: Following | None = None,
                  single: bool = False) -> list[Quote]:
    """The best sentence, and up to two more that the ranker rates close to it (no near-repeats).

    In a conversation (``previous``), a sentence the previous answer already quoted is not quoted again, so a
    follow-up's answer leads with what is new (unless nothing new is left).
    """
    # A sentence already quoted may lead again only when it answers what the follow-up asks anew: it holds
    # every word the follow-up adds ("En over werk?" after a list with werk as one item), or the asked kind of
    # fact ("And who from Mechelen takes part?" after an answer that named her in passing). As a follower it
    # would only repeat.
    def leads_again(c: Candidate) -> bool:
        assert previous is not None
        if previous.new_terms and previous.new_terms <= set(analyze(c.sentence.text)):
            return True
        # the asked kind of fact, unless a sentence of its passage not shown yet holds it too and is close enough
        # to be quoted beside it ("Wie begeleidt dat?": the session's "Begeleiding door ..." rather than the
        # organisers it named first)
        return evidence.ask.checkable and c.fact >= 1.0 and not any(
            o.sentence.passage_id == c.sentence.passage_id and o.fact >= 1.0
            and o.share >= FOLLOWER_RATIO * c.share and not previous.said(o.sentence.text)
            for o in evidence.candidates)

    pool = [c for i, c in enumerate(evidence.candidates)
            if not previous.said(c.sentence.text) or (i == 0 and leads_again(c))
            ] if previous is not None and previous.text else []
    candidates = pool or evidence.candidates
    if not candidates:
        return []
    best = candidates[0]
    chosen = [best]
    for c in candidates[1:8]:
        if len(chosen) >= MAX_SENTENCES:
            break
        if c.share < max(FOLLOWER_MIN, FOLLOWER_RATIO * best.share):
            break
        if any(_overlap(c.sentence.text, q.sentence.text) >= DUPLICATE_OVERLAP for q in chosen):
            continue
        chosen.append(c)
    if evidence.ask.checkable and best.fact < 1.0:
        # The ranker's favourite lacks the asked kind of fact and a close runner-up holds it: that one leads.
        holder = next((c for c in chosen if c.fact >= 1.0), None)
        if holder is not None:
            chosen = [holder] + [c for c in chosen if c is not holder]
    quotes: list[Quote] = []
    for c in chosen:
        if single and _heads(c.sentence):  # "2) Taalbeleid:", asked for by its place: with its own items
            unit = _headed_unit(c.sentence, evidence.sentences)
        elif (previous is not None and previous.said(c.sentence.text)) or single:
            # leads again, or was asked for by its place ("En de tweede?"): itself, not its list
            unit = Unit(c.sentence.text, c.sentence.start, c.sentence.end)
        else:
            unit = unit_of(c.sentence, evidence.sentences, evidence.terms)
        if not quotes and not unit.is_list:
            unit = _lead_trimmed(unit, c, evidence.ask)
        if unit.text.rstrip().endswith(":") and not unit.is_list and following is not None:
            continued = _continued(c.sentence, evidence.sentences, following)
            if continued is not None:
                quotes.append(Quote(c, *continued))
                continue
        if unit.text.rstrip().endswith(":") and not unit.is_list:
            if c is not best:
                continue  # a lead-in whose list is not here says nothing of its own
            unit = Unit(unit.text.rstrip().rstrip(":").rstrip() + " …", unit.start, unit.end)
        if any(_holds(q, c, unit.text) for q in quotes):
            continue  # two items of one list, or an item of a list already quoted: the list is quoted once
        held = [i for i, q in enumerate(quotes) if _holds(Quote(c, unit), q.candidate, q.text)]
        if held:  # a list that holds an earlier quote takes its place, under the earlier (better) sentence
            quotes[held[0]] = Quote(quotes[held[0]].candidate, unit)
            quotes = [q for i, q in enumerate(quotes) if i not in held[1:]]
            continue
        quotes.append(Quote(c, unit))
    return quotes


def _continued(lead: SentenceRecord, sentences: list[SentenceRecord], following: Following
               ) -> tuple[Unit, tuple[tuple[Hit, int, int], ...]] | None:
    """A lead-in that ends its passage, with the list that opens the next passage ("We schuiven … volgende
    prioriteiten naar voor:" | "- Toegankelijkheid …"), or None when no list follows there."""
    mine = [s for s in sentences if s.passage_id == lead.passage_id]
    if not mine or mine[-1].id != lead.id:
        return None
    got = following(lead.passage_id)
    if got is None:
        return None
    hit, after = got
    items: list[SentenceRecord] = []
    for s in after:
        if s.kind not in ("item", "question"):
            break
        items.append(s)
    if not items:
        return None
    unit = _list_unit(lead, items)
    return Unit(unit.text, lead.start, lead.end, unit.lead, unit.items), ((hit, items[0].start, items[-1].end),)


LONG_LEAD = 180  # a lead sentence longer than this is cut to the clause that holds the asked fact ...
FACT_ROOM = 100  # ... when that fact starts further in than this
_CLAUSE = re.compile(r"(?:[,;:]|\s[–—-])\s+")


def fact_position(text: str, candidate: Candidate, ask: Ask) -> int | None:
    """Where in ``text`` the first fact of the asked kind starts (None when there is none or it is not found)."""
    if not ask.checkable or candidate.fact <= 0:
        return None
    group = next((g for g in FACT_GROUPS if ask.kind in g), (ask.kind,))
    found = [text.find(f.text) for f in decode_facts(candidate.sentence.facts) if f.kind in group and f.text]
    found = [i for i in found if i >= 0]
    return min(found) if found else None


def _lead_trimmed(unit: Unit, candidate: Candidate, ask: Ask) -> Unit:
    """A long lead sentence whose asked fact lies far in, cut to start at the clause before the fact ("… op 25 mei
    een inspiratiedag … in het Vlaams Parlement en Huis Madou."): the person reads the fact first. The cut is
    marked with an ellipsis; the citation's span still covers the whole sentence."""
    text = unit.text
    at = fact_position(text, candidate, ask)
    if at is None or len(text) <= LONG_LEAD or at <= FACT_ROOM:
        return unit
    window = max(0, at - FACT_ROOM)
    breaks = [m.end() for m in _CLAUSE.finditer(text, window, at)]
    if breaks:
        start = breaks[0]
    else:  # no clause break near: start a few words before the fact
        start = text.rfind(" ", 0, max(0, at - 40)) + 1
    if start <= 0:
        return unit
    return Unit("…" + text[start:].lstrip(), unit.start, unit.end, unit.lead, unit.items)


def _holds(quote: Quote, candidate: Candidate, text: str) -> bool:
    """Whether ``quote`` already reads ``text`` (``candidate``'s unit): the same passage, and the text, without
    its closing punctuation, a whole run of words inside the quote (a list holds its items)."""
    if quote.candidate.sentence.passage_id != candidate.sentence.passage_id:
        return False
    core = text.strip().rstrip(";,.:")
    return bool(core) and re.search(rf"(?<!\w){re.escape(core)}(?!\w)", quote.text) is not None


def citation_of(hit: Hit, n: int, quotes: tuple[tuple[int, int], ...] = ()) -> Citation:
    p = hit.passage
    return Citation(n=n, text=p.text, title=p.title, source=p.source, page=p.page, section=p.section,
                    score=round(hit.dense, 4), passage_id=p.id, start=p.start, end=p.end, ocr=p.ocr, quotes=quotes)


SHORT_TITLE_CHARS = 60


def short_title(title: str) -> str:
    """A document's title as named once under an answer: the part before a subtitle, kept short."""
    head = re.split(r"\s*[:–—|]\s+|\s+-\s+", title.strip(), maxsplit=1)[0].strip()
    if len(head.split()) < 2:
        head = title.strip()
    if len(head) > SHORT_TITLE_CHARS:
        head = head[:SHORT_TITLE_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return head


def render(quotes: list[Quote], numbers: dict[int, int], titles: dict[int, str], lang: str = "nl") -> str:
    """The answer text: the quotes in the order given (best first), each with its ``[n]``; a list as ``- `` lines;
    then, once, the documents quoted."""
    paragraphs: list[str] = []
    prose: list[str] = []
    for q in quotes:
        n = numbers[q.candidate.sentence.passage_id]
        unit = q.unit
        if not unit.is_list:
            prose.append(f"{unit.text} [{n}]")
            continue
        if prose:
            paragraphs.append(" ".join(prose))
            prose = []
        lines = unit.text.split("\n")
        lines[0] = f"{lines[0]} [{n}]"
        for hit, _, _ in q.more:  # the items that go on in the next passage carry that passage's number
            lines[-1] = f"{lines[-1]} [{numbers[hit.passage.id]}]"
        paragraphs.append("\n".join(lines))
    if prose:
        paragraphs.append(" ".join(prose))
    names = list(dict.fromkeys(short_title(titles[pid]) for pid in numbers))
    source = t("answer.source" if len(names) == 1 else "answer.sources", lang, titles="; ".join(names))
    return "\n".join(paragraphs) + "\n" + source


def compose(evidence: Evidence, hits: list[Hit], lang: str = "nl", previous: Previous | None = None,
            following: Following | None = None, single: bool = False,
            ) -> tuple[str, tuple[Citation, ...], tuple[Citation, ...]]:
    """(answer text, citations it relies on, related passages) for an answerable question, in a conversation
    after ``previous``. With ``following``, a list whose lead-in ends a passage is quoted whole from the next
    passage."""
    quotes = choose_quotes(evidence, previous, following, single)
    if not quotes:
        return not_found(hits, lang)
    # Passages numbered in the order of their best quote; the quotes stay in the ranker's order, so the
    # answer opens with the sentence that best states the asked fact.
    order: list[int] = []
    hit_of = {h.passage.id: h for h in hits}
    quoted: dict[int, list[tuple[int, int]]] = {}
    for q in quotes:
        parts = [(q.candidate.sentence.passage_id, q.unit.start, q.unit.end)]
        for hit, start, end in q.more:
            hit_of.setdefault(hit.passage.id, hit)
            parts.append((hit.passage.id, start, end))
        for pid, start, end in parts:
            if pid not in order:
                order.append(pid)
            quoted.setdefault(pid, []).append((start, end))
    numbers = {pid: i + 1 for i, pid in enumerate(order)}
    spans = {pid: tuple(sorted(quoted[pid])) for pid in order}
    # The best sentence opens the answer; the ones that add to it follow in the order of passages and text,
    # so two sentences of one passage read as the document wrote them.
    reading = quotes[:1] + sorted(quotes[1:], key=lambda q: (numbers[q.candidate.sentence.passage_id],
                                                              q.candidate.sentence.id))
    text = render(reading, numbers, {pid: hit_of[pid].passage.title for pid in order}, lang)
    citations = tuple(citation_of(hit_of[pid], numbers[pid], spans[pid]) for pid in order)
    rest = [h for h in hits if h.passage.id not in numbers]
    related = tuple(citation_of(h, len(citations) + i + 1) for i, h in enumerate(rest))
    return text, citations, related


OVERVIEW_MIN = 3  # headings that name instances of what the question lists ("Werksessie actie 2: …", …)
OVERVIEW_MAX = 16


def overview_heads(ask: Ask, sentences: list[SentenceRecord]) -> list[SentenceRecord]:
    """The headings of one document that each name an instance of what an overview question asks for.

    "Welke werksessies waren er …?" asks for every "Werksessie …" heading of the programme. The question's word
    is the plural of the headings' first word (werksessies / Werksessie, workshops / Workshop, thema's / Thema),
    so a question about one of them ("Welke werksessie gaat over pleinmakers?") is never read as an overview.
    Fewer than :data:`OVERVIEW_MIN` such headings: none (the ordinary answer stands)."""
    if ask.kind != "name" or not ask.focus:
        return []
    plural = fold(ask.focus).replace("'", "").replace("’", "")
    heads = []
    for s in sentences:
        first = fold(s.text.split(maxsplit=1)[0]).strip(":.,") if s.text.strip() else ""
        # a heading that is only the word ("Sleutelfactor", its number on a line of its own) names no instance
        if s.kind == "heading" and len(first) >= 4 and plural != first and plural.startswith(first) \
                and len(plural) - len(first) <= 2 and len(s.text.split()) >= 3:
            heads.append(s)
    return heads[:OVERVIEW_MAX] if len(heads) >= OVERVIEW_MIN else []


def overview(heads: list[SentenceRecord], hits: dict[int, Hit], rest: list[Hit], lang: str = "nl"
             ) -> tuple[str, tuple[Citation, ...], tuple[Citation, ...]]:
    """The list of ``heads`` (each with the ``[n]`` of its passage, ``hits`` by passage id), then the source."""
    order = list(dict.fromkeys(h.passage_id for h in heads))
    numbers = {pid: i + 1 for i, pid in enumerate(order)}
    lines = [f"- {h.text.rstrip(':')} [{numbers[h.passage_id]}]" for h in heads]
    names = list(dict.fromkeys(short_title(hits[pid].passage.title) for pid in order))
    source = t("answer.source" if len(names) == 1 else "answer.sources", lang, titles="; ".join(names))
    citations = tuple(citation_of(hits[pid], numbers[pid], tuple((h.start, h.end) for h in heads
                                                                   if h.passage_id == pid)) for pid in order)
    others = [h for h in rest if h.passage.id not in numbers]
    related = tuple(citation_of(h, len(citations) + i + 1) for i, h in enumerate(others))
    return "\n".join(lines) + "\n" + source, citations, related


def not_found(hits: list[Hit], lang: str = "nl") -> tuple[str, tuple[Citation, ...], tuple[Citation, ...]]:
    """The plain refusal; the nearest passages are related reading, never sources."""
    return t("answer.not_found", lang), (), tuple(citation_of(h, i + 1) for i, h in enumerate(hits))
