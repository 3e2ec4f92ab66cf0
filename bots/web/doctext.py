"""Document text as safe HTML for the document view: readable, structured, the cited passage marked. Pure.

The page text is never rendered as HTML: every character is escaped, and markup that is noise for a
reader (Markdown ``#``, ``**``, ``*``, links, stray tags like ``<i>`` or ``<p>`` in a text file, tabs
between a label and its value) is hidden or replaced per piece, so passage offsets into the page text
stay valid. Lines the chunker reads as headings become headings here too, so the view shows the
sections that citations name.
"""

from __future__ import annotations

import re
from html import escape

from bots.texts import t
from ingest.chunking import line_kinds

_HEADING_MARK = re.compile(r"[ \t]{0,3}#{1,6}[ \t]+")
_STRONG = re.compile(r"\*\*|__")
_EMPH = re.compile(r"(?<![*\w])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![*\w])")
_TAG = re.compile(r"</?[a-zA-Z][^>\n]{0,40}>")
_LINK = re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)")
_TAB = re.compile(r"[ \t]*\t+[ \t]*")

Replacement = tuple[int, int, str]  # (start, end, shown instead): "" hides


def _replacements(text: str, start: int, end: int, heading: bool) -> list[Replacement]:
    """What to hide or replace in ``text[start:end]`` (absolute offsets), sorted and non-overlapping."""
    piece = text[start:end]
    found: list[Replacement] = []
    if heading:
        mark = _HEADING_MARK.match(piece)
        if mark:
            found.append((start, start + mark.end(), ""))
    for m in _LINK.finditer(piece):
        found.append((start + m.start(), start + m.start(1), ""))
        found.append((start + m.end(1), start + m.end(), ""))
    for m in _EMPH.finditer(piece):
        found.append((start + m.start(), start + m.start() + 1, ""))
        found.append((start + m.end() - 1, start + m.end(), ""))
    found.extend((start + m.start(), start + m.end(), "") for m in _STRONG.finditer(piece))
    found.extend((start + m.start(), start + m.end(), "") for m in _TAG.finditer(piece))
    found.extend((start + m.start(), start + m.end(), ": ") for m in _TAB.finditer(piece) if m.start() > 0)
    found.sort()
    out: list[Replacement] = []
    for r in found:
        if not out or r[0] >= out[-1][1]:
            out.append(r)
    return out


