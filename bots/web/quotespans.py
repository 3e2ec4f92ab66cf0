"""The quoted sentences of a citation link: the ``zin`` parameter, checked, and placed in the page text. Pure.

An answer's citation names the sentences it quotes as ``(start, end)`` spans in the passage's reading
text (``Citation.quotes``); the link to the document view carries them as ``zin=a-b,c-d``. The reading
text is the page text with markup dropped and blank lines removed (``ingest.chunking``), so a span is
placed in the page text by aligning the letters and digits of both: markup holds no text a reader sees,
and the letters of the reading text are those of the page text, in order.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from difflib import SequenceMatcher

MAX_SPANS = 8  # an answer quotes one to three sentences; a link with more is not one of ours
MAX_PARAM_CHARS = 120
_PARAM = re.compile(r"[0-9]{1,7}-[0-9]{1,7}(?:,[0-9]{1,7}-[0-9]{1,7})*")  # ASCII digits only

Span = tuple[int, int]


def format_spans(spans: tuple[Span, ...] | list[Span] | list[list[int]]) -> str:
    """``[(3, 40), (41, 90)]`` as the link parameter ``3-40,41-90``."""
    return ",".join(f"{int(a)}-{int(b)}" for a, b in spans)


def parse_spans(raw: str | None, text: str) -> list[Span]:
    """The spans a ``zin`` parameter names in the reading ``text``: sorted, merged where they touch.

    Anything that is not a short list of ``start-end`` pairs inside ``text`` (a bogus link, an old link after
    a re-index changed the passage) yields no spans at all: the view then marks the passage as before.
    """
    if not raw or len(raw) > MAX_PARAM_CHARS or not _PARAM.fullmatch(raw):
        return []
    spans: list[Span] = []
    for pair in raw.split(","):
        a, b = (int(x) for x in pair.split("-"))
        if not 0 <= a < b <= len(text):
            return []
        spans.append((a, b))
    if len(spans) > MAX_SPANS:
        return []
    merged: list[Span] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:  # overlapping or adjacent: one run of text, one mark
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return [(a, b) for a, b in merged if text[a:b].strip()]


def _skeleton(text: str) -> tuple[str, list[int]]:
    """The letters and digits of ``text`` (case-folded one by one) and where each stands in ``text``."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch.isalnum():
            folded = ch.casefold()
            chars.append(folded[0] if len(folded) > 1 else folded)  # "ß" -> "s": one character per character
            where.append(i)
    return "".join(chars), where


def _aligner(reading: str, source: str) -> dict[int, int]:
    """Skeleton index in ``reading`` -> skeleton index in ``source``, for the letters both share in order."""
    matcher = SequenceMatcher(None, reading, source, autojunk=False)
    out: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            out[block.a + k] = block.b + k
    return out


def place_spans(spans: list[Span], reading: str, source: str, offset: int = 0) -> list[Span]:
    """``spans`` of the ``reading`` text as spans of ``source`` (the page text the reading text was made from),
    shifted by ``offset`` (where ``source`` starts in its page). A span whose letters cannot be found is left out.

    Each span runs from its first to its last letter or digit, widened by the punctuation around it that
    ``source`` holds too (a closing full stop, an opening bracket).
    """
    r_skel, r_where = _skeleton(reading)
    s_skel, s_where = _skeleton(source)
    aligned: dict[int, int] | None = None
    placed: list[Span] = []
    floor = 0  # spans are sorted: each is looked for after the previous one
    for a, b in spans:
        lo, hi = bisect_left(r_where, a), bisect_left(r_where, b) - 1
        if lo > hi:
            continue
        word = r_skel[lo:hi + 1]
        found = s_skel.find(word, floor)
        if found >= 0 and s_skel.find(word, found + 1) < 0:  # once, after the previous span: the place is sure
            first, last = found, found + len(word) - 1
        else:  # markup inside the sentence, or the same words twice: align the whole passage
            if aligned is None:
                aligned = _aligner(r_skel, s_skel)
            inside = [aligned[k] for k in range(lo, hi + 1) if k in aligned and aligned[k] >= floor]
            if len(inside) < 0.9 * (hi + 1 - lo):  # the reading text's letters all stand in the page text
                continue
            first, last = inside[0], inside[-1]
        start, end = s_where[first], s_where[last] + 1
        # the punctuation just outside the letters, where both texts agree on it (markup may stand between)
        start = _widen(source, start, reading[a:r_where[lo]].strip(), -1)
        end = _widen(source, end, reading[r_where[hi] + 1:b].strip(), 1)
        placed.append((start + offset, end + offset))
        floor = last + 1
    return placed


_MARKUP = frozenset("*_`~")


def _widen(source: str, pos: int, punctuation: str, step: int) -> int:
    """``pos`` moved over ``punctuation`` in ``source`` (backwards when ``step`` is -1), stepping over markup
    characters between; it stops where the texts disagree."""
    chars = punctuation[::-1] if step < 0 else punctuation
    moved = pos
    for ch in chars:
        if ch.isspace():
            continue
        probe = moved
        while True:
            i = probe - 1 if step < 0 else probe
            if not 0 <= i < len(source) or source[i] == "\n":
                return moved
            if source[i] == ch:
                moved = i if step < 0 else i + 1
                break
            if source[i] not in _MARKUP and not source[i].isspace():
                return moved
            probe += step
    return moved
