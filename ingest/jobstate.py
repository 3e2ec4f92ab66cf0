"""The shared state of re-index jobs: what is running, what waits, how recent ones went.

Every serving worker, every replica on the same data directory and the job process itself read and
write the same state, so they all report the same thing. :class:`JobStore` is the seam: the file
implementation keeps ``job.json`` next to the ingest lock; a PostgreSQL one can keep a row (``SELECT
... FOR UPDATE`` for :meth:`JobStore.update`, an advisory lock for the runner claim).

:class:`PostgresJobStore` keeps the same state in the shared database when ``WEGWIJZER_DATABASE_URL`` is
set (one row, updated under ``SELECT ... FOR UPDATE``; the runner claim is an advisory lock), so every
replica on the database reports the same jobs; :func:`open_jobs` picks the store.

The state is a tiny queue: ``current`` (the latest job, in any state), ``next`` (at most one follow-up,
which every request made while ``current`` runs joins) and ``history`` (finished jobs, newest first).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from assistant.config import Settings
from assistant.errors import IndexWriteError
from assistant.messages import t
from assistant.stores.statefiles import create_private, private_file, private_folder

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)
FINISHED = (DONE, FAILED)
HISTORY = 20

JOB_FILE = "job.json"
STATE_LOCK = ".job.lock"  # held for the few milliseconds of one read-modify-write of job.json
RUNNER_LOCK = ".runner.lock"  # held by the one job process for as long as it runs (the OS drops it on death)


@dataclass(frozen=True)
class Progress:
    """How far a running job is: documents read so far, passages embedded so far."""

    phase: str = ""  # "" | "reading" | "documents" | "passages"
    documents_done: int = 0
    documents_total: int = 0
    passages_done: int = 0
    passages_total: int = 0


@dataclass(frozen=True)
class Job:
    """One re-index run and the requests it carries."""

    id: str
    state: str
    requested_at: float
    channels: tuple[str, ...] = ()  # who asked: web, telegram, watch, ...
    requests: int = 1  # requests coalesced into this run
    started_at: float | None = None
    read_at: float | None = None  # when this run began reading the corpus: later changes are not in it
    finished_at: float | None = None
    host: str = ""
    pid: int | None = None  # the job process (spawned, then the one running it)
    spawned_at: float | None = None
    progress: Progress = field(default_factory=Progress)
    report: dict[str, Any] | None = None  # the ingest report (assistant-independent plain data)
    peak_rss_kb: int | None = None  # peak memory of the job process up to the end of this job
    error: str = ""  # Dutch, for people
    note: str = ""  # Dutch, what a queued job waits for

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def joined(self, channel: str) -> Job:
        channels = self.channels if channel in self.channels else (*self.channels, channel)
        return replace(self, channels=channels, requests=self.requests + 1)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["channels"] = list(self.channels)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        progress = known.get("progress") or {}
        known["progress"] = Progress(**{k: v for k, v in progress.items() if k in Progress.__dataclass_fields__})
        known["channels"] = tuple(known.get("channels") or ())
        return cls(**known)


def new_job(channel: str, now: float | None = None) -> Job:
    now = time.time() if now is None else now
    job_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + "-" + uuid.uuid4().hex[:6]
    return Job(id=job_id, state=QUEUED, requested_at=now, channels=(channel,))


@dataclass(frozen=True)
class JobQueue:
    """The whole shared state: the latest job, its follow-up, and the finished ones before it."""

    current: Job | None = None
    next: Job | None = None
    history: tuple[Job, ...] = ()

    def find(self, job_id: str) -> Job | None:
        for job in (self.current, self.next, *self.history):
            if job is not None and job.id == job_id:
                return job
        return None

    def with_current(self, job: Job) -> JobQueue:
        """Replace ``current``; a finished job also goes to the head of the history."""
        history = self.history
        if job.finished:
            history = (job, *(h for h in history if h.id != job.id))[:HISTORY]
        return replace(self, current=job, history=history)

    def to_dict(self) -> dict[str, Any]:
        return {"current": self.current.to_dict() if self.current else None,
                "next": self.next.to_dict() if self.next else None,
                "history": [h.to_dict() for h in self.history]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobQueue:
        def job(value: Any) -> Job | None:
            return Job.from_dict(value) if isinstance(value, dict) else None

        history = tuple(j for j in (job(h) for h in data.get("history") or ()) if j is not None)
        return cls(current=job(data.get("current")), next=job(data.get("next")), history=history)


class JobStore(Protocol):
    """Where the job state lives, shared by every process that serves or indexes this data directory."""

    def read(self) -> JobQueue:
        """The state as last written (never half-written)."""

    def update(self, change: Callable[[JobQueue], JobQueue]) -> JobQueue:
        """Apply ``change`` atomically against concurrent updates; returns the new state.

        ``change`` runs while the store is locked; it may start a process or release the runner claim
        there, so that no other update sees the state between the decision and its effect.
        """

    def claim_runner(self, timeout: float) -> bool:
        """Become the one job runner of this data directory; False if another one holds the claim."""

    def release_runner(self) -> None:
        """Give up the runner claim (a process that dies loses it by itself)."""

    def runner_active(self) -> bool:
        """Whether some process (this one included) holds the runner claim now."""


class FileJobStore:
    """``job.json`` in the index directory, written atomically; claims are OS file locks (crash-safe)."""

    LOCK_TIMEOUT_S = 30.0

    def __init__(self, index_dir: Path) -> None:
        self.dir = Path(index_dir)
        self.path = self.dir / JOB_FILE
        self._runner: Any = None

    def _mkdir(self) -> None:
        try:
            private_folder(self.dir)
            private_file(self.path)  # one an older version wrote 0644
        except OSError as exc:
            raise IndexWriteError(t("ingest.write_failed", reason=exc.strerror or exc)) from exc

    def read(self) -> JobQueue:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return JobQueue()
        except (OSError, ValueError) as exc:  # a damaged file must not stop serving or indexing
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            return JobQueue()
        return JobQueue.from_dict(data) if isinstance(data, dict) else JobQueue()

    def update(self, change: Callable[[JobQueue], JobQueue]) -> JobQueue:
        from filelock import FileLock, Timeout

        self._mkdir()
        lock = FileLock(str(self.dir / STATE_LOCK), timeout=self.LOCK_TIMEOUT_S)
        try:
            with lock:
                before = self.read()
                after = change(before)
                if after != before:
                    self._write(after)
                return after
        except Timeout as exc:
            raise IndexWriteError(t("ingest.write_failed", reason=f"{STATE_LOCK} blijft bezet")) from exc
        except OSError as exc:
            raise IndexWriteError(t("ingest.write_failed", reason=exc.strerror or exc)) from exc

    def _write(self, queue: JobQueue) -> None:
        tmp = self.path.with_name(f".{JOB_FILE}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        # 0600 (statefiles): the job records who asked for a re-index and the ingest report
        create_private(tmp, json.dumps(queue.to_dict(), ensure_ascii=False, indent=2))
        os.replace(tmp, self.path)

    def claim_runner(self, timeout: float) -> bool:
        from filelock import FileLock, Timeout

        self._mkdir()
        lock = FileLock(str(self.dir / RUNNER_LOCK), timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            return False
        self._runner = lock
        return True

    def release_runner(self) -> None:
        if self._runner is not None:
            self._runner.release()
            self._runner = None

    def runner_active(self) -> bool:
        from filelock import FileLock, Timeout

        if self._runner is not None:
            return True
        probe = FileLock(str(self.dir / RUNNER_LOCK), timeout=0)
        try:
            probe.acquire()
        except Timeout:
            return True
        except OSError:  # cannot even open the lock file: nobody can hold it either
            return False
        probe.release()
        return False


_PG_MIGRATIONS = (
    """
    CREATE TABLE wegwijzer.jobs (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        state jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO wegwijzer.jobs (state) VALUES ('{}');
    """,
)


class PostgresJobStore:
    """The job state as one row of the shared database; the runner claim is a session advisory lock."""

    def __init__(self, url: str) -> None:
        from assistant.stores.pg import database

        self.db = database(url)
        self._runner: Any = None

    def _tables(self) -> None:
        self.db.migrate("jobs", _PG_MIGRATIONS)  # once per process (cached)

    def read(self) -> JobQueue:
        self._tables()
        rows = self.db.rows("SELECT state FROM wegwijzer.jobs")
        data = rows[0][0] if rows else None
        return JobQueue.from_dict(data) if isinstance(data, dict) else JobQueue()

    def update(self, change: Callable[[JobQueue], JobQueue]) -> JobQueue:
        self._tables()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT state FROM wegwijzer.jobs FOR UPDATE").fetchone()
            before = JobQueue.from_dict(row[0]) if row and isinstance(row[0], dict) else JobQueue()
            after = change(before)
            if after != before:
                conn.execute("UPDATE wegwijzer.jobs SET state = %s, updated_at = now()",
                             (self.db.jsonb(after.to_dict()),))
            return after

    def claim_runner(self, timeout: float) -> bool:
        from assistant.stores.pg import LOCK_RUNNER

        self._runner = self.db.try_lock(LOCK_RUNNER, timeout)
        return self._runner is not None

    def release_runner(self) -> None:
        if self._runner is not None:
            self._runner.release()
            self._runner = None

    def runner_active(self) -> bool:
        from assistant.stores.pg import LOCK_RUNNER

        return self._runner is not None or self.db.lock_held(LOCK_RUNNER)


def open_jobs(settings: Settings) -> JobStore:
    """The job store the settings select: the shared database, or ``job.json`` in the index directory."""
    from assistant.stores.factory import open_stores

    db = open_stores(settings).database
    if db is not None:
        return PostgresJobStore(db.url)
    return FileJobStore(settings.index_dir)
