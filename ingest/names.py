"""Which names in the corpus folder are never documents: hidden, temporary and half-copied files.

One rule for ingest (``discover``) and the folder watcher, so a file the watcher waits for is also a
file ingest skips. Office writes ``~$name.docx`` owner files next to an open document; browsers and
copy tools write ``.part`` / ``.crdownload`` / ``.tmp`` files until the copy is complete.
"""

from __future__ import annotations

from pathlib import PurePosixPath

# dot files (also the .upload-*.part of admin uploads and LibreOffice's .~lock.*#), Word's ~$owner and ~WRL files
TEMPORARY_PREFIXES = (".", "~$", "~wrl")
TEMPORARY_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".swp", ".bak", "~")
SYSTEM_NAMES = frozenset({"thumbs.db", "desktop.ini", "icon\r"})


def is_ignored(name: str) -> bool:
    """Whether a file or folder called ``name`` is never part of the corpus."""
    lower = name.lower()
    return (not name or lower.startswith(TEMPORARY_PREFIXES) or lower.endswith(TEMPORARY_SUFFIXES)
            or lower in SYSTEM_NAMES)


def is_ignored_path(relative: str) -> bool:
    """Whether a corpus-relative path (``a/b.pdf``) lies in, or is, an ignored name."""
    return any(is_ignored(part) for part in PurePosixPath(relative).parts)
