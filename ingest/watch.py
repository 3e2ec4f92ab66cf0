"""The watched corpus folder: new, changed and removed files start a re-index job after a quiet period.

Why polling a (size, mtime) snapshot rather than inotify or watchdog: the corpus folder is often a
network share (SMB, NFS) that colleagues drop files into, and inotify never hears about changes made
by other machines on a share. watchdog's PollingObserver would do the same stat-based diff, but we
would still write the part that matters (wait until the folder is quiet, then one job for all changes)
and it brings a thread per watch and event objects we would throw away. A scan of a few thousand
files is a few milliseconds of ``os.scandir`` + ``stat`` every ``watch_poll_s``.

A file still being copied changes size or mtime between scans, so the folder is not quiet yet: the job
starts only once every file stayed the same for ``watch_quiet_s``. Hidden and temporary names
(``~$x.docx``, ``.part``, dot files) are ignored, by the same rule ingest uses. A copy that stalls
for longer than the quiet period may be indexed half-written (and is skipped as damaged if it cannot
be read); it is indexed again as soon as the copy completes, because that changes it once more.

Only one watcher acts per data directory (``.watch.lock``): with ``serve --workers N``, a stand-alone
``wegwijzer watch`` and replicas on one share, the others wait and take over if it stops.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import WegwijzerError
from ingest.texts import t

from .corpuspath import walk
from .jobs import Reindexer, Ticket

log = logging.getLogger(__name__)

WATCH_LOCK = ".watch.lock"


@dataclass(frozen=True)
class Stamp:
    size: int
    mtime_ns: int


Snapshot = dict[str, Stamp]


def scan(corpus_dir: Path) -> Snapshot:
    """Every entry under ``corpus_dir`` that ingest looks at, by relative path, with its own size and mtime.

    Links, FIFOs and devices are in it (by their ``lstat``, never opened or followed): dropping one in
    starts a job whose report names it as refused. Raises OSError when a folder cannot be listed (a share
    that is away): the caller must not take that for "every file was removed".
    """
    return {rel: Stamp(st.st_size, st.st_mtime_ns) for rel, st in walk(Path(corpus_dir))}


def fingerprint(snap: Snapshot) -> str:
    """One short hash of a snapshot: a job records the folder it read, the watcher compares its own scan."""
    digest = hashlib.sha256()
    for rel in sorted(snap):
        stamp = snap[rel]
        digest.update(f"{rel}\0{stamp.size}\0{stamp.mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:32]


def corpus_fingerprint(corpus_dir: Path) -> str:
    """The fingerprint of the folder as it is now ("" when it cannot be listed: then it matches nothing)."""
    try:
        return fingerprint(scan(corpus_dir))
    except OSError:
        return ""


def describe(before: Snapshot, after: Snapshot) -> str:
    """A short Dutch count of what changed, for logs and the `wegwijzer watch` output."""
    added = len(after.keys() - before.keys())
    removed = len(before.keys() - after.keys())
    changed = sum(1 for k in after.keys() & before.keys() if after[k] != before[k])
    parts = [f"{n} {word}" for n, word in ((added, "nieuw"), (changed, "gewijzigd"), (removed, "verwijderd")) if n]
    return ", ".join(parts) or "geen"


class CorpusWatcher:
    """Scans the corpus folder and asks :class:`Reindexer` for a job once changes have settled.

    ``poll()`` is one step (tests drive it with their own clock); ``run()`` loops it until stopped.
    """

    def __init__(self, settings: Settings, reindexer: Reindexer, *, quiet_s: float | None = None,
                 poll_s: float | None = None, clock: Callable[[], float] = time.monotonic,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.corpus_dir = Path(settings.corpus_dir)
        self.reindexer = reindexer
        self.quiet_s = settings.watch_quiet_s if quiet_s is None else quiet_s
        self.poll_s = settings.watch_poll_s if poll_s is None else poll_s
        self.clock = clock
        self.on_event = on_event or (lambda text: log.info("%s", text))
        self.baseline: Snapshot | None = None  # the folder as the last requested job will see it
        self.seen: Snapshot | None = None  # the folder at the last scan
        self.changed_at = 0.0  # clock time the last difference between two scans was seen
        self.changed_wall = 0.0  # the same, in epoch seconds (jobs compare it with their start)
        self.waiting_for: str | None = None  # the job id whose outcome is still to be told
        self.problem = ""
        self._lock: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ one step

    def poll(self) -> Ticket | None:
        """Scan once; request a job when the folder differs from the last request and has been quiet."""
        try:
            snap = scan(self.corpus_dir)
        except OSError as exc:
            problem = t("watch.unreadable", corpus=self.corpus_dir, reason=exc.strerror or exc)
            if problem != self.problem:
                self.problem = problem
                self.on_event(problem)
            return None
        self.problem = ""
        now = self.clock()
        if self.seen is None:  # first scan: compare with what the published index was built from
            self.seen = snap
            self.baseline = snap if not self._index_is_stale(snap) else {}
            self.changed_at, self.changed_wall = now, time.time()
        elif snap != self.seen:
            self.seen = snap
            self.changed_at, self.changed_wall = now, time.time()
        self._tell_outcome()
        if snap == self.baseline or now - self.changed_at < self.quiet_s:
            return None
        covering = self.reindexer.covering(fingerprint(snap))
        if covering is not None:
            # An admin upload, delete or metadata edit already queued the job that read this very folder:
            # a second run would index the same thing again (issue 20: a metadata edit cost two runs).
            self.on_event(t("watch.covered", changes=describe(self.baseline or {}, snap), job=covering.id))
            self.baseline = snap
            self.waiting_for = None if covering.finished else covering.id
            return None
        ticket = self.reindexer.request("watch", changed_at=self.changed_wall)
        self.on_event(t("watch.requested", changes=describe(self.baseline or {}, snap), job=ticket.job.id,
                        message=ticket.message))
        self.baseline = snap
        self.waiting_for = ticket.job.id
        return ticket

    def _tell_outcome(self) -> None:
        if self.waiting_for is None:
            return
        job = self.reindexer.job(self.waiting_for)
        if job is not None and not job.finished:
            return
        self.waiting_for = None
        if job is None:
            return
        if job.state == "done" and job.report:
            r = job.report
            outcome = t("cli.ingest_done", version=r.get("version_id"), documents=r.get("documents"),
                        passages=r.get("passages"), embedded_docs=r.get("documents_embedded"),
                        embedded=r.get("passages_embedded"), reused=r.get("documents_reused"),
                        removed=r.get("documents_removed"), seconds=f"{float(r.get('seconds') or 0):.1f}")
        else:
            outcome = job.error or job.state
        self.on_event(t("watch.finished", job=job.id, outcome=outcome))

    def _index_is_stale(self, snap: Snapshot) -> bool:
        """Whether the folder changed while nobody watched (files newer than the index, names it lacks)."""
        try:
            built = indexed_sources(self.settings)
        except WegwijzerError as exc:  # an index we cannot read needs a re-index anyway
            log.info("published index unreadable (%s): re-indexing", exc)
            return bool(snap)
        if built is None:
            return bool(snap)
        built_at, known, indexed = built
        if any(stamp.mtime_ns / 1e9 > built_at for stamp in snap.values()):
            return True
        from .loaders import discover

        files, unsupported = discover(self.corpus_dir)
        present = {source for _, source in files} | {source for source, _ in unsupported}
        # An older version may have indexed what is refused now (a link to a file outside the folder):
        # re-index at start, so it leaves the index without waiting for some other change.
        return present != known or not indexed <= {source for _, source in files}

    # ------------------------------------------------------------ the loop

    def _claim(self) -> bool:
        """Hold the data directory's watch lock; only its holder acts."""
        if self._lock is not None:
            return True
        from assistant.stores.factory import open_stores

        db = open_stores(self.settings).database
        if db is not None:  # replicas on one database: one watcher for all of them
            from assistant.errors import WegwijzerError
            from assistant.stores.pg import LOCK_WATCH

            try:
                self._lock = db.try_lock(LOCK_WATCH)
            except WegwijzerError as exc:
                log.warning("watcher: %s", exc)
            return self._lock is not None
        from filelock import FileLock, Timeout

        try:
            self.settings.index_dir.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(self.settings.index_dir / WATCH_LOCK), timeout=0)
            lock.acquire()
        except (Timeout, OSError):
            return False
        self._lock = lock
        return True

    def run(self, stop: threading.Event | None = None) -> None:
        """Watch until ``stop`` is set (or :meth:`stop` is called)."""
        stop = stop or self._stop
        told_passive = False
        try:
            while not stop.is_set() and not self._stop.is_set():
                if self._claim():
                    try:
                        self.poll()
                    except WegwijzerError as exc:  # e.g. the job state cannot be written: try again later
                        log.warning("watcher: %s", exc)
                    except Exception:  # the watcher must outlive any single bad scan
                        log.exception("watcher step failed")
                elif not told_passive:
                    told_passive = True
                    self.on_event(t("watch.passive"))
                stop.wait(self.poll_s)
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def start(self) -> CorpusWatcher:
        """Run in a daemon thread (``wegwijzer serve``)."""
        self._thread = threading.Thread(target=self.run, name="wegwijzer-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def indexed_sources(settings: Settings) -> tuple[float, set[str], set[str]] | None:
    """(when the published version was built, the sources it indexed or reported skipped, the sources it
    indexed); None without one.

    The one place the watcher reads the index format.
    """
    from assistant import index as idx
    from assistant.errors import IndexFormatError

    store = idx.open_store(settings)
    version = store.current_version()
    if version is None:
        return None
    try:
        manifest = store.read_manifest(version)
    except IndexFormatError:
        return None  # an index of an older format: the watcher treats it as absent, so a re-index follows
    indexed = {d.source for d in manifest.documents}
    last = store.read_last_ingest() or {}
    report = last if last.get("version_id") == version else (manifest.report or {})
    known = indexed | {item.get("source", "") for item in report.get("skipped") or ()}
    return float(manifest.created_at), known, indexed
