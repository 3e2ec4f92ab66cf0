"""Helpers for tests that run re-index jobs: a document to add, and waiting for a job to finish."""

from __future__ import annotations

import time

from assistant.config import Settings
from ingest.jobs import Reindexer
from ingest.jobstate import Job

WAIT_S = 60.0


def add_document(settings: Settings, name: str, text: str | None = None) -> None:
    """A small Markdown note in the corpus folder."""
    body = text or f"# {name}\n\nHet buurthuis {name} organiseert taallessen voor nieuwkomers.\n"
    (settings.corpus_dir / name).write_text(body, encoding="utf-8")


def wait_for_job(reindexer: Reindexer, job_id: str, timeout: float = WAIT_S) -> Job:
    """The job once it has finished (done or failed); AssertionError with the status if it does not in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = reindexer.job(job_id)
        assert job is not None, job_id
        if job.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {reindexer.status()}")
