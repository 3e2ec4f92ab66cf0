"""Split Dutch passage text into sentences: the units an answer quotes. Pure functions.

Passage text comes from many sources: Markdown and plain text with one paragraph per line, programme
lines without a full stop, list items under a lead-in, and PDF pages whose lines were broken by the
layout (a sentence continues on the next line, sometimes with an end-of-line hyphen). The splitter
first rebuilds logical blocks from lines, then cuts blocks at sentence ends, skipping the full stops of
abbreviations (vb., bv., o.a., m.a.w., enz., nr., art., prof., ...) and initials. Every unit keeps
its character span in the input, so a viewer can highlight it, and a reading text with the line
breaks and hyphenation undone, so an answer can quote it.

No library covers this well for Dutch: pysbd and syntok handle neither PDF line joins nor Dutch
programme lines, and NLTK's Punkt needs a trained Dutch model (a download at run time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Bump when splitting changes what it produces: ingest then re-splits and re-embeds every sentence.
SPLITTER_VERSION = 4

# Abbreviations whose full stop does not end a sentence (lower case, without the final dot). Dutch first,
# plus the English and French ones that occur in Belgian policy texts.
ABBREVIATIONS = frozenset(
    """
    vb bv bvb bijv o.a m.a.w enz nr nrs art dr drs prof e.d e.a i.p.v t.e.m t.a.v t.o.v incl excl ca resp evt
    zgn zg dhr mevr mr ir ing blz p pp pag d.w.z m.b.t i.v.m o.b.v a.d.h.v i.s.m v.z.w vzw etc e.g i.e vs cf cfr
    jr sr st mgr m mme mlle fig hfst afd tel gsm max min ong cat vgl z.o.z o.l.v a.s w.o ev excl stud ped
    kol cq c.q n.a.v n.v.t o.m p.m t.w v.a v.w.b z.g.a.n aug sept okt nov dec jan feb apr jul
    """.split()
)

# A list marker at the start of a line: bullets, check marks, "1.", "1)", "a)", "o " (Word's sub-bullet).
LIST_MARKER = re.compile(r"^\s*(?:(?:[-*•✓–▪►·]|o(?=\s))\s*|(?:\d{1,2}|[a-zA-Z])[.)](?=\s)\s*)+")
_TERMINAL = ".!?…"
_CONNECTORS = frozenset("en of tot noch als dan".split())  # "school- en welzijnswerk": the hyphen stays
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class Sentence:
    """One quotable unit of a text.

    ``start``/``end`` are offsets into the text given to :func:`split_sentences`; ``text`` is the
    reading text (line breaks and end-of-line hyphenation undone, list marker dropped, whitespace
    collapsed). ``kind`` is one of ``sentence``, ``question``, ``heading`` (a line on its own without
    a sentence end), ``item`` (a list item), ``lead_in`` (ends with a colon, usually before a list),
    ``toc`` (a line of a table of contents or an index: a title with a page number) or ``appeal`` (an
    exclamation addressed to the reader: "Dan is deze sessie iets voor jou!"). A ``toc`` or ``appeal`` unit
    is navigation or marketing, never evidence: the answer layer does not quote it.
    ``block`` numbers the logical blocks, so a lead-in and its list items can be found together.
    """

    start: int
    end: int
    text: str
    kind: str
    block: int

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass
class _Line:
    start: int
    end: int
    text: str
    item: bool


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for raw in text.split("\n"):
        start, end = pos, pos + len(raw)
        pos = end + 1
        stripped = raw.strip()
        if not stripped or not _WORD.search(stripped):
            out.append(_Line(start, start, "", False))  # a blank line ends a block
            continue
        lead = len(raw) - len(raw.lstrip())
        marker = LIST_MARKER.match(raw)
        item = marker is not None and marker.end() < len(raw.rstrip())
        body_start = start + (marker.end() if item and marker else lead)
        out.append(_Line(body_start, start + len(raw.rstrip()), text[body_start:start + len(raw.rstrip())], item))
    return out


def _continues(prev: str, nxt: _Line) -> bool:
    """Whether line ``nxt`` continues the sentence of a line ending in ``prev`` (layout line break)."""
    if nxt.item or not nxt.text:
        return False
    last = prev.rstrip()[-1:]
    first = nxt.text[:1]
    if last == "-" and len(prev.rstrip()) > 1 and prev.rstrip()[-2].isalpha():
        return True
    if last in _TERMINAL or last == ":":
        return False
    # A lowercase start cannot open a sentence or a heading: the layout broke the line.
    return first.islower() or (last == "," and not first.isupper())


def _join(parts: list[_Line]) -> tuple[str, list[int]]:
    """Join the lines of one block into reading text, with the source offset of every character."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ln in enumerate(parts):
        body = ln.text
        if i and chars:
            prev_hyphen = chars[-1] == "-" and len(chars) > 1 and chars[-2].isalpha()
            first_word = re.match(r"\w+", body)
            if prev_hyphen and body[:1].islower() and not (first_word and first_word.group(0) in _CONNECTORS):
                chars.pop()  # "integratie-" + "beleid" -> "integratiebeleid"
                origin.pop()
            elif not prev_hyphen or not body[:1].isupper():
                chars.append(" ")
                origin.append(ln.start)
        for k, ch in enumerate(body):
            chars.append(ch)
            origin.append(ln.start + k)
    return "".join(chars), origin


