"""Re-index jobs: requested by any serving process, run by one separate, low-priority job process.

Long work never runs where people wait (STYLE habit 16). The admin API, the Telegram bot and the
watched folder call :meth:`Reindexer.request`; that records the request in the shared job state and
starts ``python -m ingest jobs`` when no job process is alive. The job process claims the runner
lock, runs :func:`ingest.build.ingest` for the queued job, then for the follow-up that requests made
meanwhile joined, and exits when nothing is left. Serving processes only notice the new version.

* A request while a job runs joins the one follow-up job, which starts right after: several requests
  cost one extra run, and a file uploaded during a run is never lost.
* A job process that dies (kill -9, out of memory) loses its runner lock; the next reader marks its
  job failed ("interrupted") and starts the follow-up, if any. The published index is untouched.
* An ingest started elsewhere (``wegwijzer ingest`` from cron) makes the job wait, not fail.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import IngestBusyError, WegwijzerError
from assistant.logs import configure_logging
from assistant.model.embedding import Embedder
from ingest.texts import t

from .jobstate import ACTIVE, DONE, FAILED, QUEUED, RUNNING, Job, JobQueue, JobStore, Progress, new_job, open_jobs

log = logging.getLogger(__name__)

HOST = socket.gethostname()
START_GRACE_S = 60.0  # a spawned job process claims the runner lock within this (it does so before heavy imports)
CLAIM_TIMEOUT_S = 20.0  # how long a new job process waits for a runner that is just finishing
BUSY_RETRY_S = 2.0  # while another ingest holds the ingest lock
PROGRESS_EVERY_S = 0.5  # job.json is rewritten at most this often for progress

EmbedderFactory = Callable[[], Embedder]


@dataclass(frozen=True)
class Ticket:
    """The answer to a request: the job that will carry it, and why it does not start at once (Dutch)."""

    job: Job
    behind: Job | None  # the running job it waits for
    message: str


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class Reindexer:
    """What front ends use: request a re-index, read the shared job state.

    ``embedder_factory`` (picklable, e.g. a class) is what the job process embeds with instead of the
    configured model; tests use it for the fake embedder. ``command`` is how the job process starts.
    """

    def __init__(self, settings: Settings, store: JobStore | None = None,
                 embedder_factory: EmbedderFactory | None = None,
                 command: list[str] | None = None) -> None:
        self.settings = settings
        self.store: JobStore = store or open_jobs(settings)
        self.embedder_factory = embedder_factory
        self.command = command or [sys.executable, "-m", "ingest", "jobs"]

    # ------------------------------------------------------------ requests

    def request(self, channel: str, changed_at: float | None = None) -> Ticket:
        """Make sure a job runs that sees the corpus as it is now (or as of ``changed_at``, epoch seconds).

        Returns at once. The job that carries the request is the current one while it has not read the
        corpus yet (queued, or running but still loading the model) or began reading after
        ``changed_at``; otherwise the one follow-up of the running job, which starts right after it.
        """
        now = time.time()
        changed_at = now if changed_at is None else changed_at
        ticket: list[Ticket] = []

        def change(queue: JobQueue) -> JobQueue:
            queue, spawn = self._reconcile(queue, now)
            cur = queue.current
            if cur is None or cur.finished:
                queue = queue.with_current(new_job(channel, now))
                spawn = True
                ticket.append(Ticket(queue.current, None, t("job.started")))  # type: ignore[arg-type]
            elif cur.state == QUEUED:
                queue = queue.with_current(cur.joined(channel))
                ticket.append(Ticket(queue.current, None, t("job.joined")))  # type: ignore[arg-type]
            elif cur.read_at is None or cur.read_at > changed_at:
                # Running, but it has not read the corpus yet, or began after the change: it sees it.
                # (The job process records read_at under this lock before it reads a single file.)
                queue = queue.with_current(cur.joined(channel))
                ticket.append(Ticket(queue.current, None, t("job.included")))  # type: ignore[arg-type]
            else:
                follow = queue.next.joined(channel) if queue.next else new_job(channel, now)
                queue = replace(queue, next=follow)
                ticket.append(Ticket(follow, cur, t("job.queued_behind")))
            if spawn:
                queue = self._spawn(queue)
                ticket[-1] = replace(ticket[-1], job=queue.find(ticket[-1].job.id) or ticket[-1].job)
            return queue

        self.store.update(change)
        return ticket[-1]

    def status(self) -> JobQueue:
        """The shared state, with a job whose process died marked failed (and its follow-up started)."""
        queue = self.store.read()
        cur = queue.current
        if cur is not None and cur.state in ACTIVE and not self._alive(cur, time.time()):
            return self._settle()
        if (cur is None or cur.finished) and queue.next is not None:
            return self._settle()
        return queue

    def job(self, job_id: str) -> Job | None:
        return self.status().find(job_id)

    def covering(self, corpus: str) -> Job | None:
        """The latest job, if it read the corpus folder in exactly the state ``corpus`` (a fingerprint,
        :func:`ingest.watch.fingerprint`) and is running or succeeded: then that state needs no other run."""
        cur = self.status().current
        if cur is None or not corpus or cur.corpus != corpus:
            return None
        return cur if cur.state in (RUNNING, DONE) else None

    def _settle(self) -> JobQueue:
        def change(queue: JobQueue) -> JobQueue:
            queue, spawn = self._reconcile(queue, time.time())
            return self._spawn(queue) if spawn else queue

        return self.store.update(change)

    # ------------------------------------------------------------ liveness

    def _alive(self, job: Job, now: float) -> bool:
        if self.store.runner_active():
            return True
        if job.state == RUNNING:
            return False  # a running job's process holds the runner claim until it is done
        # queued: its process may still be starting (it claims the runner lock before heavy imports)
        if job.spawned_at is None:
            return False
        if job.host == HOST and job.pid is not None and not pid_alive(job.pid):
            return False
        return now - job.spawned_at < START_GRACE_S

    def _reconcile(self, queue: JobQueue, now: float) -> tuple[JobQueue, bool]:
        """Fail a job whose process died; promote the follow-up when nothing is active. (queue, spawn?)"""
        cur = queue.current
        if cur is not None and cur.state in ACTIVE and not self._alive(cur, now):
            error = t("job.interrupted") if cur.state == RUNNING else t("job.not_started")
            log.warning("re-index job %s (pid %s) died; marked failed", cur.id, cur.pid)
            queue = queue.with_current(replace(cur, state=FAILED, finished_at=now, error=error, note=""))
            cur = queue.current
        if (cur is None or cur.finished) and queue.next is not None:
            queue = replace(queue.with_current(queue.next), next=None)
            return queue, True
        return queue, False

    # ------------------------------------------------------------ the job process

    def _spawn(self, queue: JobQueue) -> JobQueue:
        """Start a job process for ``queue.current`` (called inside a store update)."""
        cur = queue.current
        assert cur is not None
        env = {**os.environ, "OMP_NUM_THREADS": str(self.settings.ingest_threads),
               "MKL_NUM_THREADS": str(self.settings.ingest_threads),
               "OPENBLAS_NUM_THREADS": str(self.settings.ingest_threads),
               "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        payload = pickle.dumps({"settings": self.settings, "embedder_factory": self.embedder_factory})
        try:
            proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, env=env, close_fds=True)
            assert proc.stdin is not None
            proc.stdin.write(payload)
            proc.stdin.close()
        except OSError as exc:
            log.error("could not start the job process: %s", exc)
            return queue.with_current(replace(cur, state=FAILED, finished_at=time.time(),
                                              error=t("job.not_started") + f" ({exc.strerror or exc})"))
        # Reap it when it ends, so its pid never lingers as a zombie that looks alive.
        threading.Thread(target=proc.wait, name=f"wegwijzer-job-{proc.pid}", daemon=True).start()
        log.info("started job process %d for re-index job %s", proc.pid, cur.id)
        return queue.with_current(replace(cur, pid=proc.pid, host=HOST, spawned_at=time.time()))


# ---------------------------------------------------------------- inside the job process


class _ProgressWriter:
    """Throttled progress updates of one job into the store."""

    def __init__(self, store: JobStore, job_id: str, corpus_dir: Path | None = None) -> None:
        self.store, self.job_id, self.corpus_dir = store, job_id, corpus_dir
        self._last = 0.0
        self._phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self._phase and done < total and now - self._last < PROGRESS_EVERY_S:
            return
        self._last, self._phase = now, phase
        corpus = ""
        if phase == "reading" and self.corpus_dir is not None:
            from .watch import corpus_fingerprint  # (watch imports this module)

            corpus = corpus_fingerprint(self.corpus_dir)

        def change(queue: JobQueue) -> JobQueue:
            cur = queue.current
            if cur is None or cur.id != self.job_id:
                return queue
            p = cur.progress
            if phase == "reading":
                return queue.with_current(replace(cur, read_at=time.time(), corpus=corpus,
                                                  progress=replace(p, phase=phase)))
            p = replace(p, phase=phase, documents_done=done, documents_total=total) if phase == "documents" \
                else replace(p, phase=phase, passages_done=done, passages_total=total)
            return queue.with_current(replace(cur, progress=p))

        if phase == "reading":  # must be on record before the corpus is read: requests rely on it
            self.store.update(change)
            return
        try:
            self.store.update(change)
        except WegwijzerError as exc:  # the rest of progress is a nicety; the job goes on
            log.warning("could not record progress: %s", exc)


def _take(store: JobStore) -> Job | None:
    """Mark the next job running and return it; with nothing to do, give up the runner claim (atomically)."""
    taken: list[Job] = []

    def change(queue: JobQueue) -> JobQueue:
        now = time.time()
        cur = queue.current
        if cur is not None and cur.state == RUNNING and cur.pid != os.getpid():
            # We hold the runner claim, so whoever ran it is gone.
            queue = queue.with_current(replace(cur, state=FAILED, finished_at=now, error=t("job.interrupted")))
            cur = queue.current
        if (cur is None or cur.finished) and queue.next is not None:
            queue = replace(queue.with_current(queue.next), next=None)
            cur = queue.current
        if cur is None or cur.state != QUEUED:
            store.release_runner()  # inside the update: a request now either sees us active or starts a new process
            return queue
        job = replace(cur, state=RUNNING, started_at=now, read_at=None, corpus="", pid=os.getpid(), host=HOST, note="",
                      progress=Progress())
        taken.append(job)
        return queue.with_current(job)

    store.update(change)
    return taken[0] if taken else None


def _finish(store: JobStore, job: Job, **fields: Any) -> None:
    from .budgets import peak_rss_kb

    peak = peak_rss_kb()  # this process's own, not the peak of whoever started it

    def change(queue: JobQueue) -> JobQueue:
        cur = queue.current
        if cur is None or cur.id != job.id:
            return queue
        return queue.with_current(replace(cur, **{"finished_at": time.time(), "peak_rss_kb": peak, **fields}))

    store.update(change)


def _lower_priority(settings: Settings) -> None:
    """Nice the job process, so that questions on the same cores come first."""
    if settings.ingest_nice > 0:
        try:
            os.nice(settings.ingest_nice)
        except OSError as exc:
            log.warning("could not lower the job's priority: %s", exc)


def run_jobs(settings: Settings, embedder_factory: EmbedderFactory | None = None,
             store: JobStore | None = None) -> int:
    """The job process: run queued jobs one by one until none is left. Returns the number run."""
    store = store or open_jobs(settings)
    if not store.claim_runner(timeout=CLAIM_TIMEOUT_S):
        log.info("another job process is active; it runs the queued jobs")
        return 0
    _lower_priority(settings)
    embedder: Embedder | None = None
    runs = 0
    job: Job | None = None
    try:
        while (job := _take(store)) is not None:
            runs += 1
            try:
                if embedder is None:
                    embedder = _load_embedder(settings, embedder_factory)
                report = _ingest(settings, embedder, _ProgressWriter(store, job.id, Path(settings.corpus_dir)))
            except IngestBusyError:
                # `wegwijzer ingest` (or another tool) is indexing this data dir: wait for it, then run.
                _finish(store, job, state=QUEUED, started_at=None, read_at=None, finished_at=None,
                        note=t("job.waiting"))
                time.sleep(BUSY_RETRY_S)
                continue
            except WegwijzerError as exc:
                log.warning("re-index job %s failed: %s", job.id, exc)
                _finish(store, job, state=FAILED, error=str(exc))
            except Exception as exc:  # the job process has nobody above it; say what happened, in Dutch
                log.exception("re-index job %s crashed", job.id)
                _finish(store, job, state=FAILED, error=t("job.crashed", reason=type(exc).__name__))
            else:
                _finish(store, job, state=DONE, report=report)
                log.info("re-index job %s done: version %s", job.id, report.get("version_id"))
            job = None
    except BaseException:  # SIGTERM (SystemExit) or Ctrl-C while a job runs: say so before leaving
        if job is not None:
            _finish(store, job, state=FAILED, error=t("job.interrupted"))
        store.release_runner()
        raise
    return runs


def _load_embedder(settings: Settings, factory: EmbedderFactory | None) -> Embedder:
    if factory is not None:
        return factory()
    from assistant.model.embedding import open_embedder

    # The job only embeds passages: ``lean`` keeps each model call small and frees its activations, so a
    # re-index stays within its memory budget whatever is uploaded (same vectors; see LEAN_TOKEN_BUDGET).
    # ingest_threads caps ONNX Runtime's pool (which ignores OMP_NUM_THREADS) and torch's own pools.
    return open_embedder(settings.embedding_model, settings.models_dir, backend=settings.embedding_backend,
                         threads=settings.ingest_threads, lean=True)


def _ingest(settings: Settings, embedder: Embedder, progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    from .build import ingest

    return ingest(settings, embedder=embedder, on_progress=progress).to_dict()


def job_process_main(stdin: Any = None) -> int:
    """``python -m ingest jobs``: read the settings the requester passed, run jobs, exit."""
    stdin = stdin if stdin is not None else sys.stdin.buffer
    payload = pickle.load(stdin)  # from the process that started us (same code, same user): trusted
    settings: Settings = payload["settings"]
    configure_logging("job")

    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        run_jobs(settings, payload.get("embedder_factory"))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
