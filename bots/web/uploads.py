"""Admin uploads and deletes: safe file names, content checks, and paths that stay inside the corpus."""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import BinaryIO

from assistant.errors import DocumentError
from assistant.messages import t
from ingest.formats import detect, for_suffix

from .errors import ApiError

MAX_NAME_CHARS = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 1 << 20


def safe_filename(raw: str) -> str:
    """A plain ASCII file name for ``raw``: no directories, no leading dots, a supported suffix.

    Raises ApiError (422) when nothing usable is left or the suffix is not supported.
    """
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in unicodedata.normalize("NFKD", base) if not unicodedata.combining(ch))
    stem, dot, ext = base.rpartition(".")
    suffix = f".{ext.lower()}" if dot else ""
    if for_suffix(suffix or ".") is None:
        raise ApiError(415, "unsupported_type", t("upload.bad_type"))
    stem = _UNSAFE.sub("-", stem)
    stem = re.sub(r"-{2,}", "-", stem).strip(".-_ ")[:MAX_NAME_CHARS].rstrip(".-_")
    if not stem:
        raise ApiError(422, "invalid_filename", t("upload.bad_name", name=raw[:80]))
    if stem.lower().startswith("readme") or stem.lower() == "catalog":
        stem = f"document-{stem}"  # the corpus scanner skips README files
    return stem + suffix


def inside(root: Path, relative: str) -> Path | None:
    """``root/relative`` resolved, or None when it would leave ``root`` (.., absolute paths, symlinks)."""
    root = root.resolve()
    if not relative or relative.startswith(("/", "\\")) or "\x00" in relative:
        return None
    target = (root / relative).resolve()
    if target == root or root not in target.parents:
        return None
    return target


def check_content(name: str, path: Path) -> None:
    """Refuse content that does not match its suffix, by the same rules ingest uses (the format registry)."""
    try:
        detect(path, name, suffix=Path(name).suffix)
    except DocumentError as exc:
        raise ApiError(422, "invalid_document", t("upload.bad_content", name=name, reason=exc.reason)) from None


def store_upload(corpus_dir: Path, raw_name: str, stream: BinaryIO, limit: int, replace: bool) -> tuple[str, int]:
    """Copy an uploaded stream into the corpus under a safe name; returns (name, size).

    The bytes go to a hidden temporary file first (the corpus scanner skips dot files) and are renamed
    into place only when complete and checked, so a concurrent ingest never reads half a file.
    """
    name = safe_filename(raw_name)
    corpus_dir = corpus_dir.resolve()
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = inside(corpus_dir, name)
    if target is None:
        raise ApiError(422, "invalid_filename", t("upload.bad_name", name=raw_name[:80]))
    if target.exists() and not replace:
        raise ApiError(409, "document_exists", t("upload.exists", name=name))
    tmp = corpus_dir / f".upload-{uuid.uuid4().hex}.part"
    size = 0
    try:
        with tmp.open("wb") as out:
            while block := stream.read(CHUNK):
                size += len(block)
                if size > limit:
                    raise ApiError(413, "too_large", t("upload.too_large", limit=limit // (1024 * 1024)))
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        check_content(name, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return name, size


def delete_document(corpus_dir: Path, source: str) -> str:
    """Remove a document file from the corpus; returns its source name. 404 when it is not there."""
    target = inside(corpus_dir, source)
    ok = (target is not None and target.is_file() and for_suffix(target.name) is not None
          and not any(part.startswith(".") for part in Path(source).parts))
    if not ok or target is None:
        raise ApiError(404, "document_not_found", t("delete.not_found", name=source[:120]))
    target.unlink()
    return target.relative_to(corpus_dir.resolve()).as_posix()
