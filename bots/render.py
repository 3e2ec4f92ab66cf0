"""Answer -> Telegram HTML or plain text, and splitting HTML into messages. Pure functions.

Telegram's HTML is a small, strict dialect: only ``<``, ``>`` and ``&`` must be escaped, and a
message that cuts a tag or an entity in half is rejected as a whole. So every function here either
escapes what it inserts or keeps tags balanced per piece.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from assistant.types import Answer, Citation
from bots.texts import t

TELEGRAM_LIMIT = 4096  # characters (UTF-16 code units) per message, after entity parsing
SECTION_CHARS = 90  # sections in an answer's source list are shortened; "Toon bronnen" shows them whole

_MARKER = re.compile(r"\[(\d+)\]")
# One token is a tag, an entity, or a single character of text: a split never falls inside the first two.
_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);|[^<&]|[<&]", re.S)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")


def escape(text: str) -> str:
    """Escape text for Telegram HTML (quotes stay as they are: Telegram does not need them escaped)."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: in UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if text[limit - 1] != " " and " " in head:  # do not end in the middle of a word
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:›-") + "…"


def citation_label(c: Citation, lang: str = "nl", section_chars: int | None = None) -> str:
    """``Title, p. 3 — Section`` as plain text: where a citation comes from, page or section when known.

    ``section_chars`` shortens long section paths (headings joined by ›) for compact lists.
    """
    parts = [c.title or c.source]
    if c.page is not None:
        parts.append(t("cite.page", lang, page=c.page))
    label = ", ".join(parts)
    if not c.section:
        return label
    section = shorten(c.section, section_chars) if section_chars else c.section
    return f"{label} — {section}"


def answer_html(answer: Answer, sources_heading: str, lang: str = "nl", related_heading: str = "") -> str:
    """The answer text with bold ``[n]`` markers, one numbered line per source it cites, and (given a heading)
    the other retrieved passages apart, in italics: related reading, never sources.

    A list in the answer (its ``- `` lines) shows as ``• `` lines, as Telegram has no list markup."""
    text = "\n".join("• " + line[2:] if line.startswith("- ") else line for line in answer.text.split("\n"))
    body = _MARKER.sub(r"<b>[\1]</b>", escape(text))
    parts = [body]
    if answer.found and answer.citations:  # passages near an unanswered question are no sources
        lines = [f"<b>[{c.n}]</b> {escape(citation_label(c, lang, SECTION_CHARS))}" for c in answer.citations]
        parts.append(f"<b>{escape(sources_heading)}</b>\n" + "\n".join(lines))
    if related_heading and answer.related:
        lines = [f"[{c.n}] {escape(citation_label(c, lang, SECTION_CHARS))}" for c in answer.related]
        parts.append(f"<i>{escape(related_heading)}</i>\n<i>" + "\n".join(lines) + "</i>")
    return "\n\n".join(parts)


def source_files(citations: Iterable[Citation]) -> list[str]:
    """The distinct files the citations come from, in order of first citation."""
    return list(dict.fromkeys(c.source for c in citations))


def passages_html(citations: Iterable[Citation], lang: str = "nl") -> str:
    """Every cited passage in full, under its numbered label and the file it comes from; the sentences the
    answer quotes from it in bold."""
    blocks = []
    for c in citations:
        head = f"<b>[{c.n}] {escape(citation_label(c, lang))}</b>\n<i>{escape(c.source)}</i>"
        blocks.append(f"{head}\n<blockquote>{quoted_html(c.text, c.quotes)}</blockquote>")
    return "\n\n".join(blocks)


def quoted_html(text: str, quotes: Iterable[tuple[int, int]]) -> str:
    """``text`` (stripped) escaped, with the ``quotes`` spans (offsets in ``text``) in bold: one bold run per
    run of quoted text (overlapping spans join), and spans outside the text clipped or left out."""
    lead = len(text) - len(text.lstrip())
    body = text.strip()
    runs: list[tuple[int, int]] = []
    for a, b in sorted((max(0, a - lead), min(b - lead, len(body))) for a, b in quotes):
        if b <= a:
            continue
        if runs and a <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(b, runs[-1][1]))
        else:
            runs.append((a, b))
    out: list[str] = []
    pos = 0
    for a, b in runs:
        if body[a:b].strip():
            out.append(f"{escape(body[pos:a])}<b>{escape(body[a:b])}</b>")
            pos = b
    out.append(escape(body[pos:]))
    return "".join(out)


