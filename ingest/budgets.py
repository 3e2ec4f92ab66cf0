"""Per-document budgets: one hostile file costs a bounded amount of time and memory, then is reported.

A document is read (parsed, OCR'd, cut into passages) in a child process of the job, forked from a
small server process that has the parsers imported already (a fork costs milliseconds). The
child runs with an address-space limit (``parse_memory_mb`` on top of what it starts with, inherited by
Tesseract) and in its own process group; the parent waits at most ``parse_timeout_s`` and then kills the
group. So parsers we do not control (pypdf, pypdfium2, python-docx, odfpy, selectolax, Tesseract) can
neither run for an hour nor push the job process past its memory limit: a re-index job's peak RSS is the
job's own (model + index build) or one child's, each well under 1.5 GB.

Inside the child, :func:`current` gives the formats the budgets (OCR renders pages within a pixel budget,
``ingest.formats.ocr``) and the passage cap is checked before the text leaves the child.

A document that failed is remembered by its content hash (:class:`FailedDocuments`, a small JSON file
beside ``last_ingest.json`` in the index directory) and not read again until it changes or the budgets
do: a 4 GB OCR bomb costs one attempt, not one per re-index.
"""

from __future__ import annotations

import atexit
import contextvars
import json
import logging
import os
import pickle
import resource
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import DocumentError
from assistant.types import Page
from ingest.texts import t

from .chunking import Chunk, ChunkerSettings, chunk_pages, derive_title

log = logging.getLogger(__name__)

FAILED_FILE = "failed_documents.json"
# Bump when a parser change may read files that failed before: every remembered failure is retried.
READERS_VERSION = 1
# Imported once by the reading server, shared by every child it forks (the format modules import these lazily).
_PRELOAD = ["ingest.budgets", "ingest.loaders", "ingest.chunking", "ingest.formats.pdf", "ingest.formats.ocr",
            "ingest.formats.word", "ingest.formats.opendocument", "ingest.formats.webpage", "ingest.formats.slides",
            "pypdf", "pypdfium2", "pytesseract", "PIL.Image", "docx", "odf.opendocument", "selectolax.lexbor", "pptx"]


@dataclass(frozen=True)
class Budgets:
    """What reading one document may cost. Small values in tests, the settings' values in production."""

    parse_timeout_s: float = 60.0
    parse_memory_mb: int = 1024
    ocr_max_megapixels: int = 35
    ocr_page_timeout_s: float = 45.0  # Tesseract on one page: then the page counts as unreadable
    max_passages: int = 2000
    isolate: bool = True  # read in a child process (the caps on time and memory need it)

    @classmethod
    def of(cls, settings: Settings) -> Budgets:
        return cls(parse_timeout_s=settings.parse_timeout_s, parse_memory_mb=settings.parse_memory_mb,
                   ocr_max_megapixels=settings.ocr_max_megapixels,
                   ocr_page_timeout_s=settings.ocr_page_timeout_s,
                   max_passages=settings.max_passages_per_document)

    def identity(self) -> dict[str, Any]:
        """What decides whether a remembered failure still holds (``isolate`` does not change a verdict)."""
        d = asdict(self)
        d.pop("isolate")
        return {**d, "readers": READERS_VERSION}


_CURRENT: contextvars.ContextVar[Budgets | None] = contextvars.ContextVar("wegwijzer_budgets", default=None)


def current() -> Budgets:
    """The budgets of the document being read (defaults outside an ingest)."""
    return _CURRENT.get() or Budgets()


@contextmanager
def applied(budgets: Budgets) -> Iterator[Budgets]:
    token = _CURRENT.set(budgets)
    try:
        yield budgets
    finally:
        _CURRENT.reset(token)


@dataclass(frozen=True)
class ReadDocument:
    """A document read and cut into passages: what the ingest needs of it, small enough to send back."""

    kind: str
    sha256: str
    pages: tuple[Page, ...]
    chunks: list[Chunk]
    title: str
    paged: bool
    peak_rss_kb: int = 0  # of the process that read it


def read_and_cut(path: Path, source: str, chunker: ChunkerSettings, budgets: Budgets,
                 title: str = "") -> ReadDocument:
    """Load ``path`` and cut it into passages, within the budgets; raises DocumentError with the reason."""
    from .loaders import load_document

    with applied(budgets):
        doc = load_document(path, source)
        # A cheap bound before cutting: far more text than the passage cap can hold is refused unread.
        chars = sum(len(p.text) for p in doc.pages)
        if chars > budgets.max_passages * chunker.max_chars * 4:
            about = f"ongeveer {chars // chunker.target_chars:,}".replace(",", ".")
            raise DocumentError(source, t("doc.too_many_passages", passages=about, limit=budgets.max_passages))
        chunks = chunk_pages(doc.pages, chunker, doc.explicit_headings)
        if len(chunks) > budgets.max_passages:
            raise DocumentError(source, t("doc.too_many_passages", passages=len(chunks), limit=budgets.max_passages))
        title = title or derive_title(doc.pages, Path(source).stem.replace("-", " "), doc.explicit_headings)
    return ReadDocument(kind=doc.kind, sha256=doc.sha256, pages=doc.pages, chunks=chunks, title=title,
                        paged=doc.paged, peak_rss_kb=peak_rss_kb())


