"""Read documents into pages, through the format registry (``ingest.formats``).

A file that cannot be read raises DocumentError with a Dutch reason a person understands; the batch
around it reports the file and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DocumentError
from assistant.hashing import file_sha256
from assistant.types import Page
from ingest.texts import t

from .corpuspath import entry_problem, walk
from .formats import SUPPORTED_SUFFIXES, detect, for_suffix, load_pages
from .formats.pdf import MAX_PDF_CONTENT_BYTES, MAX_PDF_PAGES

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
    """Documents under ``corpus_dir`` as (path, source) pairs, and (source, reason) for entries skipped.

    Only regular files count as documents (``corpuspath``): a symbolic link, a device, a FIFO or a socket is
    skipped with its reason and never opened; a folder that cannot be listed is skipped with its error.
    """
    found: list[tuple[Path, str]] = []
    skipped: list[tuple[str, str]] = []

    def unlistable(rel: str, exc: OSError) -> None:
        skipped.append((rel, t("ingest.unreadable", reason=exc.strerror or exc)))

    root = Path(corpus_dir)
    for rel, st in walk(root, on_error=unlistable):
        name = rel.rsplit("/", 1)[-1]
        if name == "catalog.toml" or name.lower().startswith("readme"):
            continue
        problem = entry_problem(st)
        if problem is not None:
            skipped.append((rel, problem))
        elif for_suffix(name) is not None:
            found.append((root / rel, rel))
        else:
            skipped.append((rel, t("doc.unsupported")))
    found.sort(key=lambda item: item[1].split("/"))  # the order of sorted(Path.rglob()): by path components
    skipped.sort(key=lambda item: item[0].split("/"))
    return found, skipped


def load_document(path: Path, source: str) -> LoadedDocument:
    """Load one file; raises DocumentError when it is empty, damaged, encrypted or has no text."""
    path = Path(path)  # may be a /proc/self/fd path (corpuspath.reading): the suffix comes from ``source``
    if for_suffix(source) is None:
        raise DocumentError(source, t("doc.unsupported"))
    size = path.stat().st_size
    if size == 0:
        raise DocumentError(source, t("doc.empty"))
    if size > MAX_FILE_BYTES:
        raise DocumentError(source, t("doc.too_large", size=size // (1024 * 1024), limit=MAX_FILE_BYTES >> 20))
    fmt = detect(path, source, suffix=Path(source).suffix)
    digest = file_sha256(path)
    pages = load_pages(fmt, path, source)
    if not any(p.text.strip() for p in pages):
        raise DocumentError(source, t("doc.no_text") if fmt.name == "pdf" else t("doc.empty"))
    return LoadedDocument(source=source, kind=fmt.name, pages=pages, sha256=digest,
                          explicit_headings=fmt.explicit_headings)
