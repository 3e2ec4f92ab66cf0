"""Structure-aware chunking: pure functions from page text to passages.

The text is read as lines. Headings (Markdown ``#``, bold title lines, short title lines that open a
block) set the section path and are kept at the top of the passage they introduce, so a heading is
never a passage on its own. Formats whose loader knows the headings (PDF fonts, Word styles, HTML
tags) mark them with ``#``; for those (``explicit_headings``) only marked lines are headings, their
``#`` count is the level, and the section path follows the levels. List items stay with their
lead-in. Passages are bounded in size and split at sentence boundaries; every passage keeps its page
and character span in the source.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from assistant.types import Page

# Bump when the chunking code changes what it produces: the manifest records it, so the next ingest
# re-chunks and re-embeds everything instead of mixing passages cut two ways.
CHUNKER_NAME = "structure-v3"


@dataclass(frozen=True)
class ChunkerSettings:
    """Passage size bounds, in characters of source text.

    ~900 characters is a paragraph or two (one session of a programme, one key factor of a toolkit):
    enough context to answer, short enough to read in a citation card, and well under the 512-token
    window of e5 models. Measured against 700/1000 and 1100/1500 on the dev questions (bench/).
    """

    target_chars: int = 900
    max_chars: int = 1300
    min_chars: int = 120

    def __post_init__(self) -> None:
        if self.min_chars < 1:
            raise ValueError(f"min_chars must be positive, got {self.min_chars}")
        if not self.min_chars <= self.target_chars <= self.max_chars:
            raise ValueError(
                f"chunk sizes must satisfy min_chars <= target_chars <= max_chars, got "
                f"{self.min_chars}, {self.target_chars}, {self.max_chars}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"name": CHUNKER_NAME, **asdict(self)}


@dataclass(frozen=True)
class Chunk:
    page: int | None
    section: str
    start: int
    end: int
    text: str


@dataclass
class _Line:
    kind: str  # "heading" | "major" | "list" | "text"
    start: int
    end: int
    clean: str
    opens_block: bool
    level: int = 0  # number of '#' of a Markdown heading


@dataclass(frozen=True)
class LineInfo:
    """A line as the chunker reads it: its span in the page text and its kind (for the document view)."""

    start: int
    end: int
    kind: str  # "heading" | "major" | "list" | "text"
    level: int  # '#' count of a marked heading, else 0


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_LIST = re.compile(r"^\s*(?:[-*•✓–]|o(?=\s)|\d{1,2}[.)]|[A-Za-z][.)])\s*")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_EMPH = re.compile(r"(?<![*\w])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![*\w])")
_HTML = re.compile(r"</?[a-zA-Z][^>]{0,40}>")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_IMAGE_NOISE = re.compile(r"\.(?:png|jpe?g|gif|svg|webp)\s*$|^(?:provider\s+)?image$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9À-ÖØ-Þ])")
_TERMINAL = (".", "!", ";", ",", ":")
_INNER_SENTENCE = re.compile(r"[.?!]\s+[A-Z]")
MAX_HEADING_CHARS = 160
MAX_SECTION_PART_CHARS = 120  # one heading in a section path; longer ones end in "…" at a word boundary
MAX_SECTION_LEVELS = 3  # a deep outline is cited by its three innermost headings
MAX_BOLD_HEADING_CHARS = 260
LIST_SLACK_CHARS = 300  # a list may overrun max_chars this much rather than lose its lead-in


def clean_inline(text: str) -> str:
    """Plain reading text: no Markdown emphasis, links or stray HTML tags; tabs become ': '."""
    text = _LINK.sub(r"\1", text)
    text = _BOLD.sub(r"\1", text)
    text = _EMPH.sub(r"\1", text)
    text = text.replace("**", "")
    text = _HTML.sub("", text)
    text = re.sub(r"^\s{0,3}#{1,6}\s+", "", text)
    text = re.sub(r"\s*\t+\s*", ": ", text.strip())
    return re.sub(r"[ \u00a0]{2,}", " ", text).strip()


def _bold_share(line: str) -> float:
    bold = sum(len(m.group(1)) for m in _BOLD.finditer(line))
    return bold / max(1, len(line.replace("*", "").strip()))


def _classify(raw: str, clean: str, opens_block: bool, after_heading: bool, explicit: bool = False) -> str:
    if _MD_HEADING.match(raw):
        return "major"
    stripped = raw.strip()
    list_match = _LIST.match(raw)
    if explicit:
        return "list" if list_match else "text"
    if list_match:
        rest = raw[list_match.end():].strip()
        # "2) **Taalbeleid:**" is a heading that introduces the list below it, not a list item.
        if rest.startswith("**") and _bold_share(rest) > 0.9 and len(clean) <= 80:
            return "heading"
        return "list"
    if stripped.startswith("**") and _bold_share(stripped) >= 0.6 and len(clean) <= MAX_BOLD_HEADING_CHARS:
        return "heading"
    if len(clean) > MAX_HEADING_CHARS:
        return "text"
    if clean.endswith(_TERMINAL) or not (clean[:1].isupper() or clean[:1].isdigit()):
        return "text"
    if after_heading:
        return "heading"
    # A line that merely opens a block must also look like a title: short, one phrase.
    if opens_block and len(clean.split()) <= 12 and not _INNER_SENTENCE.search(clean):
        return "heading"
    return "text"


def _lines(text: str, explicit: bool = False) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    blank_before = True
    for raw in text.split("\n"):
        start, end = pos, pos + len(raw)
        pos = end + 1
        clean = clean_inline(raw)
        if not any(ch.isalnum() for ch in clean) or _IMAGE_NOISE.search(clean):
            blank_before = blank_before or not raw.strip()
            continue
        after_heading = bool(out) and out[-1].kind in ("heading", "major")
        kind = _classify(raw, clean, blank_before, after_heading, explicit)
        lead = len(raw) - len(raw.lstrip())
        trail = len(raw.rstrip())
        level = len(raw.lstrip()) - len(raw.lstrip().lstrip("#")) if kind == "major" else 0
        out.append(_Line(kind, start + lead, start + trail, clean, blank_before, level))
        blank_before = False
    return out


def line_kinds(text: str, explicit_headings: bool = False) -> list[LineInfo]:
    """How the chunker reads ``text``, line by line: what the document view shows as headings and lists."""
    return [LineInfo(ln.start, ln.end, ln.kind, ln.level) for ln in _lines(text, explicit_headings)]


def shorten(text: str, limit: int = MAX_SECTION_PART_CHARS) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, with "…"; never in the middle of a word."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–") + "…"


class _Outline:
    """The section path in force: two parts (major › minor) guessed from plain text, or heading levels."""

    def __init__(self, explicit: bool, section: str = "") -> None:
        self.explicit = explicit
        self.stack: list[tuple[int, str]] = []  # explicit: (level, title) from outermost to innermost
        self.major, self.minor = (section.split(" › ", 1) + [""])[:2] if section else ("", "")
        if explicit and section:
            self.stack = [(i + 1, part) for i, part in enumerate(section.split(" › "))]

    @property
    def path(self) -> str:
        if self.explicit:
            parts = [title for _, title in self.stack][-MAX_SECTION_LEVELS:]
        else:
            parts = [self.major, self.minor]
        return " › ".join(shorten(p) for p in parts if p)

    def parent_path(self, level: int) -> str:
        """The path above a heading of ``level`` (explicit mode), or the major part (guessed headings)."""
        if self.explicit:
            parts = [title for lvl, title in self.stack if lvl < level][-MAX_SECTION_LEVELS:]
            return " › ".join(shorten(p) for p in parts)
        return shorten(self.major) if self.major else ""

    def is_subheading(self, line: _Line) -> bool:
        if self.explicit:
            return any(lvl < line.level for lvl, _ in self.stack)
        return line.kind != "major"

    def enter(self, cluster: list[_Line], titles: list[str]) -> None:
        if self.explicit:
            for line, title in zip(cluster, titles, strict=True):
                self.stack = [(lvl, t) for lvl, t in self.stack if lvl < line.level] + [(line.level, title)]
            return
        majors = [tl for ln, tl in zip(cluster, titles, strict=True) if ln.kind == "major"]
        minors = [tl for ln, tl in zip(cluster, titles, strict=True) if ln.kind != "major"]
        if majors:
            self.major, self.minor = " ".join(majors), " ".join(minors)
        elif len(cluster) > 1:
            self.major, self.minor = " ".join(titles[:-1]), titles[-1]
        else:
            self.minor = titles[0]


def _sentences(text: str, start: int) -> list[tuple[int, int]]:
    """Sentence spans (absolute offsets) inside ``text`` which begins at ``start``."""
    spans = []
    cursor = 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start + cursor, start + m.start()))
        cursor = m.end()
    if cursor < len(text):
        spans.append((start + cursor, start + len(text.rstrip())))
    return [(a, b) for a, b in spans if b > a]


def _span_text(text: str, start: int, end: int) -> str:
    """Reading text of a source span: cleaned lines, without blank or punctuation-only lines."""
    lines = (clean_inline(ln) for ln in text[start:end].split("\n"))
    return "\n".join(ln for ln in lines if any(ch.isalnum() for ch in ln))


class _Builder:
    def __init__(self, page: Page, settings: ChunkerSettings) -> None:
        self.page = page
        self.settings = settings
        self.chunks: list[Chunk] = []
        self.parts: list[tuple[int, int]] = []  # (start, end) spans of the current chunk
        self.has_content = False
        self.section = ""

    @property
    def size(self) -> int:
        return self.parts[-1][1] - self.parts[0][0] if self.parts else 0

    def flush(self) -> None:
        if self.parts and self.has_content:
            start, end = self.parts[0][0], self.parts[-1][1]
            text = _span_text(self.page.text, start, end)
            if text:
                self.chunks.append(Chunk(self.page.page, self.section, start, end, text))
        elif self.parts and self.chunks:
            # Headings with no content after them (a closing contact line, a caption) are content:
            # they extend the previous passage instead of standing alone.
            last = self.chunks[-1]
            end = self.parts[-1][1]
            text = _span_text(self.page.text, last.start, end)
            self.chunks[-1] = Chunk(last.page, last.section, last.start, end, text)
        elif self.parts:
            self.has_content = True
            self.flush()
            return
        self.parts = []
        self.has_content = False

    def add(self, start: int, end: int, content: bool = True) -> None:
        self.parts.append((start, end))
        self.has_content = self.has_content or content


def chunk_page(page: Page, settings: ChunkerSettings | None = None, section: str = "",
               explicit_headings: bool = False) -> tuple[list[Chunk], str]:
    """Chunk one page; returns the chunks and the section path in force at its end (for the next page)."""
    outline = _Outline(explicit_headings, section)
    chunks, last = _chunk_page(page, settings or ChunkerSettings(), outline)
    return chunks, outline.path if explicit_headings else last


def _chunk_page(page: Page, settings: ChunkerSettings, outline: _Outline) -> tuple[list[Chunk], str]:
    """The page's chunks and the section of its last passage. ``outline`` is updated in place."""
    b = _Builder(page, settings)
    b.section = outline.path
    lines = _lines(page.text, outline.explicit)
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.kind in ("heading", "major"):
            cluster = [line]
            while i + 1 < len(lines) and lines[i + 1].kind in ("heading", "major") and len(cluster) < 6:
                i += 1
                cluster.append(lines[i])
            titles = [ln.clean.rstrip(":").strip() for ln in cluster]
            minor_only = len(cluster) == 1 and outline.is_subheading(line)
            if minor_only and b.has_content and b.size < settings.target_chars // 2:
                # A short sub-section ("Richtvragen") followed by another ("Praktische tips") under the
                # same key factor reads best as one passage; it is cited by the section both share.
                b.section = outline.parent_path(line.level)
                if outline.explicit:
                    outline.enter(cluster, titles)
                b.add(line.start, line.end, content=False)
                i += 1
                continue
            b.flush()
            outline.enter(cluster, titles)
            b.section = outline.path
            for ln in cluster:
                b.add(ln.start, ln.end, content=False)
            i += 1
            continue
        # a paragraph: consecutive text lines, or a lead-in with the list items under it
        para = [line]
        while i + 1 < len(lines) and lines[i + 1].kind in ("text", "list") and (
            not lines[i + 1].opens_block or lines[i + 1].kind == "list"
        ):
            i += 1
            para.append(lines[i])
        i += 1
        p_start, p_end = para[0].start, para[-1].end
        length = p_end - p_start
        is_list = any(ln.kind == "list" for ln in para)
        if b.has_content and b.size + length > settings.max_chars:
            b.flush()
        if length <= settings.max_chars or (is_list and length <= settings.max_chars + LIST_SLACK_CHARS):
            b.add(p_start, p_end)
        else:
            units = []
            for ln in para:
                units.extend(_sentences(page.text[ln.start:ln.end], ln.start) if ln.kind == "text"
                             else [(ln.start, ln.end)])
            for s_start, s_end in units:
                if b.has_content and b.size + (s_end - s_start) > settings.target_chars:
                    b.flush()
                b.add(s_start, s_end)
        if b.size >= settings.target_chars:
            b.flush()
    b.flush()
    return _bounded(page, _merge_small(page, b.chunks, settings), settings), b.section