def _blocks(text: str) -> list[tuple[list[_Line], bool]]:
    """Logical blocks: (lines, is_item). A block is a paragraph, a heading line or one list item."""
    blocks: list[tuple[list[_Line], bool]] = []
    current: list[_Line] = []
    for ln in _lines(text):
        if not ln.text:
            if current:
                blocks.append((current, current[0].item))
            current = []
            continue
        if current and _continues(current[-1].text, ln):
            current.append(ln)
            continue
        if current:
            blocks.append((current, current[0].item))
        current = [ln]
    if current:
        blocks.append((current, current[0].item))
    return blocks


def _is_abbreviation(joined: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` belongs to an abbreviation or an initial."""
    k = dot
    while k > 0 and not joined[k - 1].isspace() and joined[k - 1] not in "([{\"'‘“":
        k -= 1
    token = joined[k:dot].lower()
    if not token:
        return False
    if token in ABBREVIATIONS:
        return True
    if len(token) == 1 and token.isalpha():
        return True  # an initial: "A. Kasmi"
    # dotted abbreviations written with more dots than the list has ("o.a" from "o.a.")
    return "." in token and all(len(p) <= 2 for p in token.split(".") if p)


_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)")


def _cut(joined: str) -> list[tuple[int, int]]:
    """Sentence spans inside one joined block."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(joined):
        end = m.end()
        rest = joined[end:].lstrip()
        punct = joined[m.start()]
        if punct == "." and m.end() - m.start() == 1 and _is_abbreviation(joined, m.start()):
            continue
        if m.end() - m.start() >= 3 and rest[:1].isdigit():
            continue  # a dotted leader to a page number ("Inleiding ......... 3")
        if rest:
            nxt = rest[0]
            if nxt.islower() and punct != "…":
                continue  # "wat nu? en dan" / "ca. 50" style continuations
            if punct == "." and joined[m.start() - 1:m.start()].isdigit() and nxt.isdigit():
                continue  # "1. 2." numbering inside a line
        spans.append((start, end))
        start = end
        while start < len(joined) and joined[start].isspace():
            start += 1
    if start < len(joined.rstrip()):
        spans.append((start, len(joined.rstrip())))
    return [(a, b) for a, b in spans if b > a]


_COLON_BEFORE_QUESTION = re.compile(r":\s+(?=[A-ZÀ-Ý])")


def _split_questions_off(joined: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Cut "We bekijken hoe X en Y het deden: Waarom namen ze…?" at the colon: a statement and its questions."""
    out = []
    for a, b in spans:
        piece = joined[a:b]
        m = _COLON_BEFORE_QUESTION.search(piece)
        if piece.rstrip().endswith("?") and m and len(piece[:m.start()].split()) >= 5:
            out.append((a, a + m.start() + 1))
            out.append((a + m.end(), b))
        else:
            out.append((a, b))
    return out


def split_sentences(text: str) -> list[Sentence]:
    """The sentences, headings and list items of ``text``, in order, with spans and reading text."""
    out: list[Sentence] = []
    for block_no, (lines, is_item) in enumerate(_blocks(text)):
        joined, origin = _join(lines)
        spans = _split_questions_off(joined, _cut(joined))
        for a, b in spans:
            piece = " ".join(joined[a:b].split())
            if not _WORD.search(piece):
                continue
            if piece.endswith("?"):
                kind = "question"  # also a checklist question in a list: never an answer
            elif is_item:
                kind = "item"
            elif piece.endswith(":"):
                kind = "lead_in"
            elif len(spans) == 1 and len(lines) == 1 and piece[-1:] not in _TERMINAL + ";,":
                kind = "heading"
            elif _is_appeal(piece):
                kind = "appeal"
            else:
                kind = "sentence"
            out.append(Sentence(origin[a], origin[b - 1] + 1, piece, kind, block_no))
    return _mark_contents(out)


# An exclamation that addresses the reader ("… iets voor jou!", "Schrijf je nu in!") invites, it does not inform.
_READER = re.compile(r"\b(?:je|jij|jou|jouw|u|uw|jullie|you|your|vous|votre|tu|toi)\b", re.IGNORECASE)


def _is_appeal(piece: str) -> bool:
    return piece.rstrip("\"'”’) ").endswith("!") and _READER.search(piece) is not None


# A table-of-contents or index line: words, then a page number, perhaps after a dotted leader ("Inleiding ..... 5",
# "Leer de lokale context kennen door burgers te betrekken 5"). One such line can be an ordinary heading that ends in
# a number ("Werksessie actie 22"); a run of them with page numbers that never go down is a table of contents.
_PAGE_REF = re.compile(r"^(?P<title>.*?[^\W\d_].*?)(?:\s*[.·…_]{3,}\s*|\s+)(?P<page>\d{1,3})$")
_LEADER = re.compile(r"[.·…_]{4,}\s*\d{1,3}$")
MIN_TOC_RUN = 2


def _page_of(s: Sentence) -> int | None:
    if s.kind not in ("item", "heading", "sentence"):
        return None
    m = _PAGE_REF.match(s.text.rstrip())
    return int(m.group("page")) if m else None


def _mark_contents(sentences: list[Sentence]) -> list[Sentence]:
    """``sentences`` with the lines of a table of contents (a run of page references) marked ``toc``."""
    out = list(sentences)
    i = 0
    while i < len(out):
        j = i
        last = -1
        while j < len(out):
            page = _page_of(out[j])
            # a run is one kind of line (all items or all headings) in consecutive blocks
            apart = j > i and (out[j].kind != out[i].kind or out[j].block != out[j - 1].block + 1)
            if page is None or page < last or apart:
                break
            last = page
            j += 1
        if j - i >= MIN_TOC_RUN:
            for k in range(i, j):
                out[k] = Sentence(out[k].start, out[k].end, out[k].text, "toc", out[k].block)
            i = j
            continue
        if _LEADER.search(out[i].text):  # a dotted leader to a page number is a contents line on its own
            out[i] = Sentence(out[i].start, out[i].end, out[i].text, "toc", out[i].block)
        i += 1
    return out


def reading_text(text: str) -> str:
    """``text`` as running prose: layout line breaks and end-of-line hyphenation undone."""
    return "\n".join(" ".join(s.text for s in group) for group in _group_by_block(split_sentences(text)))


def _group_by_block(sentences: list[Sentence]) -> list[list[Sentence]]:
    groups: list[list[Sentence]] = []
    for s in sentences:
        if groups and groups[-1][-1].block == s.block:
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups
