"""Admin uploads and deletes over HTTP: the corpus rules of ``ingest.corpusfiles`` as 4xx answers."""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import BinaryIO, TypeVar

from ingest import corpusfiles
from ingest.corpusfiles import CorpusFileError, inside

from .errors import ApiError

__all__ = ["check_content", "delete_document", "inside", "safe_filename", "store_upload"]

T = TypeVar("T")

STATUS = {"unsupported": (415, "unsupported_type"), "bad_name": (422, "invalid_filename"),
          "exists": (409, "document_exists"), "too_large": (413, "too_large"),
          "invalid": (422, "invalid_document"), "not_found": (404, "document_not_found")}


def api_error(exc: CorpusFileError) -> ApiError:
    status, code = STATUS.get(exc.kind, (422, "invalid_document"))
    return ApiError(status, code, exc.message)


def _http(call: Callable[[], T]) -> T:
    try:
        return call()
    except CorpusFileError as exc:
        raise api_error(exc) from None


def safe_filename(raw: str) -> str:
    return _http(lambda: corpusfiles.safe_filename(raw))


def check_content(name: str, path: Path) -> None:
    _http(lambda: corpusfiles.check_content(name, path))


def store_upload(corpus_dir: Path, raw_name: str, stream: BinaryIO, limit: int, replace: bool) -> tuple[str, int]:
    return _http(lambda: corpusfiles.store_upload(corpus_dir, raw_name, stream, limit, replace))


def delete_document(corpus_dir: Path, source: str, indexed: Collection[str] = ()) -> str:
    return _http(lambda: corpusfiles.delete_document(corpus_dir, source, indexed))
