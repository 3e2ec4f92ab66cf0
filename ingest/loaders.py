"""Read documents into pages, through the format registry (``ingest.formats``).

A file that cannot be read raises DocumentError with a Dutch reason a person understands; the batch
around it reports the file and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DocumentError
from assistant.hashing import file_sha256
from assistant.messages import t
from assistant.types import Page

from .formats import SUPPORTED_SUFFIXES, detect, for_suffix, load_pages
from .formats.pdf import MAX_PDF_CONTENT_BYTES, MAX_PDF_PAGES
from .names import is_ignored_path

__all__ = ["MAX_FILE_BYTES", "MAX_PDF_CONTENT_BYTES", "MAX_PDF_PAGES", "SUPPORTED_SUFFIXES", "LoadedDocument",
           "discover", "load_document"]

MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class LoadedDocument:
    source: str
    kind: str  # the format's name: "pdf" | "docx" | "odt" | "pptx" | "html" | "txt" | "md"
    pages: tuple[Page, ...]
    sha256: str
    explicit_headings: bool = False  # headings are marked by the loader; the chunker guesses none

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.pages)

    @property
    def paged(self) -> bool:
        return any(p.page is not None for p in self.pages)


def discover(corpus_dir: Path) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """Documents under ``corpus_dir`` as (path, source) pairs, and (source, reason) for files skipped."""
    found: list[tuple[Path, str]] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(Path(corpus_dir).rglob("*")):
        rel = path.relative_to(corpus_dir).as_posix()
        if is_ignored_path(rel) or not path.is_file():
            continue
        if path.name == "catalog.toml" or path.name.lower().startswith("readme"):
            continue
        if for_suffix(path.name) is not None:
            found.append((path, rel))
        else:
            skipped.append((rel, t("doc.unsupported")))
    return found, skipped


def load_document(path: Path, source: str) -> LoadedDocument:
    """Load one file; raises DocumentError when it is empty, damaged, encrypted or has no text."""
    path = Path(path)
    if for_suffix(path.name) is None:
        raise DocumentError(source, t("doc.unsupported"))
    size = path.stat().st_size
    if size == 0:
        raise DocumentError(source, t("doc.empty"))
    if size > MAX_FILE_BYTES:
        raise DocumentError(source, t("doc.too_large", size=size // (1024 * 1024), limit=MAX_FILE_BYTES >> 20))
    fmt = detect(path, source)
    digest = file_sha256(path)
    pages = load_pages(fmt, path, source)
    if not any(p.text.strip() for p in pages):
        raise DocumentError(source, t("doc.no_text") if fmt.name == "pdf" else t("doc.empty"))
    return LoadedDocument(source=source, kind=fmt.name, pages=pages, sha256=digest,
                          explicit_headings=fmt.explicit_headings)
