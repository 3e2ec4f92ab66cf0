"""Hashes: how the index recognises an unchanged document and the model its source weights, and the salted
pseudonyms that stand in for people (user ids, client addresses) wherever something about them is stored."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from assistant.messages import t


def file_sha256(path: Path) -> str:
    """SHA-256 of a regular file, read in 1 MiB blocks so large PDFs never sit in memory whole.

    Opened non-blocking and checked with ``fstat`` before a byte is read: a FIFO or device in place of the
    file raises OSError at once instead of hanging the caller (a web worker, the ingest job).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, t("doc.not_regular"), str(path))
        digest = hashlib.sha256()
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_user(raw_id: int | str, salt: str) -> str:
    """A stable pseudonym for a user id or a client address; the raw value is never stored."""
    return hashlib.sha256(f"{salt}:{raw_id}".encode()).hexdigest()[:32]
