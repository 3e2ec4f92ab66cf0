"""Killed ingests on PostgreSQL: the previous version stays current, nothing is left behind, the next ingest works.

The ingest runs in a real subprocess with the fake embedder and parks (a marker file tells the test) while
the version is being written (inside its one transaction, after the passages were copied) or in the
middle of publishing (after the UPDATE of ``wegwijzer.state``, before the commit). The test kills it
there with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Assistant
from assistant import index as idx
from assistant.config import REPO_ROOT, Settings
from assistant.stores.pg import LOCK_INGEST, database
from ingest.build import ingest

from .fakes import FakeEmbedder

pytestmark = pytest.mark.timeout(180)
WAIT_S = 60.0

WORKER = r"""
import os, sys, time
from pathlib import Path

from assistant.config import Settings
from assistant.index.postgres import store as postgres
from assistant.stores import pg
from tests.fakes import FakeEmbedder

data_dir, corpus_dir, url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
signals, pause_at = Path(sys.argv[4]), sys.argv[5]
settings = Settings(data_dir=data_dir, corpus_dir=corpus_dir, database_url=url)


def park(where):
    (signals / where).touch()
    time.sleep(120)  # the test kills us here


if pause_at == "write":
    real_write = postgres._write_version
    def write_version(conn, *args, **kwargs):
        real_write(conn, *args, **kwargs)
        park("writing")
    postgres._write_version = write_version

if pause_at == "publish":
    class Parking:
        # The real publish runs on this connection; it parks right after moving the pointer, before COMMIT.
        def __init__(self, conn):
            self._conn = conn
        def __getattr__(self, name):
            return getattr(self._conn, name)
        def execute(self, query, *args, **kwargs):
            result = self._conn.execute(query, *args, **kwargs)
            if isinstance(query, str) and query.startswith("UPDATE wegwijzer.state SET current"):
                park("publishing")
            return result
    real_run = pg.Database.run
    def run(self, work, retry=True):
        return real_run(self, lambda conn: work(Parking(conn)), retry)
    pg.Database.run = run

from ingest.build import ingest
ingest(settings, embedder=FakeEmbedder())
"""


def _schemas(url: str) -> set[str]:
    return {r[0] for r in database(url).rows("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'wv\\_%'")}


@pytest.mark.parametrize("pause_at, marker", [("write", "writing"), ("publish", "publishing")])
def test_kill_9_while_writing_or_publishing_keeps_the_previous_version(pg_settings: Settings, tmp_path: Path,
                                                                       pause_at: str, marker: str) -> None:
    first = ingest(pg_settings, embedder=FakeEmbedder())
    store = idx.open_store(pg_settings)
    assert store.current_version() == first.version_id
    schemas_before = _schemas(pg_settings.database_url)
    (pg_settings.corpus_dir / "nieuw.md").write_text(
        "# Buurtkoks\n\nDe gemeente Zoersel start met buurtkoks die samen met nieuwkomers koken.\n", encoding="utf-8")
    signals = tmp_path / "signals"
    signals.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(pg_settings.data_dir), str(pg_settings.corpus_dir),
         pg_settings.database_url, str(signals), pause_at],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + WAIT_S
    while not (signals / marker).exists():
        if proc.poll() is not None:
            pytest.fail(f"worker exited ({proc.returncode}) before {marker}: {proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"timed out waiting for {marker}"
        time.sleep(0.02)
    if pause_at == "publish":
        assert len(store.versions()) == 2  # the new version is complete, only the switch is missing
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=WAIT_S)
    assert proc.returncode == -signal.SIGKILL

    # The server rolls the dead session's transaction back and frees its locks.
    db = database(pg_settings.database_url)
    deadline = time.monotonic() + 10
    while db.lock_held(LOCK_INGEST):
        assert time.monotonic() < deadline, "the killed ingest's lock was not released"
        time.sleep(0.05)
    assert store.current_version() == first.version_id
    answer = Assistant.load(settings=pg_settings, embedder=FakeEmbedder(), follow=False).ask("Wat zijn pleinmakers?")
    assert answer.index_version == first.version_id and answer.citations + answer.related
    if pause_at == "write":
        assert _schemas(pg_settings.database_url) == schemas_before  # the half-written version vanished

    report = ingest(pg_settings, embedder=FakeEmbedder())
    assert report.ok and report.documents_embedded == 1
    assert store.current_version() == report.version_id != first.version_id
    assert store.open().manifest.document("nieuw.md") is not None
