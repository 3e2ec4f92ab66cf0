"""Re-index jobs in their own process, with state on disk (fake embedder: fast; the real model runs in the web tests).

Every test starts real job processes (``python -m ingest jobs``) through :class:`Reindexer`; the fake
embedder reaches them as a picklable factory. ``GatedFakeEmbedder`` parks a job before it embeds, so
a test can act while it runs.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import index as idx
from assistant.config import REPO_ROOT, Settings
from bots.texts import t
from ingest.jobs import Reindexer, pid_alive
from ingest.jobstate import DONE, FAILED, QUEUED, RUNNING, FileJobStore, Job, JobQueue, new_job

from .fakes import FakeEmbedder, GatedFakeEmbedder
from .jobs_support import WAIT_S, add_document, wait_for_job

pytestmark = pytest.mark.timeout(180)


def _wait_path(path: Path, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"timed out waiting for {path}"
        time.sleep(0.02)


def _gated(settings: Settings, tmp_path: Path) -> tuple[Reindexer, Path]:
    gate = tmp_path / "gate"
    gate.mkdir()
    return Reindexer(settings, embedder_factory=functools.partial(GatedFakeEmbedder, str(gate))), gate


def test_a_request_runs_ingest_in_a_separate_process_and_records_the_report(fake_index: Settings) -> None:
    add_document(fake_index, "buurthuis-een.md")
    reindexer = Reindexer(fake_index, embedder_factory=FakeEmbedder)
    ticket = reindexer.request("web")
    assert ticket.message == t("job.started") and ticket.behind is None
    assert ticket.job.state == QUEUED and ticket.job.pid not in (None, os.getpid())
    job = wait_for_job(reindexer, ticket.job.id)
    assert job.state == DONE, job
    assert job.pid != os.getpid() and job.channels == ("web",)
    assert job.report is not None and job.report["documents_embedded"] == 1 and job.report["documents_reused"] == 5
    assert idx.current_version(fake_index.index_dir) == job.report["version_id"]
    p = job.progress
    assert (p.documents_done, p.documents_total) == (6, 6)
    assert p.passages_done == p.passages_total == job.report["passages_embedded"] > 0
    # the state is one JSON file any process can read, next to the ingest lock
    on_disk = JobQueue.from_dict(json.loads((fake_index.index_dir / "job.json").read_text()))
    assert on_disk.current == job and on_disk.history[0] == job


def test_requests_during_a_run_join_one_follow_up_that_indexes_every_change(fake_index: Settings,
                                                                            tmp_path: Path) -> None:
    reindexer, gate = _gated(fake_index, tmp_path)
    add_document(fake_index, "eerste.md")
    first = reindexer.request("web")
    _wait_path(gate / "embedding")  # the first job has read the corpus and is embedding
    running = reindexer.status().current
    assert running is not None and running.state == RUNNING and running.read_at is not None
    # a change the watcher saw before the job began reading is in it; one seen after needs a follow-up
    seen_before = reindexer.request("watch", changed_at=running.read_at - 1)
    assert seen_before.job.id == first.job.id and seen_before.message == t("job.included")
    tickets = []
    for name in ("tweede.md", "derde.md", "vierde.md"):
        add_document(fake_index, name)
        tickets.append(reindexer.request("telegram" if name == "derde.md" else "web"))
    follow = tickets[0].job
    assert {tk.job.id for tk in tickets} == {follow.id} != {first.job.id}
    assert all(tk.behind is not None and tk.behind.id == first.job.id for tk in tickets)
    assert tickets[0].message == t("job.queued_behind")
    queue = reindexer.status()
    assert queue.next is not None and queue.next.requests == 3 and set(queue.next.channels) == {"web", "telegram"}
    assert queue.current is not None and queue.current.requests == 2
    (gate / "release").touch()
    assert wait_for_job(reindexer, first.job.id).state == DONE
    done = wait_for_job(reindexer, follow.id)
    assert done.state == DONE and done.report is not None
    assert done.report["documents_embedded"] == 3 and done.report["documents"] == 9
    manifest = idx.read_manifest(fake_index.index_dir)
    assert {"eerste.md", "tweede.md", "derde.md", "vierde.md"} <= {d.source for d in manifest.documents}
    queue = reindexer.status()
    assert queue.next is None and [h.id for h in queue.history[:2]] == [follow.id, first.job.id]


def test_a_request_joins_a_running_job_that_has_not_read_the_corpus_yet(fake_index: Settings,
                                                                         tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "release").touch()
    reindexer = Reindexer(fake_index, embedder_factory=functools.partial(GatedFakeEmbedder, str(gate), on_load=True))
    add_document(fake_index, "vroeg.md")
    first = reindexer.request("web")
    _wait_path(gate / "loading")  # running, still loading the model
    running = reindexer.status().current
    assert running is not None and running.state == RUNNING and running.read_at is None
    add_document(fake_index, "laat.md")
    joined = reindexer.request("watch")
    assert joined.job.id == first.job.id and joined.message == t("job.included") and reindexer.status().next is None
    (gate / "loaded").touch()
    job = wait_for_job(reindexer, first.job.id)
    assert job.state == DONE and job.report is not None and job.report["documents_embedded"] == 2
    assert job.read_at is not None and job.started_at <= job.read_at <= job.finished_at  # type: ignore[operator]


def test_a_request_joins_a_job_that_has_not_started_yet(fake_index: Settings, tmp_path: Path) -> None:
    # A command that never claims the runner: the job stays queued, as it is while its process starts up.
    reindexer = Reindexer(fake_index, embedder_factory=FakeEmbedder,
                          command=[sys.executable, "-c", "import time; time.sleep(30)"])
    first = reindexer.request("web")
    again = reindexer.request("watch")
    assert again.job.id == first.job.id and again.message == t("job.joined") and again.behind is None
    assert reindexer.status().current.requests == 2  # type: ignore[union-attr]
    os.kill(first.job.pid, signal.SIGKILL)  # type: ignore[arg-type]
    deadline = time.monotonic() + WAIT_S
    while reindexer.status().current.state == QUEUED:  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert reindexer.status().current.error == t("job.not_started")  # type: ignore[union-attr]


def test_kill_9_of_the_job_process_leaves_the_index_and_the_next_job_succeeds(fake_index: Settings,
                                                                             tmp_path: Path) -> None:
    before = idx.current_version(fake_index.index_dir)
    reindexer, gate = _gated(fake_index, tmp_path)
    add_document(fake_index, "onderbroken.md")
    ticket = reindexer.request("web")
    _wait_path(gate / "embedding")
    running = reindexer.status().current
    assert running is not None and running.state == RUNNING and running.pid == ticket.job.pid
    os.kill(running.pid, signal.SIGKILL)  # type: ignore[arg-type]
    # The OS releases its runner lock once every thread of it is gone; the next read sees that.
    job = wait_for_job(reindexer, ticket.job.id, timeout=10)
    assert job.state == FAILED and job.error == t("job.interrupted")
    assert not pid_alive(running.pid)  # type: ignore[arg-type]
    assert idx.current_version(fake_index.index_dir) == before  # the published index stays in service
    assert idx.read_manifest(fake_index.index_dir).passage_count > 0

    (gate / "release").touch()
    again = reindexer.request("web")
    assert again.job.id != ticket.job.id and again.message == t("job.started")
    done = wait_for_job(reindexer, again.job.id)
    assert done.state == DONE and done.report is not None and done.report["documents_embedded"] == 1
    assert idx.current_version(fake_index.index_dir) == done.report["version_id"] != before
    assert not list((fake_index.index_dir / idx.VERSIONS).glob(f"{idx.TMP_PREFIX}*"))


def test_kill_9_with_a_follow_up_waiting_starts_the_follow_up(fake_index: Settings, tmp_path: Path) -> None:
    reindexer, gate = _gated(fake_index, tmp_path)
    add_document(fake_index, "een.md")
    first = reindexer.request("web")
    _wait_path(gate / "embedding")
    add_document(fake_index, "twee.md")
    follow = reindexer.request("web")
    assert follow.behind is not None
    (gate / "release").touch()  # the follow-up's process must not park
    os.kill(reindexer.status().current.pid, signal.SIGKILL)  # type: ignore[arg-type, union-attr]
    done = wait_for_job(reindexer, follow.job.id)
    assert reindexer.job(first.job.id).state == FAILED  # type: ignore[union-attr]
    assert done.state == DONE and done.report is not None and done.report["documents_embedded"] == 2


def test_sigterm_marks_the_job_interrupted(fake_index: Settings, tmp_path: Path) -> None:
    reindexer, gate = _gated(fake_index, tmp_path)
    add_document(fake_index, "gestopt.md")
    ticket = reindexer.request("web")
    _wait_path(gate / "embedding")
    os.kill(ticket.job.pid, signal.SIGTERM)  # type: ignore[arg-type]
    job = wait_for_job(reindexer, ticket.job.id)
    assert job.state == FAILED and job.error == t("job.interrupted")
    assert not FileJobStore(fake_index.index_dir).runner_active()


def test_a_job_waits_for_an_ingest_started_elsewhere_instead_of_failing(fake_index: Settings) -> None:
    add_document(fake_index, "wachten.md")
    reindexer = Reindexer(fake_index, embedder_factory=FakeEmbedder)
    with idx.IngestLock(fake_index.index_dir):  # as `wegwijzer ingest` from cron would hold it
        ticket = reindexer.request("web")
        deadline = time.monotonic() + WAIT_S
        while (job := reindexer.job(ticket.job.id)) is not None and job.note != t("job.waiting"):
            assert time.monotonic() < deadline, job
            time.sleep(0.05)
        assert job is not None and job.state == QUEUED
        time.sleep(1.0)
        assert reindexer.job(ticket.job.id).state in (QUEUED, RUNNING)  # type: ignore[union-attr]
    done = wait_for_job(reindexer, ticket.job.id)
    assert done.state == DONE and done.report is not None and done.report["documents_embedded"] == 1


def test_a_failed_ingest_is_a_failed_job_with_the_dutch_reason(fake_index: Settings) -> None:
    before = idx.current_version(fake_index.index_dir)
    for path in fake_index.corpus_dir.iterdir():
        if path.suffix in (".md", ".txt", ".pdf"):
            path.unlink()
    reindexer = Reindexer(fake_index, embedder_factory=FakeEmbedder)
    job = wait_for_job(reindexer, reindexer.request("web").job.id)
    assert job.state == FAILED and "Geen enkel document" in job.error
    assert idx.current_version(fake_index.index_dir) == before


def test_the_job_process_runs_nicer_with_limited_threads(fake_index: Settings, tmp_path: Path) -> None:
    settings = fake_index.with_(ingest_nice=7, ingest_threads=1)
    reindexer, gate = _gated(settings, tmp_path)
    add_document(settings, "lief.md")
    ticket = reindexer.request("web")
    _wait_path(gate / "embedding")
    try:
        pid = ticket.job.pid
        assert pid is not None
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        assert int(fields[16]) - os.nice(0) == 7  # field 19 of /proc/<pid>/stat: nice
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert b"OMP_NUM_THREADS=1" in environ
    finally:
        (gate / "release").touch()
    assert wait_for_job(reindexer, ticket.job.id).state == DONE


def test_a_damaged_job_file_does_not_stop_re_indexing(fake_index: Settings) -> None:
    (fake_index.index_dir / "job.json").write_text("{niet geldig")
    reindexer = Reindexer(fake_index, embedder_factory=FakeEmbedder)
    assert reindexer.status() == JobQueue()
    assert wait_for_job(reindexer, reindexer.request("web").job.id).state == DONE


def test_job_state_round_trips_and_keeps_a_bounded_history() -> None:
    queue = JobQueue()
    for i in range(30):
        job = new_job("web", now=1000.0 + i)
        queue = queue.with_current(job)
        queue = queue.with_current(Job.from_dict({**job.to_dict(), "state": DONE, "finished_at": 2000.0 + i}))
    assert len(queue.history) == 20 and queue.history[0].finished_at == 2029.0
    again = JobQueue.from_dict(json.loads(json.dumps(queue.to_dict())))
    assert again == queue
    # unknown fields from a newer version are ignored, missing ones get defaults
    job = Job.from_dict({"id": "x", "state": QUEUED, "requested_at": 1.0, "later_field": 3})
    assert job.channels == () and job.progress.passages_total == 0


def test_python_m_ingest_without_jobs_explains_itself() -> None:
    proc = subprocess.run([sys.executable, "-m", "ingest"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "wegwijzer ingest" in proc.stderr
