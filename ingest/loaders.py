"""Read documents into pages: PDF (page by page, through pypdf), plain text and Markdown.

The only module that imports pypdf. A file that cannot be read raises DocumentError with a Dutch
reason a person understands; the batch around it reports the file and goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import DocumentError
from assistant.hashing import file_sha256
from assistant.messages import t
from assistant.types import Page

SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md")
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_PDF_PAGES = 2000
# Decompressed page content summed over one PDF. pypdf caps a single stream (75 MB), but a tiny file can
# point every page at the same inflating stream, and each page would be inflated and parsed again.
MAX_PDF_CONTENT_BYTES = 128 * 1024 * 1024

# pypdf logs every recoverable oddity of a damaged file; the report names the file once instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class LoadedDocument:
    source: str
    kind: str  # "pdf" | "txt" | "md"
    pages: tuple[Page, ...]
    sha256: str

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.pages)


def discover(corpus_dir: Path) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """Documents under ``corpus_dir`` as (path, source) pairs, and (source, reason) for files skipped."""
    found: list[tuple[Path, str]] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(Path(corpus_dir).rglob("*")):
        rel = path.relative_to(corpus_dir).as_posix()
        if any(part.startswith(".") for part in Path(rel).parts) or not path.is_file():
            continue
        if path.name == "catalog.toml" or path.name.lower().startswith("readme"):
            continue
        if path.suffix.lower() in SUPPORTED_SUFFIXES:
            found.append((path, rel))
        else:
            skipped.append((rel, t("doc.unsupported")))
    return found, skipped


def load_document(path: Path, source: str) -> LoadedDocument:
    """Load one file; raises DocumentError when it is empty, damaged, encrypted or has no text."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(source, t("doc.unsupported"))
    size = path.stat().st_size
    if size == 0:
        raise DocumentError(source, t("doc.empty"))
    if size > MAX_FILE_BYTES:
        raise DocumentError(source, t("doc.too_large", size=size // (1024 * 1024), limit=MAX_FILE_BYTES >> 20))
    digest = file_sha256(path)
    if suffix == ".pdf":
        pages = _load_pdf(path, source)
        kind = "pdf"
    else:
        pages = (Page(source=source, page=None, text=_read_text(path, source)),)
        kind = suffix[1:]
    if not any(p.text.strip() for p in pages):
        raise DocumentError(source, t("doc.no_text") if kind == "pdf" else t("doc.empty"))
    return LoadedDocument(source=source, kind=kind, pages=pages, sha256=digest)


def _read_text(path: Path, source: str) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise DocumentError(source, t("doc.not_utf8"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Documents saved on Windows in the old Western encoding are common in municipalities.
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise DocumentError(source, t("doc.not_utf8")) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _load_pdf(path: Path, source: str) -> tuple[Page, ...]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    with path.open("rb") as fh:
        if fh.read(1024).find(b"%PDF-") < 0:
            raise DocumentError(source, t("doc.corrupt", kind="PDF"))
    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                # An empty user password (owner-restricted PDFs) opens; a real password does not.
                opened = bool(reader.decrypt(""))
            except (FileNotDecryptedError, DependencyError, NotImplementedError):
                opened = False
            if not opened:
                raise DocumentError(source, t("doc.encrypted"))
        n_pages = len(reader.pages)
        if n_pages > MAX_PDF_PAGES:
            raise DocumentError(source, t("doc.too_many_pages", pages=n_pages, limit=MAX_PDF_PAGES))
        pages = []
        budget = MAX_PDF_CONTENT_BYTES
        for number, page in enumerate(reader.pages, start=1):
            budget -= _content_bytes(page)
            if budget < 0:
                raise DocumentError(source, t("doc.too_much_content", limit=MAX_PDF_CONTENT_BYTES >> 20))
            text = page.extract_text() or ""
            pages.append(Page(source=source, page=number, text=text.replace("\r\n", "\n")))
    except DocumentError:
        raise
    except FileNotDecryptedError as exc:
        raise DocumentError(source, t("doc.encrypted")) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError,
            AssertionError, ZeroDivisionError, NotImplementedError) as exc:
        # pypdf signals damage with many exception types; all mean "not a readable PDF".
        raise DocumentError(source, t("doc.corrupt", kind="PDF")) from exc
    if not pages:
        raise DocumentError(source, t("doc.empty"))
    return tuple(pages)


def _content_bytes(page: Any) -> int:
    """Size of a page's decompressed content stream (inflated, not parsed; freed before text extraction).

    A stream that cannot be decoded counts 0: the text extraction right after meets the same stream and
    decides, as before the budget existed (pypdf raises many types here, NotImplementedError among them).
    """
    try:
        contents = page.get_contents()
        return len(contents.get_data()) if contents is not None else 0
    except Exception:
        return 0