def documents_html(documents: Iterable[Mapping[str, Any]], heading: str, passages_label: str) -> str:
    """A bulleted list of documents (title, publisher, date, passage count) under a bold heading.

    ``passages_label`` is a template with ``{passages}``, e.g. ``"{passages} passages"``.
    """
    lines = [f"<b>{escape(heading)}</b>"]
    for d in documents:
        facts = [str(d[k]) for k in ("publisher", "date") if d.get(k)]
        facts.append(passages_label.format(passages=d.get("passages", 0)))
        title = escape(str(d.get("title") or d.get("source")))
        lines.append(f"• <b>{title}</b>\n  {escape(' · '.join(facts))}")
    return "\n".join(lines)


def html_to_text(markup: str) -> str:
    """Telegram HTML as plain text, tags dropped and entities decoded: the fallback for refused formatting."""
    return html.unescape(re.sub(r"<[^<>]*>", "", markup))


def _apply(stack: tuple[tuple[str, str], ...], token: str) -> tuple[tuple[str, str], ...]:
    """The open-tag stack after ``token`` (a closing tag pops up to its opener; text leaves it alone)."""
    if not token.startswith("<") or len(token) < 3:
        return stack
    m = _TAG_NAME.match(token)
    if m is None:
        return stack
    name = m.group(1).lower()
    if token.startswith("</"):
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] == name:
                return stack[:i]
        return stack
    return (*stack, (name, token))


def _closers(stack: tuple[tuple[str, str], ...]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _break_rank(tokens: list[str], j: int) -> int:
    """How good a place it is to split after tokens[j-1]: paragraph 3, line 2, word 1, anywhere 0."""
    tok = tokens[j - 1]
    if tok == "\n":
        return 3 if j >= 2 and tokens[j - 2] == "\n" else 2
    return 1 if tok in (" ", "\t") else 0


def split_html(markup: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split Telegram HTML into pieces of at most ``limit`` UTF-16 units, each valid on its own.

    Pieces end at a paragraph, line or word boundary when one lies in the second half of the
    piece; tags open at the cut are closed at the end of one piece and reopened at the start of
    the next, and no tag or entity is ever cut.
    """
    if limit < 64:
        raise ValueError(f"limit must be at least 64 characters, got {limit}")
    tokens = _TOKEN.findall(markup)
    pieces: list[str] = []
    stack: tuple[tuple[str, str], ...] = ()
    i = 0
    while i < len(tokens):
        while i < len(tokens) and tokens[i].isspace():  # Telegram trims leading blanks anyway
            i += 1
        if i == len(tokens):
            break
        opening = "".join(tag for _, tag in stack)
        out, size, st = [opening], utf16_len(opening), stack
        late: dict[int, tuple[int, int, tuple[tuple[str, str], ...]]] = {}  # rank -> j, len(out), stack
        latest: tuple[int, int, tuple[tuple[str, str], ...]] | None = None
        j = i
        while j < len(tokens):
            tok = tokens[j]
            after = _apply(st, tok)
            if size + utf16_len(tok) + utf16_len(_closers(after)) > limit and j > i:
                break
            out.append(tok)
            size += utf16_len(tok)
            st = after
            j += 1
            rank = _break_rank(tokens, j)
            if rank:
                latest = (j, len(out), st)
                if size * 2 >= limit:
                    late[rank] = latest
        if j < len(tokens):
            cut = next((late[r] for r in (3, 2, 1) if r in late), latest)
            if cut is not None:
                j, keep, st = cut
                out = out[:keep]
        text = "".join(out).rstrip()
        if html_to_text(text).strip():
            pieces.append(text + _closers(st))
        i, stack = j, st
    return pieces