# ---------------------------------------------------------------- the reading process

# multiprocessing's fork server re-runs the host program's __main__ in every child (pytest, a bench script,
# uvicorn): not something a library may do. This is the small part of it we need: one server process per
# ingesting process, started on first use with the parsers imported, that forks one child per document.


class _ReadServer:
    """The parent's end: a socket to the server; one request at a time."""

    def __init__(self) -> None:
        import socket
        import subprocess
        import sys

        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
        self.proc = subprocess.Popen([sys.executable, "-m", "ingest.budgets", str(child.fileno())],
                                     pass_fds=(child.fileno(),), env=env, close_fds=True)
        child.close()
        self.sock = parent
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def start(self, request: bytes, fds: list[int]) -> int:
        """Hand one document to the server; returns the pid of the child that reads it."""
        import socket

        with self.lock:
            socket.send_fds(self.sock, [request], fds)
            answer = self.sock.recv(64)
        if len(answer) != 8:
            raise OSError("the reading process is gone")
        return int.from_bytes(answer, "little", signed=True)

    def close(self) -> None:
        self.sock.close()
        try:
            self.proc.wait(10)
        except Exception:  # noqa: BLE001
            self.proc.kill()


_SERVER: _ReadServer | None = None
_SERVER_LOCK = threading.Lock()


def _server() -> _ReadServer:
    global _SERVER
    with _SERVER_LOCK:
        if _SERVER is None or not _SERVER.alive():
            _SERVER = _ReadServer()
            atexit.register(_SERVER.close)
        return _SERVER


def _serve(fd: int) -> None:
    """The server process: wait for a request, fork a child for it, tell the parent its pid; reap children."""
    import importlib
    import socket

    for name in _PRELOAD:  # imported once here, shared by every forked child
        try:
            importlib.import_module(name)
        except ImportError:  # an optional parser missing: its documents fail when read, as before
            pass
    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which closes the socket
    while True:
        _reap()
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 2)
        except (OSError, InterruptedError):
            break
        if not data:
            break  # the parent is gone
        pid = os.fork()
        if pid == 0:
            sock.close()
            code = 0
            try:
                _read_in_child(data, fds[0], fds[1])
            except BaseException:  # noqa: BLE001  (the parent reports the missing answer)
                code = 1
            os._exit(code)
        for f in fds:
            os.close(f)
        sock.send(pid.to_bytes(8, "little", signed=True))
    _reap(block=True)


def _reap(block: bool = False) -> None:
    """Collect finished children (so their peak memory reaches the job's RUSAGE_CHILDREN)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _read_in_child(data: bytes, doc_fd: int, out_fd: int) -> None:
    """In the forked child: limits first, then read; one pickled answer: ("ok", ReadDocument) or ("error", reason)."""
    os.setpgrp()  # Tesseract and anything else it starts die with it when the parent kills the group
    source, chunker, budgets, title = pickle.loads(data)
    limit = _vm_size_bytes() + budgets.parse_memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ["OMP_THREAD_LIMIT"] = "1"  # Tesseract: one thread, predictable memory
    out = os.fdopen(out_fd, "wb", buffering=0)
    global _EXTEND
    _EXTEND = lambda seconds: _frame(out, ("extend", seconds))  # noqa: E731
    try:
        result = read_and_cut(Path(f"/proc/self/fd/{doc_fd}"), source, chunker, budgets, title)
        message: tuple[str, Any] = ("ok", result)
    except DocumentError as exc:
        # A parser that meets the memory limit often says so in its own words (lxml: "Memory allocation
        # failed", PDFium: a failed bitmap) and the registry calls that a damaged file; name the limit.
        memory = _out_of_memory(exc, limit)
        message = ("error", t("doc.budget_memory", limit=budgets.parse_memory_mb) if memory else exc.reason)
    except MemoryError:
        message = ("error", t("doc.budget_memory", limit=budgets.parse_memory_mb))
    try:
        _frame(out, message)
    except MemoryError:
        _frame(out, ("error", t("doc.budget_memory", limit=budgets.parse_memory_mb)))
    out.close()


def _out_of_memory(exc: BaseException, limit: int) -> bool:
    """Whether a parse failed for want of memory: MemoryError or a memory message in the cause chain, or
    the address space got within 10 % of the limit (the failed request itself may have been large)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, MemoryError) or "memory" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    peak = 0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmPeak:"):
                peak = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return False
    return peak > 0.9 * limit


def _frame(out: Any, message: tuple[str, Any]) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(payload).to_bytes(8, "little") + payload)


_EXTEND: Any = None


def allow_more_time(seconds: float) -> None:
    """Called by a format that knows its document needs longer (OCR: per scanned page); extends the deadline."""
    if _EXTEND is not None and seconds > 0:
        _EXTEND(seconds)


