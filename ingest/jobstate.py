"""The shared state of re-index jobs: what is running, what waits, how recent ones went.

Every serving worker, every replica on the same data directory and the job process itself read and
write the same state, so they all report the same thing. :class:`JobStore` keeps the queue's logic; where
the state lives is the state layer's (``assistant.stores.jobs``: ``job.json`` next to the ingest lock, or
one row of the shared database updated under ``SELECT ... FOR UPDATE`` with an advisory lock for the
runner claim), chosen by its factory in :func:`open_jobs`.

The state is a tiny queue: ``current`` (the latest job, in any state), ``next`` (at most one follow-up,
which every request made while ``current`` runs joins) and ``history`` (finished jobs, newest first).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.stores.jobs import FileJobStateStore, JobStateStore, PostgresJobStateStore

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)
FINISHED = (DONE, FAILED)
HISTORY = 20


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
    corpus: str = ""  # the corpus folder as this run read it (ingest.watch.fingerprint): the watcher's check
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


class JobStore:
    """The job queue in the state layer's job store (``assistant.stores.jobs``: ``job.json`` or a row of the
    shared database), shared by every process that serves or indexes this data directory."""

    def __init__(self, store: JobStateStore) -> None:
        self.store = store

    def read(self) -> JobQueue:
        """The state as last written (never half-written)."""
        data = self.store.read()
        return JobQueue.from_dict(data) if isinstance(data, dict) else JobQueue()

    def update(self, change: Callable[[JobQueue], JobQueue]) -> JobQueue:
        """Apply ``change`` atomically against concurrent updates; returns the new state.

        ``change`` runs while the store is locked; it may start a process or release the runner claim
        there, so that no other update sees the state between the decision and its effect.
        """
        result: list[JobQueue] = []

        def apply(data: dict[str, Any] | None) -> dict[str, Any] | None:
            before = JobQueue.from_dict(data) if isinstance(data, dict) else JobQueue()
            after = change(before)
            result.append(after)
            return after.to_dict() if after != before else None

        self.store.update(apply)
        return result[-1]

    def claim_runner(self, timeout: float) -> bool:
        """Become the one job runner of this data directory; False if another one holds the claim."""
        return self.store.claim_runner(timeout)

    def release_runner(self) -> None:
        """Give up the runner claim (a process that dies loses it by itself)."""
        self.store.release_runner()

    def runner_active(self) -> bool:
        """Whether some process (this one included) holds the runner claim now."""
        return self.store.runner_active()


class FileJobStore(JobStore):
    """``job.json`` in the index directory, written atomically; claims are OS file locks (crash-safe)."""

    def __init__(self, index_dir: Path) -> None:
        super().__init__(FileJobStateStore(index_dir))


class PostgresJobStore(JobStore):
    """The job state as one row of the shared database; the runner claim is a session advisory lock."""

    def __init__(self, url: str) -> None:
        from assistant.stores.pg import database

        super().__init__(PostgresJobStateStore(database(url)))


def open_jobs(settings: Settings) -> JobStore:
    """The job store the state layer's factory selects: the shared database, or ``job.json``."""
    from assistant.stores.factory import open_stores

    return JobStore(open_stores(settings).jobs())