class _Marker:
    """Emits ``text[a:b]`` escaped, with replacements, passage anchors, the cited span and its quoted sentences."""

    def __init__(self, text: str, anchors: list[tuple[int, int]], cited: tuple[int, int, int] | None,
                 quotes: list[tuple[int, int]] | None = None) -> None:
        self.text = text
        self.anchors = sorted(anchors)
        self.cited = cited
        # a quote is marked only inside the cited passage, so the marks nest
        lo, hi = (cited[0], cited[1]) if cited else (0, 0)
        self.quotes = [q for q in _merged([(max(lo, a), min(hi, b)) for a, b in quotes or []])
                       if text[q[0]:q[1]].strip()]
        self.opened = False  # the first piece of the cited span carries its id and the "begin" note
        self.quote_opened: set[int] = set()  # quotes whose first piece (and the "begin" note) is out

    def piece(self, a: int, b: int, heading: bool = False, hide: bool = False) -> str:
        """HTML for ``text[a:b]``; ``hide`` drops its characters (whitespace that a block's margin replaces)."""
        events: dict[int, list[tuple[int, str]]] = {}

        def add(pos: int, order: int, fragment: str) -> None:
            events.setdefault(pos, []).append((order, fragment))

        # At one position: quotes close, then the passage, anchors, the passage opens, then a quote: marks nest.
        cited_id = self.cited[2] if self.cited else None
        for offset, pid in self.anchors:
            if pid != cited_id and (a <= offset < b or (offset == b == len(self.text))):
                add(offset, 2, f'<span class="anchor" id="p-{pid}"></span>')
        if self.cited is not None:
            start, end, pid = self.cited
            lo, hi = max(a, start), min(b, max(start, end))
            if lo < hi and self.text[lo:hi].strip():
                if not self.opened:
                    soft = " soft" if self.quotes else ""
                    if not self.quotes:  # a link that asked for quoted sentences still lands on the passage
                        add(lo, 2, f'<span class="anchor" id="q-{pid}"></span>')
                    add(lo, 3, f'<mark class="cited{soft}" id="p-{pid}" tabindex="-1">'
                               '<span class="sr-only">Begin van de geciteerde passage. </span>')
                    self.opened = True
                else:
                    add(lo, 3, f'<mark class="cited{" soft" if self.quotes else ""}">')
                last = not self.text[hi:end].strip()
                note = '<span class="sr-only"> Einde van de geciteerde passage.</span>' if last else ""
                add(hi, 1, f"{note}</mark>")
            for k, (q_start, q_end) in enumerate(self.quotes):
                lo, hi = max(a, q_start), min(b, q_end)
                if lo >= hi or not self.text[lo:hi].strip():
                    continue
                if k not in self.quote_opened:
                    self.quote_opened.add(k)
                    anchor = f' id="q-{pid}" tabindex="-1"' if k == 0 else ""
                    add(lo, 4, f'<span class="sr-only">{escape(t("page.quote_begin"), quote=False)}</span>'
                               f'<mark class="quote" data-zin="{k}"{anchor}>')
                else:
                    add(lo, 4, f'<mark class="quote" data-zin="{k}">')
                note = (f'<span class="sr-only">{escape(t("page.quote_end"), quote=False)}</span>'
                        if not self.text[hi:q_end].strip() else "")
                add(hi, 0, f"</mark>{note}")
        replacements = [(a, b, "")] if hide else _replacements(self.text, a, b, heading)
        cuts = sorted({a, b, *events, *(p for r in replacements for p in r[:2])})
        out: list[str] = []
        for lo, hi in zip(cuts, cuts[1:] + [b], strict=False):
            out.extend(fragment for _, fragment in sorted(events.get(lo, []), key=lambda e: e[0]))
            if hi <= lo:
                continue
            # a mark may cut a replaced run (a tab run shown as ": "): its text is shown once, in the first part
            shown = next((r[2] if lo == r[0] else "" for r in replacements if r[0] <= lo and hi <= r[1]), None)
            out.append(escape(shown if shown is not None else self.text[lo:hi], quote=False))
        return "".join(out)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans sorted, empty ones dropped, overlapping or touching ones joined: one mark per run of text."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


def mark_text(text: str, anchors: list[tuple[int, int]], cited: tuple[int, int, int] | None,
              explicit_headings: bool = False, heading_level: int = 3,
              quotes: list[tuple[int, int]] | None = None) -> str:
    """``text`` as HTML: escaped, markup hidden, headings as ``<h3>``.. and ``(start, end, id)`` marked.

    ``anchors`` are ``(offset, passage_id)`` of the other passages (empty spans a link can target).
    ``heading_level`` is the HTML level of the document's top headings (deeper ones follow, up to h6).
    ``quotes`` are the ``(start, end)`` spans in ``text`` of the sentences an answer quoted from the cited
    passage: each is a ``<mark class="quote">`` inside the (then lighter) passage mark, the first one
    ``id="q-{id}"``; without quotes an empty ``id="q-{id}"`` anchor opens the passage, so a link lands anyway.
    """
    marker = _Marker(text, anchors, cited, quotes if cited is not None else None)
    out: list[str] = []
    pos = 0
    lines = line_kinds(text, explicit_headings)
    for i, line in enumerate(lines):
        heading = line.kind in ("heading", "major")
        # the whitespace around a heading is its margin now
        out.append(marker.piece(pos, line.start, hide=heading and not text[pos:line.start].strip()))
        if heading:
            depth = (line.level or 2) - 1 if line.kind == "major" else 1
            level = min(6, heading_level + depth)
            out.append(f'<h{level} class="doc-h">{marker.piece(line.start, line.end, heading=True)}</h{level}>')
            pos = line.end
            nxt = lines[i + 1].start if i + 1 < len(lines) else len(text)
            if not text[pos:nxt].strip():
                out.append(marker.piece(pos, nxt, hide=True))
                pos = nxt
        else:
            out.append(marker.piece(line.start, line.end))
            pos = line.end
    out.append(marker.piece(pos, len(text)))
    return "".join(out)
