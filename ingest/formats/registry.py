"""The loader registry: every format Wegwijzer reads, recognised by suffix and by content.

Ingest (``ingest.loaders``) and uploads (``bots.web.uploads``) both call :func:`detect`, so a file is
judged by the same rules wherever it enters. Adding a format is one module with a ``FORMAT`` and one
line in ``FORMATS`` below (and its name in the ``doc.unsupported`` message; a test checks that).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DocumentError
from assistant.types import Page
from ingest.texts import t

from .sniff import sniff

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Format:
    """One readable file format.

    ``content`` is what :func:`ingest.formats.sniff.sniff` must find in the bytes. ``explicit_headings``
    means the loader marks every heading with ``#`` (from styles, tags or font sizes), so the chunker
    takes those and guesses none from plain lines.
    """

    name: str  # stored as the document's format: "pdf", "docx", ...
    label: str  # how people know it, in Dutch messages ("geen geldig {label}-bestand")
    suffixes: tuple[str, ...]
    content: str
    media_type: str
    load: Callable[[Path, str], tuple[Page, ...]]
    paged: bool = False  # real page (or slide) numbers
    explicit_headings: bool = False


def _formats() -> tuple[Format, ...]:
    from . import opendocument, pdf, slides, text, webpage, word

    return (
        Format("pdf", "PDF", (".pdf",), "pdf", "application/pdf", pdf.load, paged=True, explicit_headings=True),
        Format("docx", "Word", (".docx",), "docx",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document", word.load,
               explicit_headings=True),
        Format("odt", "ODT", (".odt",), "odt", "application/vnd.oasis.opendocument.text",
               opendocument.load, explicit_headings=True),
        Format("pptx", "PowerPoint", (".pptx",), "pptx",
               "application/vnd.openxmlformats-officedocument.presentationml.presentation", slides.load,
               paged=True, explicit_headings=True),
        Format("html", "HTML", (".html", ".htm"), "text", "text/plain; charset=utf-8", webpage.load,
               explicit_headings=True),
        Format("txt", "tekst", (".txt",), "text", "text/plain; charset=utf-8", text.load),
        Format("md", "Markdown", (".md",), "text", "text/plain; charset=utf-8", text.load),
    )


FORMATS: tuple[Format, ...] = _formats()
_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_BY_SUFFIX)
# What a content verdict is called when it does not match the suffix ("… is eigenlijk een PDF-bestand").
_CONTENT_LABELS = {"pdf": "een PDF-bestand", "docx": "een Word-bestand (DOCX)",
                   "odt": "een OpenDocument-tekstbestand (ODT)", "pptx": "een PowerPoint-bestand (PPTX)",
                   "text": "een tekstbestand", "zip": "een ZIP-archief"}


def for_suffix(name_or_suffix: str) -> Format | None:
    """The format a file name (or bare suffix like ``.docx``) promises, or None when unsupported."""
    suffix = name_or_suffix if name_or_suffix.startswith(".") else Path(name_or_suffix).suffix
    return _BY_SUFFIX.get(suffix.lower())


def detect(path: Path, source: str, suffix: str | None = None) -> Format:
    """The format of ``path``: its suffix (or ``suffix``, for temporary upload files) confirmed by its bytes.

    Raises DocumentError with a Dutch reason when the suffix is unsupported or the content does not
    match it (a renamed file is named for what it really is, an encrypted or old Office file as such).
    """
    fmt = for_suffix(suffix or Path(path).suffix)
    if fmt is None:
        raise DocumentError(source, t("doc.unsupported"))
    content = sniff(path)
    if content.kind == fmt.content:
        return fmt
    shown_suffix = fmt.suffixes[0]
    if content.kind == "empty":
        raise DocumentError(source, t("doc.empty"))
    if content.kind == "encrypted-office":
        raise DocumentError(source, t("doc.encrypted_office"))
    if content.kind == "legacy-office":
        raise DocumentError(source, t("doc.legacy_office", suffix=content.detail))
    if content.kind == "archive-too-large":
        raise DocumentError(source, t("doc.archive_too_large"))
    if content.kind == "binary" and fmt.content == "text":
        raise DocumentError(source, t("doc.not_utf8"))
    if content.kind in _CONTENT_LABELS and content.detail != "damaged":
        raise DocumentError(source, t("doc.wrong_suffix", suffix=shown_suffix, kind=_CONTENT_LABELS[content.kind]))
    raise DocumentError(source, t("doc.corrupt", kind=fmt.label))


def load_pages(fmt: Format, path: Path, source: str) -> tuple[Page, ...]:
    """Run the format's loader. Parser failures of any type mean a damaged file: reported, never raised raw."""
    try:
        return fmt.load(path, source)
    except DocumentError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # third-party parsers signal damage with many exception types
        log.info("%s could not be read as %s: %r", source, fmt.name, exc)
        raise DocumentError(source, t("doc.corrupt", kind=fmt.label)) from exc