def _merge_small(page: Page, chunks: list[Chunk], settings: ChunkerSettings) -> list[Chunk]:
    """Fold passages under ``min_chars`` into their predecessor when the result stays within bounds."""
    out: list[Chunk] = []
    for chunk in chunks:
        if out and (chunk.end - chunk.start < settings.min_chars or out[-1].end - out[-1].start
                    < settings.min_chars) and chunk.end - out[-1].start <= settings.max_chars:
            prev = out[-1]
            merged = _span_text(page.text, prev.start, chunk.end)
            out[-1] = Chunk(prev.page, prev.section, prev.start, chunk.end, merged)
        else:
            out.append(chunk)
    return out


def _bounded(page: Page, chunks: list[Chunk], settings: ChunkerSettings) -> list[Chunk]:
    """Cut what structure could not bound (a huge line, heading or list item) near ``target_chars``.

    Cuts fall at the last sentence end, else the last whitespace, in the second half of the window;
    a text without either (one endless token) is cut hard. Normal documents never get here.
    """
    limit = settings.max_chars + LIST_SLACK_CHARS
    out: list[Chunk] = []
    for chunk in chunks:
        if chunk.end - chunk.start <= limit:
            out.append(chunk)
            continue
        start = chunk.start
        while start < chunk.end:
            end = chunk.end
            if end - start > settings.max_chars:
                window = page.text[start:start + settings.target_chars]
                half = len(window) // 2
                ends = [m.start() for m in _SENTENCE_END.finditer(window) if m.start() > half]
                spaces = [i for i in (window.rfind(" "), window.rfind("\n"), window.rfind("\t")) if i > half]
                end = start + (ends[-1] if ends else max(spaces) if spaces else len(window))
            text = _span_text(page.text, start, end)
            if text:
                out.append(Chunk(chunk.page, chunk.section, start, end, text))
            start = end
    return out


def chunk_pages(pages: list[Page] | tuple[Page, ...], settings: ChunkerSettings | None = None,
                explicit_headings: bool = False) -> list[Chunk]:
    """Chunk a document page by page; the section path carries over page breaks."""
    out: list[Chunk] = []
    outline = _Outline(explicit_headings)
    for page in pages:
        chunks, last = _chunk_page(page, settings or ChunkerSettings(), outline)
        out.extend(chunks)
        if not explicit_headings:  # guessed headings carry over as the section last cited
            outline = _Outline(False, last)
    return out


def derive_title(pages: list[Page] | tuple[Page, ...], fallback: str, explicit_headings: bool = False) -> str:
    """A title for a document missing from the catalog: its first heading, else its first words."""
    for page in pages:
        lines = _lines(page.text, explicit_headings)
        for ln in lines[:8]:
            if ln.kind in ("heading", "major") and 3 <= len(ln.clean) <= 140:
                return ln.clean
        if lines:
            words = lines[0].clean.split()
            return " ".join(words[:12]) + ("…" if len(words) > 12 else "")
    return fallback
