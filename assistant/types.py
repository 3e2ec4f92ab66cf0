"""Data that crosses module boundaries: frozen dataclasses, never loose dicts.

Provenance (source, page, section, character span) rides along from the loader to the citation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class DocumentInfo:
    """Catalog facts about one source document."""

    source: str  # path relative to the corpus directory, with forward slashes
    title: str
    publisher: str = ""
    date: str = ""
    kind: str = ""
    language: str = "nl-BE"
    sha256: str = ""
    pages: int | None = None  # number of pages for PDFs, None for text files


@dataclass(frozen=True)
class Page:
    """The text of one page (PDF) or of a whole text document (page=None); ``ocr`` when read from a scan."""

    source: str
    page: int | None
    text: str
    ocr: bool = False  # the text came from optical character recognition of a scan


@dataclass(frozen=True)
class Passage:
    """One retrievable unit of text with full provenance.

    ``start``/``end`` are character offsets into the text of the page it comes from
    (for text documents: the whole document), so a viewer can highlight it.
    """

    id: int
    source: str
    title: str
    page: int | None
    section: str
    start: int
    end: int
    text: str
    ocr: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """A passage as cited in an answer; ``n`` is the number used in the ``[n]`` marker."""

    n: int
    text: str
    title: str
    source: str
    page: int | None
    section: str
    score: float
    passage_id: int
    start: int
    end: int
    ocr: bool = False  # the passage was read from a scan by OCR: quote with care
    # (start, end) character spans in ``text`` of the sentences the answer quotes from this passage, in text
    # order; empty for a related passage. A front end shows and highlights exactly these.
    quotes: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["quotes"] = [list(q) for q in self.quotes]
        return d


@dataclass(frozen=True)
class Answer:
    """The public answer contract used by the CLI, the web service and the bot.

    ``citations`` are the passages the answer text relies on (its ``[n]`` markers); ``related`` are the
    other passages retrieval found, offered as further reading and never as sources. When ``found`` is
    False, ``citations`` is empty and ``related`` holds the nearest passages. Numbers run on from the
    citations into ``related``.
    """

    question: str
    found: bool
    text: str
    citations: tuple[Citation, ...] = field(default_factory=tuple)
    related: tuple[Citation, ...] = field(default_factory=tuple)
    index_version: str = ""
    latency_ms: float = 0.0
    mode: str = "extractive"  # or "generated": written by a language model, every sentence verified
    conversation_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "found": self.found,
            "text": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "related": [c.to_dict() for c in self.related],
            "mode": self.mode,
            "conversation_id": self.conversation_id,
            "index_version": self.index_version,
            "latency_ms": round(self.latency_ms, 2),
        }
