"""The watched corpus folder: one poll at a time on a controlled clock, then the real loop with job processes.

The step tests use a recording stand-in for :class:`Reindexer` (what the watcher asks is the point);
the loop tests run real job processes on the fake embedder. The end-to-end test on the real model and
a real ``wegwijzer serve`` lives in tests/test_web_watch.py.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from assistant import index as idx
from assistant.config import Settings
from ingest.jobs import Reindexer, Ticket
from ingest.jobstate import Job, new_job
from ingest.names import is_ignored, is_ignored_path
from ingest.watch import CorpusWatcher, Stamp, describe, fingerprint, scan

from .fakes import FakeEmbedder

pytestmark = pytest.mark.timeout(120)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """Stands in for Reindexer: records requests, reports every job finished."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, float | None]] = []
        self.jobs: dict[str, Job] = {}

    def request(self, channel: str, changed_at: float | None = None) -> Ticket:
        self.requests.append((channel, changed_at))
        job = new_job(channel)
        self.jobs[job.id] = job
        return Ticket(job, None, "gestart")

    def job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def covering(self, corpus: str) -> Job | None:
        return None


def _watcher(settings: Settings, recorder: Any, clock: Clock, events: list[str] | None = None) -> CorpusWatcher:
    return CorpusWatcher(settings, recorder, quiet_s=5.0, poll_s=1.0, clock=clock,
                         on_event=(events.append if events is not None else None))


def test_names_that_are_never_documents() -> None:
    for name in ("~$verslag.docx", ".verborgen.md", "nota.pdf.part", "film.crdownload", "x.tmp", "Thumbs.db",
                 "desktop.ini", "~WRL0003.tmp", ".~lock.nota.odt#", "nota.md~", ".upload-123.part"):
        assert is_ignored(name), name
    for name in ("nota.pdf", "Verslag 2024.docx", "plan~b.md", "catalog.toml", "README.md"):
        assert not is_ignored(name), name
    assert is_ignored_path(".git/config") and is_ignored_path("sub/~$x.docx") and not is_ignored_path("sub/x.md")


