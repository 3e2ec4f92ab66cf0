"""Reading text from positioned lines (PDF text layer or OCR): headings by font size and weight, paragraphs
rejoined where the layout broke them, end-of-line hyphenation undone. Pure functions.

Input is one :class:`Line` per line as the page draws it; output is the page's reading text in the
Markdown-like form the chunker reads (``#`` headings, blank lines between paragraphs).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HEADING_RATIO = 1.15  # a line this much larger than the body text is a heading
MAX_HEADING_CHARS = 150
MAX_LEVELS = 4
PARAGRAPH_GAP = 1.5  # a vertical gap this many times the usual line pitch starts a new paragraph
MAX_FURNITURE_CHARS = 100
LONG_LINE = 0.6  # a line this long (share of the page's longest body line) was wrapped by the layout
_BULLET = re.compile(r"^\s*(?:[-*•▪■●◦–\uf0b7\uf0a7]|\d{1,2}[.)]|[a-z][.)])\s+")
_BULLET_GLYPHS = re.compile(r"^\s*[•▪■●◦\uf0b7\uf0a7]\s*")
_SENTENCE_END = (".", "!", "?", ":", ";")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_LETTERS = re.compile(r"[^\W\d_]")
_DIGITS = re.compile(r"\d+")
# Prefixes Dutch writes with a hyphen before another word ("anti-discriminatie", "ex-partner").
HYPHEN_PREFIXES = frozenset({"anti", "ex", "non", "niet", "pro", "co", "semi", "pseudo", "quasi", "oud", "vice",
                             "mini", "maxi", "multi", "super", "post", "pre", "inter", "intra", "extra", "ultra",
                             "sub", "neo", "all", "e"})
# Left part + right part that would read as one vowel sound: Dutch keeps the hyphen ("zee-egel", "auto-ongeval").
_VOWEL_CLASH = frozenset({"aa", "ae", "ai", "au", "ee", "ei", "eu", "ie", "ii", "oe", "oi", "oo", "ou", "ui", "uu"})
# "school- en jeugdwerk": the hyphen stands for a shared second part and is followed by a conjunction.
_CONJUNCTIONS = frozenset({"en", "of", "tot", "noch", "als", "and", "or", "et", "ou"})


@dataclass(frozen=True)
class Line:
    """One drawn line: its text, dominant font size (points), weight and baseline (None when unknown)."""

    text: str
    size: float
    bold: bool = False
    y: float | None = None  # larger is higher on the page (PDF user space); OCR lines are converted
    paragraph: int | None = None  # OCR's own paragraph number, when it has one


def body_size(lines: Iterable[Line]) -> float:
    """The font size most characters are set in: the body text."""
    weights: Counter[float] = Counter()
    for line in lines:
        weights[round(line.size * 2) / 2] += len(line.text.strip())
    return weights.most_common(1)[0][0] if weights else 0.0


def _is_heading(line: Line, body: float) -> bool:
    text = line.text.strip()
    if not text or len(text) > MAX_HEADING_CHARS or not _LETTERS.search(text) or _BULLET.match(text):
        return False
    if text.endswith((".", ",", ";", ":")) or not (text[0].isupper() or text[0].isdigit()):
        return False
    if body and line.size >= body * HEADING_RATIO:
        return True
    return line.bold and (not body or line.size >= body * 0.95)


def heading_levels(lines: Iterable[Line], body: float) -> dict[tuple[float, bool], int]:
    """Heading level per (size, bold) style: larger first, bold before regular at one size; at most four."""
    styles = {(round(ln.size * 2) / 2, ln.bold) for ln in lines if _is_heading(ln, body)}
    ordered = sorted(styles, key=lambda s: (-s[0], not s[1]))
    return {style: min(i + 1, MAX_LEVELS) for i, style in enumerate(ordered)}


def vocabulary(texts: Iterable[str]) -> set[str]:
    """Lower-cased words (hyphenated ones whole) of a document: evidence for undoing hyphenation."""
    words: set[str] = set()
    for text in texts:
        words.update(w.lower() for w in _WORD.findall(text))
    return words


def join_hyphenated(left: str, right: str, vocab: set[str] | frozenset[str] = frozenset()) -> str:
    """``left`` ends in a hyphen at a line end, ``right`` is the next line: the two joined as they are meant.

    "integratie-" + "beleid" -> "integratiebeleid" (layout hyphenation), but "anti-" + "discriminatie"
    -> "anti-discriminatie", "OCMW-" + "raad" -> "OCMW-raad", "school-" + "en jeugdwerk" -> "school- en
    jeugdwerk". The document's own words decide first: if it writes the word whole (or hyphenated)
    elsewhere, that form wins; then Dutch spelling rules.
    """
    head = left[:-1]
    first = right.split(" ", 1)[0]
    last_word = re.findall(r"[^\W_]+$", head)
    before = last_word[0] if last_word else ""
    next_word = re.match(r"[^\W_]+", first)
    after = next_word.group(0) if next_word else ""
    if not before or not after:
        return f"{left}{right}"
    if after.lower() in _CONJUNCTIONS:
        return f"{left} {right}"
    if not after[0].islower() or before[-1].isdigit() or (len(before) > 1 and before.isupper()):
        return f"{left}{right}"
    whole, hyphenated = (before + after).lower(), f"{before}-{after}".lower()
    if whole in vocab and hyphenated not in vocab:
        return f"{head}{right}"
    if hyphenated in vocab and whole not in vocab:
        return f"{left}{right}"
    if before.lower() in HYPHEN_PREFIXES or (before[-1] + after[0]).lower() in _VOWEL_CLASH:
        return f"{left}{right}"
    return f"{head}{right}"


def _ends_with_hyphen(text: str) -> bool:
    return len(text) > 1 and text.endswith("-") and text[-2].isalnum()


def _continues(prev: str, nxt: str, long_prev: bool) -> bool:
    """Does ``nxt`` continue the sentence of ``prev`` (a break made by the layout, not the author)?"""
    if _BULLET.match(nxt):
        return False
    start = nxt.lstrip("\"'“‘(")[:1]
    if start.islower() or (start.isdigit() and not prev.endswith(_SENTENCE_END)):
        return True
    return long_prev and not prev.endswith(_SENTENCE_END) and bool(start) and not _is_list_lead(prev)


def _is_list_lead(text: str) -> bool:
    return text.endswith(":")


def compose(lines: Sequence[Line], body: float, levels: dict[tuple[float, bool], int],
            vocab: set[str] | frozenset[str] = frozenset()) -> str:
    """The reading text of one page from its lines (see the module docstring)."""
    blocks: list[str] = []
    current: list[str] = []  # lines of the current paragraph, already joined where the layout broke them
    body_lines = [ln for ln in lines if (round(ln.size * 2) / 2, ln.bold) not in levels]
    longest = max((len(ln.text.strip()) for ln in body_lines), default=0)
    pitch = _pitch(body_lines)
    prev: Line | None = None
    heading: tuple[int, list[str], Line] | None = None

    def close_paragraph() -> None:
        if current:
            blocks.append("\n".join(current))
            current.clear()

    def close_heading() -> None:
        nonlocal heading
        if heading:
            level, parts, _ = heading
            text = parts[0]
            for part in parts[1:]:
                text = join_hyphenated(text, part, vocab) if _ends_with_hyphen(text) else f"{text} {part}"
            blocks.append(f"{'#' * level} {text}")
            heading = None

    for line in lines:
        text = _BULLET_GLYPHS.sub("- ", line.text.strip())
        text = re.sub(r"[ \t\u00a0]+", " ", text)
        if not text:
            continue
        style = (round(line.size * 2) / 2, line.bold)
        level = levels.get(style) if _is_heading(line, body) else None
        gap = prev is not None and _gap(prev, line, pitch)
        if level:
            close_paragraph()
            same = heading is not None and heading[0] == level and not _gap(heading[2], line, pitch * 1.2)
            if heading is not None and same:
                heading[1].append(text)
                heading = (level, heading[1], line)
            else:
                close_heading()
                heading = (level, [text], line)
            prev = line
            continue
        close_heading()
        if gap:
            close_paragraph()
        if current:
            last = current[-1]
            if _ends_with_hyphen(last) and text[:1].islower():
                current[-1] = join_hyphenated(last, text, vocab)
                prev = line
                continue
            if _continues(last, text, len(last) >= LONG_LINE * longest):
                current[-1] = f"{last} {text}"
                prev = line
                continue
        current.append(text)
        prev = line
    close_heading()
    close_paragraph()
    return "\n\n".join(blocks)


def _pitch(lines: Sequence[Line]) -> float:
    """The usual distance between consecutive body lines on the page (0 when positions are unknown)."""
    steps = [a.y - b.y for a, b in zip(lines, lines[1:], strict=False)
             if a.y is not None and b.y is not None and 0 < a.y - b.y < 4 * max(a.size, 1)]
    return statistics.median(steps) if steps else 0.0


def _gap(prev: Line, line: Line, pitch: float) -> bool:
    """A paragraph break: clearly more space than the usual line pitch, or a jump up (next column)."""
    if prev.paragraph is not None and line.paragraph is not None:
        return prev.paragraph != line.paragraph
    if prev.y is None or line.y is None or not pitch:
        return False
    step = prev.y - line.y
    return step > PARAGRAPH_GAP * pitch or step < -pitch


def repeated_furniture(pages: Sequence[Sequence[Line]]) -> set[str]:
    """Running headers and footers: first or last lines that recur (digits aside) on most pages."""
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        texts = [ln.text.strip() for ln in lines if ln.text.strip()]
        # headers and footers are short; a full line of body text that recurs is the author's, not furniture
        counts.update({_furniture_key(t) for t in texts[:2] + texts[-2:] if len(t) <= MAX_FURNITURE_CHARS})
    threshold = max(3, len(pages) // 2 + 1)
    return {key for key, n in counts.items() if n >= threshold}


def _furniture_key(text: str) -> str:
    return _DIGITS.sub("#", " ".join(text.split()).lower())


def drop_furniture(lines: Sequence[Line], furniture: set[str]) -> list[Line]:
    """Lines without running headers and footers, and without a lone page number at the top or bottom."""
    kept = [ln for ln in lines if _furniture_key(ln.text) not in furniture]
    while kept and _DIGITS.fullmatch(kept[-1].text.strip().strip("-– ")):
        kept.pop()
    while kept and _DIGITS.fullmatch(kept[0].text.strip().strip("-– ")):
        kept.pop(0)
    return kept
