"""Which entries of the corpus folder may be read: regular files that really lie inside it, nothing else.

The one rule for ingest (``loaders.discover``), the folder watcher, the catalog, admin deletes and the
document views. A symbolic link, a device, a named pipe (FIFO) or a socket is reported by name with a Dutch
reason and never opened; a path with ``..`` or an absolute path is refused before it touches the disk.

Symbolic links are refused even when they point inside the folder. Following them safely would mean
resolving the target and then opening it, and a link can be re-pointed (outside the folder) between the
two; it would also put one document in the index under two names. Refusing every link lets the kernel
enforce the rule: each component of a path is opened with ``O_NOFOLLOW`` relative to its parent's
descriptor, so no link anywhere in the path is followed, whatever happens to the folder meanwhile. Whoever
wants a document in the corpus copies or moves it there.

Opening never hangs: the entry's type is read with ``lstat`` before it is opened, and the open itself uses
``O_NONBLOCK`` (a FIFO swapped in after the check opens at once and is then refused by ``fstat``). Third-
party parsers receive ``/proc/self/fd/N``, which reopens exactly the checked file (Linux; elsewhere the
checked path, with the race window between the check and the parser's open).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from assistant.errors import DocumentError
from ingest.texts import t

from .names import is_ignored

__all__ = ["Entry", "entry_problem", "open_regular", "reading", "refusal", "remove_entry", "walk"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = (os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0))
_PROC_FD = Path("/proc/self/fd")

Entry = tuple[str, os.stat_result]  # (corpus-relative path, lstat of the entry itself)


def entry_problem(st: os.stat_result) -> str | None:
    """The Dutch reason an entry with this ``lstat`` result is never read; None for a regular file."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return t("doc.symlink")
    if stat.S_ISFIFO(mode):
        return t("doc.special", kind=t("doc.special_fifo"))
    if stat.S_ISSOCK(mode):
        return t("doc.special", kind=t("doc.special_socket"))
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return t("doc.special", kind=t("doc.special_device"))
    return t("doc.special", kind=t("doc.special_other"))


def walk(root: Path, on_error: Callable[[str, OSError], None] | None = None) -> Iterator[Entry]:
    """Every entry under ``root`` that is not a folder and not an ignored name, with its own ``lstat``.

    Real folders are descended into; a symbolic link to a folder is an entry like any other link (and so
    refused by :func:`entry_problem`), never followed. A folder that cannot be listed raises OSError, or is
    passed to ``on_error`` (its relative path, ``.`` for ``root``, and the error) when given: the watcher
    must not take an unreachable share for deleted files, while ingest reports the folder and reads the rest.
    """
    stack = [(Path(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            if on_error is None:
                raise
            on_error(prefix.rstrip("/") or ".", exc)
            continue
        for entry in entries:  # in no particular order: callers sort
            if is_ignored(entry.name):
                continue
            rel = prefix + entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:  # removed between listing and stat: it is simply not there
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append((Path(entry.path), rel + "/"))
            else:
                yield rel, st


def _parts(source: str) -> tuple[str, ...] | None:
    """The components of a corpus-relative path, or None for one that could leave the folder."""
    if not source or "\x00" in source or "\\" in source or source.startswith("/"):
        return None
    parts = PurePosixPath(source).parts
    if not parts or any(p in ("", ".", "..") for p in parts) or PurePosixPath(*parts).as_posix() != source:
        return None
    return parts


def _open_folder(root: Path, folders: tuple[str, ...], source: str) -> int:
    """A descriptor of ``root/folders``, reached without following any link below ``root``."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for name in folders:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                problem = entry_problem(os.stat(name, dir_fd=fd, follow_symlinks=False))
                if problem is None:  # a regular file where a folder should be: no such path
                    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), source) from None
                raise DocumentError(source, problem) from None
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular(root: Path, source: str) -> int:
    """A read-only descriptor of the regular file ``root/source``; DocumentError (Dutch reason) otherwise.

    No link in the path is followed, the entry's type is checked before it is opened, and the opened file
    is checked again to be that same regular file. OSError for what the disk says (gone, no permission).
    """
    parts = _parts(source)
    if parts is None:
        raise DocumentError(source, t("doc.outside"))
    folder = _open_folder(Path(root), parts[:-1], source)
    try:
        before = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False)
        problem = entry_problem(before)
        if problem is not None:
            raise DocumentError(source, problem)
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=folder)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # became a link since the check
                raise DocumentError(source, t("doc.symlink")) from None
            raise
    finally:
        os.close(folder)
    after = os.fstat(fd)
    if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        os.close(fd)
        raise DocumentError(source, entry_problem(after) or t("doc.changed"))
    return fd


@contextmanager
def reading(root: Path, source: str) -> Iterator[Path]:
    """A path through which exactly the checked regular file ``root/source`` is read, while the block runs."""
    fd = open_regular(root, source)
    try:
        proc = _PROC_FD / str(fd)
        yield proc if proc.exists() else Path(root).resolve() / source
    finally:
        os.close(fd)


def refusal(root: Path, source: str) -> str | None:
    """Why ``root/source`` must not be shown, when it exists and is not a regular file inside ``root``.

    None when it is a regular file, or absent (a replica that shares a database may have no corpus
    folder at all; the index is then the only copy of a document).
    """
    parts = _parts(source)
    if parts is None:
        return t("doc.outside")
    path = Path(root)
    for k, name in enumerate(parts):
        path = path / name
        try:
            st = path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:
            return None  # cannot look (permissions): the caller's own read will fail or succeed on its merits
        if k < len(parts) - 1:
            if not stat.S_ISDIR(st.st_mode):
                return entry_problem(st) if stat.S_ISLNK(st.st_mode) else None
        else:
            return entry_problem(st)
    return None


def remove_entry(root: Path, source: str) -> bool:
    """Remove the entry ``root/source`` itself (a link, never its target); False when it was not there.

    The parent folder is reached without following links, so a folder swapped for a link cannot redirect
    the removal outside ``root``. A folder is never removed (IsADirectoryError).
    """
    parts = _parts(source)
    if parts is None:
        raise DocumentError(source, t("doc.outside"))
    try:
        folder = _open_folder(Path(root), parts[:-1], source)
    except FileNotFoundError:
        return False
    try:
        st = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), source)
        os.unlink(parts[-1], dir_fd=folder)
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(folder)