def test_scan_lists_files_with_size_and_mtime_and_skips_temporary_ones(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("aaa")
    (tmp_path / "sub" / "b.txt").write_text("bb")
    (tmp_path / "~$a.docx").write_text("owner")
    (tmp_path / "c.pdf.part").write_text("half")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("x")
    snap = scan(tmp_path)
    assert set(snap) == {"a.md", "sub/b.txt"}
    assert snap["a.md"].size == 3 and snap["a.md"].mtime_ns == (tmp_path / "a.md").stat().st_mtime_ns
    with pytest.raises(OSError):
        scan(tmp_path / "weg")
    assert describe({"a": Stamp(1, 1), "b": Stamp(1, 1)}, {"a": Stamp(2, 1), "c": Stamp(1, 1)}) == \
        "1 nieuw, 1 gewijzigd, 1 verwijderd"


def test_a_new_file_is_requested_once_the_folder_is_quiet(fake_index: Settings) -> None:
    clock, rec = Clock(), Recorder()
    w = _watcher(fake_index, rec, clock)
    assert w.poll() is None and rec.requests == []  # baseline: the index is up to date
    (fake_index.corpus_dir / "nieuw.md").write_text("# Nieuw\n\nTekst.\n")
    clock.now += 1
    assert w.poll() is None  # seen, but not quiet yet
    clock.now += 4.9
    assert w.poll() is None
    clock.now += 0.2
    ticket = w.poll()
    assert ticket is not None and len(rec.requests) == 1 and rec.requests[0][0] == "watch"
    clock.now += 60
    assert w.poll() is None and len(rec.requests) == 1  # nothing new: no second request


def test_a_file_written_in_pieces_waits_until_it_stops_changing(fake_index: Settings) -> None:
    clock, rec = Clock(), Recorder()
    w = _watcher(fake_index, rec, clock)
    w.poll()
    path = fake_index.corpus_dir / "traag.md"
    with path.open("w") as fh:
        for i in range(6):  # a piece every 3 s: each scan sees a new size, so the quiet period restarts
            fh.write(f"Stuk {i} van een document dat langzaam binnenkomt.\n" * 50)
            fh.flush()
            clock.now += 3
            assert w.poll() is None, f"requested while piece {i} was being written"
    clock.now += 3
    assert w.poll() is None
    clock.now += 2.5
    assert w.poll() is not None and len(rec.requests) == 1


def test_temporary_names_never_trigger_a_job(fake_index: Settings) -> None:
    clock, rec = Clock(), Recorder()
    w = _watcher(fake_index, rec, clock)
    w.poll()
    for name in ("~$nota.docx", "nota.pdf.part", ".DS_Store", "x.crdownload"):
        (fake_index.corpus_dir / name).write_bytes(b"half")
    for _ in range(10):
        clock.now += 3
        assert w.poll() is None
    assert rec.requests == []


def test_a_removed_file_and_a_catalog_edit_are_changes(fake_index: Settings) -> None:
    clock, rec = Clock(), Recorder()
    w = _watcher(fake_index, rec, clock)
    w.poll()
    victim = next(p for p in fake_index.corpus_dir.iterdir() if p.suffix == ".md")
    victim.unlink()
    clock.now += 1
    assert w.poll() is None  # seen
    clock.now += 6
    assert w.poll() is not None and len(rec.requests) == 1
    (fake_index.corpus_dir / "catalog.toml").write_text('["x.md"]\ntitle = "X"\n')
    clock.now += 1
    w.poll()
    clock.now += 6
    assert w.poll() is not None and len(rec.requests) == 2


def test_an_unreachable_share_is_not_taken_for_removed_files(fake_index: Settings, tmp_path: Path) -> None:
    events: list[str] = []
    clock, rec = Clock(), Recorder()
    w = _watcher(fake_index, rec, clock, events)
    w.poll()
    moved = tmp_path / "weg"
    fake_index.corpus_dir.rename(moved)  # the share went away
    for _ in range(5):
        clock.now += 3
        assert w.poll() is None
    assert rec.requests == [] and len([e for e in events if "niet leesbaar" in e]) == 1
    moved.rename(fake_index.corpus_dir)
    for _ in range(5):
        clock.now += 3
        assert w.poll() is None
    assert rec.requests == []  # back as it was: nothing to do


def test_changes_made_while_nobody_watched_are_indexed_at_start(fake_index: Settings) -> None:
    (fake_index.corpus_dir / "tussendoor.md").write_text("# Tussendoor\n\nTekst.\n")
    clock, rec = Clock(), Recorder()
    w = _watcher(fake_index, rec, clock)
    assert w.poll() is None
    clock.now += 6
    assert w.poll() is not None


def test_a_copied_file_with_an_old_mtime_is_still_new_at_start(fake_index: Settings) -> None:
    path = fake_index.corpus_dir / "oud.md"
    path.write_text("# Oud\n\nTekst.\n")
    os.utime(path, (1_000_000_000, 1_000_000_000))  # robocopy keeps the original time
    clock, rec = Clock(), Recorder()
    w = _watcher(fake_index, rec, clock)
    w.poll()
    clock.now += 6
    assert w.poll() is not None


def test_no_index_yet_means_index_what_is_there(settings: Settings) -> None:
    clock, rec = Clock(), Recorder()
    w = _watcher(settings, rec, clock)
    w.poll()
    clock.now += 6
    assert w.poll() is not None


def test_the_outcome_of_the_requested_job_is_told(fake_index: Settings) -> None:
    events: list[str] = []
    clock, rec = Clock(), Recorder()
    w = _watcher(fake_index, rec, clock, events)
    w.poll()
    (fake_index.corpus_dir / "nieuw.md").write_text("# Nieuw\n\nTekst.\n")
    clock.now += 6
    w.poll()
    clock.now += 6
    ticket = w.poll()
    assert ticket is not None and w.waiting_for == ticket.job.id
    report = {"version_id": "v2", "documents": 6, "passages": 60, "documents_embedded": 1,
              "passages_embedded": 2, "documents_reused": 5, "documents_removed": 0, "seconds": 1.5}
    rec.jobs[ticket.job.id] = Job.from_dict({**ticket.job.to_dict(), "state": "done", "report": report})
    clock.now += 1
    w.poll()
    assert w.waiting_for is None and events[-1].startswith(f"Herindexering {ticket.job.id}") and "v2" in events[-1]


def test_only_one_watcher_acts_per_data_directory(fake_index: Settings) -> None:
    first, second = CorpusWatcher(fake_index, Recorder()), CorpusWatcher(fake_index, Recorder())  # type: ignore[arg-type]
    assert first._claim() and not second._claim()
    first._lock.release()
    first._lock = None
    assert second._claim()
    second._lock.release()


def test_the_loop_starts_a_real_job_and_a_second_watcher_stays_passive(fake_index: Settings) -> None:
    events: list[str] = []
    jobs = Reindexer(fake_index, embedder_factory=FakeEmbedder)
    active = CorpusWatcher(fake_index, jobs, quiet_s=0.5, poll_s=0.1, on_event=events.append).start()
    passive_events: list[str] = []
    passive = CorpusWatcher(fake_index, jobs, quiet_s=0.5, poll_s=0.1, on_event=passive_events.append)
    stop = threading.Event()
    passive_thread = threading.Thread(target=passive.run, args=(stop,), daemon=True)
    time.sleep(0.3)  # the first one holds the watch lock
    passive_thread.start()
    try:
        before = idx.current_version(fake_index.index_dir)
        (fake_index.corpus_dir / "lus.md").write_text("# Lus\n\nHet buurthuis Lus opent op maandag.\n")
        deadline = time.monotonic() + 60
        while not any(e.startswith("Herindexering") for e in events):
            assert time.monotonic() < deadline, events
            time.sleep(0.1)
        version = idx.current_version(fake_index.index_dir)
        assert version != before
        manifest = idx.read_manifest(fake_index.index_dir, version)
        assert "lus.md" in {d.source for d in manifest.documents}
        assert len(passive_events) == 1 and "ander proces" in passive_events[0]
    finally:
        active.stop()
        stop.set()
        passive_thread.join(10)


def _until_idle(jobs: Reindexer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (cur := jobs.status().current) is not None and not cur.finished:
        assert time.monotonic() < deadline, cur
        time.sleep(0.05)


def test_a_change_an_admin_job_already_indexed_starts_no_second_job(fake_index: Settings) -> None:
    """Issue 20: an admin edit queued a job, then the watcher saw the same edit and started another one."""
    events: list[str] = []
    clock = Clock()
    jobs = Reindexer(fake_index, embedder_factory=FakeEmbedder)
    w = CorpusWatcher(fake_index, jobs, quiet_s=5.0, poll_s=1.0, clock=clock, on_event=events.append)
    w.poll()
    from ingest import catalog

    catalog.update_entry(fake_index.corpus_dir, "inclucities-toolkit-stad-voor-iedereen.md", {"title": "Nieuwe titel"})
    admin = jobs.request("web")  # what /beheer does right after writing the catalog
    clock.now += 1
    w.poll()  # the watcher sees the edited catalog.toml
    _until_idle(jobs)
    clock.now += 6
    assert w.poll() is None
    done = jobs.status()
    assert done.current is not None and done.current.id == admin.job.id and done.current.state == "done"
    assert [h.id for h in done.history] == [admin.job.id], "the watcher started a second job"
    assert events and admin.job.id in events[-1] and "al meegenomen" in events[-1]
    # A change after that job read the folder is still indexed: the watcher asks for a run of its own.
    (fake_index.corpus_dir / "later.md").write_text("# Later\n\nHet buurthuis Later opent op dinsdag.\n")
    clock.now += 1
    w.poll()
    clock.now += 6
    ticket = w.poll()
    assert ticket is not None and ticket.job.id != admin.job.id and ticket.job.channels == ("watch",)
    _until_idle(jobs)
    manifest = idx.read_manifest(fake_index.index_dir, idx.current_version(fake_index.index_dir))
    assert "later.md" in {d.source for d in manifest.documents}


def test_a_change_made_while_the_job_reads_is_not_taken_as_covered(fake_index: Settings) -> None:
    """The job records the folder as it was when it began reading; a later edit does not match it."""
    jobs = Reindexer(fake_index, embedder_factory=FakeEmbedder)
    jobs.request("web")
    _until_idle(jobs)
    cur = jobs.status().current
    assert cur is not None and cur.corpus
    assert jobs.covering(fingerprint(scan(fake_index.corpus_dir))) == cur
    (fake_index.corpus_dir / "nog.md").write_text("# Nog\n\nTekst.\n")
    assert jobs.covering(fingerprint(scan(fake_index.corpus_dir))) is None


def test_wegwijzer_watch_runs_until_sigterm_and_a_second_one_waits(fake_index: Settings, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from assistant.config import REPO_ROOT
    from bots.texts import t

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WEGWIJZER_DATA_DIR": str(fake_index.data_dir),
           "WEGWIJZER_CORPUS_DIR": str(fake_index.corpus_dir), "WEGWIJZER_WATCH_POLL_S": "0.2"}

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "bots.cli", "watch"], cwd=REPO_ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    first = start()
    try:
        assert first.stderr is not None
        line = first.stderr.readline()
        # one log format (assistant/logs.py): time, level, process role and pid, logger, message
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d INFO wegwijzer-watch\[\d+\] "
                        r"ingest\.watch: Wegwijzer bewaakt", line), line
        assert str(fake_index.corpus_dir) in line
        time.sleep(1.0)  # it holds the watch lock now
        second = start()
        try:
            assert second.stderr is not None
            second.stderr.readline()
            assert second.stderr.readline().strip().endswith(f"ingest.watch: {t('watch.passive')}")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
    assert not (fake_index.index_dir / "job.json").exists()  # the index was up to date: no job
