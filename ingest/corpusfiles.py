"""Files entering and leaving the corpus folder: safe names, content checks, paths kept inside the folder.

The one set of rules for every way a document arrives (the admin API and page, the Telegram bot):
a plain ASCII name with a supported suffix, content that the format registry recognises for that
suffix (the same :func:`ingest.formats.detect` that ingest uses), a size limit, and an atomic rename
into place, so a running ingest or the folder watcher never reads half a file. Front ends translate
:class:`CorpusFileError` into their own answer (a 4xx, a chat message).
"""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO

from assistant.errors import DocumentError, WegwijzerError
from ingest.texts import t

from . import corpuspath
from .formats import detect, for_suffix
from .names import is_ignored_path

MAX_NAME_CHARS = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 1 << 20
TEMP_PREFIX = ".upload-"  # a dot file: ingest and the watcher skip it until it is renamed into place


class CorpusFileError(WegwijzerError):
    """A file may not enter (or leave) the corpus; ``message`` is Dutch, ``kind`` says why.

    kinds: ``unsupported`` (suffix), ``bad_name``, ``exists``, ``too_large``, ``invalid`` (content),
    ``not_found`` (delete).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def safe_filename(raw: str) -> str:
    """A plain ASCII file name for ``raw``: no directories, no leading dots, a supported suffix."""
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in unicodedata.normalize("NFKD", base) if not unicodedata.combining(ch))
    stem, dot, ext = base.rpartition(".")
    suffix = f".{ext.lower()}" if dot else ""
    if for_suffix(suffix or ".") is None:
        raise CorpusFileError("unsupported", t("upload.bad_type"))
    stem = _UNSAFE.sub("-", stem)
    stem = re.sub(r"-{2,}", "-", stem).strip(".-_ ")[:MAX_NAME_CHARS].rstrip(".-_")
    if not stem:
        raise CorpusFileError("bad_name", t("upload.bad_name", name=raw[:80]))
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
        raise CorpusFileError("invalid", t("upload.bad_content", name=name, reason=exc.reason)) from None


def too_large(limit: int) -> CorpusFileError:
    return CorpusFileError("too_large", t("upload.too_large", limit=max(1, limit // (1024 * 1024))))


def target_for(corpus_dir: Path, raw_name: str, replace: bool) -> tuple[str, Path]:
    """The safe name and the path a new document would get; refuses an existing one unless ``replace``.

    The path is the entry in the folder itself, never resolved: an existing entry that is not a regular
    file (a link, even one that points inside the folder, a FIFO) is refused, so a replace can neither
    write through a link nor land under another name.
    """
    name = safe_filename(raw_name)
    corpus_dir = Path(corpus_dir).resolve()
    if "/" in name or name in (".", ".."):  # safe_filename never gives these; a second lock on the door
        raise CorpusFileError("bad_name", t("upload.bad_name", name=raw_name[:80]))
    target = corpus_dir / name
    try:
        st = target.lstat()
    except FileNotFoundError:
        return name, target
    if corpuspath.entry_problem(st) is not None:
        raise CorpusFileError("bad_name", t("upload.bad_name", name=raw_name[:80]))
    if not replace:
        raise CorpusFileError("exists", t("upload.exists", name=name))
    return name, target


def temporary_path(corpus_dir: Path) -> Path:
    """Where an arriving file is written until it is complete and checked."""
    corpus_dir = Path(corpus_dir).resolve()
    corpus_dir.mkdir(parents=True, exist_ok=True)
    return corpus_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex}.part"


def place(corpus_dir: Path, raw_name: str, tmp: Path, replace: bool) -> str:
    """Check a complete temporary file and rename it into place; removes ``tmp`` in any case."""
    try:
        name, target = target_for(corpus_dir, raw_name, replace)
        check_content(name, tmp)
        os.replace(tmp, target)
        return name
    finally:
        tmp.unlink(missing_ok=True)


def store_upload(corpus_dir: Path, raw_name: str, stream: BinaryIO, limit: int, replace: bool) -> tuple[str, int]:
    """Copy an uploaded stream into the corpus under a safe name; returns (name, size)."""
    target_for(corpus_dir, raw_name, replace)  # refuse a bad name or an existing file before reading a byte
    tmp = temporary_path(corpus_dir)
    size = 0
    try:
        with tmp.open("wb") as out:
            while block := stream.read(CHUNK):
                size += len(block)
                if size > limit:
                    raise too_large(limit)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        return place(corpus_dir, raw_name, tmp, replace), size
    finally:
        tmp.unlink(missing_ok=True)


def delete_document(corpus_dir: Path, source: str, indexed: Collection[str] = ()) -> str:
    """Remove a document from the corpus folder; returns its source name.

    The entry itself is removed, never what it points to: a symbolic link goes, its target stays. Any
    source the index holds (``indexed``) can be removed, whatever it is on disk now (a link an older version
    indexed, a FIFO) or even when it is already gone, so the next re-index drops it; other names must be a
    document name (a supported suffix, not hidden). Folders and names that leave the folder are refused.
    """
    corpus_dir = Path(corpus_dir).resolve()
    known = source in indexed
    ok = known or (for_suffix(source) is not None and not is_ignored_path(source))
    try:
        if ok and (corpuspath.remove_entry(corpus_dir, source) or known):
            return source
    except (DocumentError, IsADirectoryError, NotADirectoryError):
        pass
    raise CorpusFileError("not_found", t("delete.not_found", name=source[:120]))
