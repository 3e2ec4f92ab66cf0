"""State files are the service user's alone: files 0600, the folders that hold them 0700 when we create them.

State here is what people said and who they are in pseudonym: feedback and the question log, conversations,
the salt of every pseudonym, admin sessions and their key, rate-limit buckets, the re-index job. The modes
are set explicitly (``fchmod``/``chmod``), never left to the umask, and a file an older version created
with 0644 is tightened the next time it is opened.

A folder that already exists (usually the data directory, made by the model set-up) loses its read and
write bits for group and others (when we own it and it is not a shared sticky folder such as /tmp), but
keeps an execute bit it has: under root, ``wegwijzer db`` runs
PostgreSQL as its own unprivileged user, which must traverse the data directory to reach ``postgres/``
(``localdb._traversable``). Traversal lets nobody list the folder, and every state file in it is 0600.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
FOLDER_MODE = 0o700
_OTHERS_RW = stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH


def private_folder(folder: Path) -> None:
    """Create ``folder`` (and missing parents) with mode 0700; take group/other read and write from an old one."""
    folder = Path(folder)
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    for created in missing:  # mkdir's mode passes through the umask; set it exactly
        _chmod(created, FOLDER_MODE)
    if not missing:
        st = folder.stat()
        mode = stat.S_IMODE(st.st_mode)
        # Only a folder of ours, and never a shared one like /tmp (sticky): it may hold others' files.
        if mode & _OTHERS_RW and st.st_uid == os.geteuid() and not mode & stat.S_ISVTX:
            _chmod(folder, mode & ~_OTHERS_RW)


def private_file(path: Path) -> None:
    """Set an existing file (a database, its -wal/-shm, a secret) to mode 0600; nothing when it is absent."""
    try:
        mode = stat.S_IMODE(Path(path).stat().st_mode)
    except FileNotFoundError:
        return
    if mode != FILE_MODE:
        _chmod(Path(path), FILE_MODE)


def create_private(path: Path, text: str = "") -> None:
    """Create ``path`` with mode 0600 and ``text`` in it; FileExistsError when it is already there."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        if text:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
    finally:
        os.close(fd)


def _chmod(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except OSError as exc:  # not our file (a folder the operator owns): say so, the service still runs
        log.warning("could not set mode %o on %s: %s", mode, path, exc)