def _status_kb(field: str) -> int | None:
    """A ``kB`` field of this process's /proc/self/status (``VmHWM``, ``VmSize``), or None where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_kb() -> int:
    """This process's own peak resident memory in kB (``VmHWM``), or ``ru_maxrss`` where /proc has none.

    Not ``ru_maxrss`` on Linux: the kernel carries it across ``execve``, so a process started by a big one
    (the job process by a web worker or a test run holding the model, ``subprocess`` forks and execs) reports
    the starter's peak as its own. ``VmHWM`` belongs to the running program's memory alone.
    """
    peak = _status_kb("VmHWM")
    return peak if peak is not None else int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _vm_size_bytes() -> int:
    return (_status_kb("VmSize") or 0) * 1024


def read_isolated(path: Path, source: str, chunker: ChunkerSettings, budgets: Budgets, title: str = "",
                  on_slow: Callable[[], None] | None = None, slow_after_s: float = 5.0) -> ReadDocument:
    """:func:`read_and_cut` in a child process with the time and memory caps (see the module docstring).

    ``on_slow`` is called once, in this process, when the child is still reading after ``slow_after_s``
    (the ingest publishes what it has meanwhile); the document's own deadline is checked right after.
    """
    if not budgets.isolate:
        return read_and_cut(path, source, chunker, budgets, title)
    request = pickle.dumps((source, chunker, budgets, title))
    doc_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    result_r, result_w = os.pipe2(os.O_CLOEXEC)
    try:
        try:
            pid = _server().start(request, [doc_fd, result_w])
        except OSError:  # the server died (killed from outside): one fresh start
            pid = _server().start(request, [doc_fd, result_w])
    finally:
        os.close(doc_fd)
        os.close(result_w)
    started = time.monotonic()  # the child exists now: the server's own start-up is not the document's time
    buffer = b""
    deadline = started + budgets.parse_timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if on_slow is not None:
                until_slow = started + slow_after_s - time.monotonic()
                if until_slow < left:
                    if until_slow <= 0 or not select.select([result_r], [], [], until_slow)[0]:
                        callback, on_slow = on_slow, None
                        callback()
                        continue
                    # readable before it got slow: the select below returns at once
            if left <= 0 or not select.select([result_r], [], [], left)[0]:
                _kill(pid)
                limit = deadline - started  # the budget, with what OCR added
                log.warning("reading %s took longer than %gs: stopped", source, limit)
                raise DocumentError(source, t("doc.budget_time", limit=f"{limit:.0f}"))
            chunk = os.read(result_r, 1 << 20)
            if not chunk:
                break
            buffer += chunk
            while len(buffer) >= 8 and len(buffer) >= 8 + int.from_bytes(buffer[:8], "little"):
                size = int.from_bytes(buffer[:8], "little")
                kind, value = pickle.loads(buffer[8:8 + size])  # from our own child: trusted
                buffer = buffer[8 + size:]
                if kind == "extend":
                    deadline += float(value)
                elif kind == "ok":
                    return value  # type: ignore[no-any-return]
                else:
                    raise DocumentError(source, value)
    finally:
        os.close(result_r)
    log.warning("reading %s ended without an answer (memory limit or a crash of the parser)", source)
    raise DocumentError(source, t("doc.budget_crashed", limit=budgets.parse_memory_mb))


def _kill(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# ---------------------------------------------------------------- failures remembered


class FailedDocuments:
    """Documents that failed, by source: their hash, the reason and the budgets they failed under.

    A small JSON file in the index directory (next to ``last_ingest.json``), read and written by the ingest
    that holds the ingest lock. When the state layer gets its own home for build state, this moves with it.
    """

    def __init__(self, path: Path, budgets: Budgets) -> None:
        self.path = Path(path)
        self.identity = budgets.identity()
        self._entries: dict[str, dict[str, Any]] = {}
        self._changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("documents"), dict):
                self._entries = data["documents"]
        except (OSError, ValueError):
            pass

    @classmethod
    def of(cls, settings: Settings, budgets: Budgets) -> FailedDocuments:
        return cls(settings.index_dir / FAILED_FILE, budgets)

    def reason(self, source: str, sha256: str) -> str | None:
        """The reason ``source`` failed before, if it did with these very bytes under these budgets."""
        entry = self._entries.get(source)
        if entry and entry.get("sha256") == sha256 and entry.get("budgets") == self.identity:
            return str(entry.get("reason", ""))
        return None

    def remember(self, source: str, sha256: str, reason: str) -> None:
        self._entries[source] = {"sha256": sha256, "reason": reason, "budgets": self.identity, "at": time.time()}
        self._changed = True

    def forget(self, source: str) -> None:
        if self._entries.pop(source, None) is not None:
            self._changed = True

    def keep_only(self, sources: set[str]) -> None:
        """Drop entries of documents no longer in the corpus."""
        for source in set(self._entries) - sources:
            self.forget(source)

    def save(self) -> None:
        if not self._changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"documents": self._entries}, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
            self._changed = False
        except OSError as exc:  # best effort: without it a failure is only retried
            log.warning("could not record failed documents: %s", exc)


if __name__ == "__main__":  # python -m ingest.budgets FD: the reading server (started by read_isolated)
    import sys

    from ingest.budgets import _serve as serve  # the module itself, not __main__: its classes pickle by name

    serve(int(sys.argv[1]))
