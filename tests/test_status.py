"""`wegwijzer status` reads like a sentence for a person; `--json` keeps the JSON scripts rely on (issue 20)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant.config import REPO_ROOT, Settings
from bots.status import collect, render, when
from ingest.jobstate import Job, JobQueue, open_jobs

pytestmark = pytest.mark.timeout(120)

JSON_KEYS = {"version", "format_version", "created_at", "documents", "passages", "sentences", "model",
             "last_ingest", "reindex_job", "reindex_next"}


def _cli(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WEGWIJZER_DATA_DIR": str(settings.data_dir),
            "WEGWIJZER_CORPUS_DIR": str(settings.corpus_dir), "TZ": "Europe/Brussels", **env}
    return subprocess.run([sys.executable, "-m", "bots.cli", "status", *args], env=full, capture_output=True,
                          text=True, timeout=90)


def test_status_for_a_person_names_version_local_time_counts_and_settings(fake_index: Settings) -> None:
    out = _cli(fake_index, WEGWIJZER_LLM_URL="http://127.0.0.1:9/v1", WEGWIJZER_LLM_MODEL="klein")
    assert out.returncode == 0, out.stderr
    data = json.loads(_cli(fake_index, "--json").stdout)
    assert set(data) == JSON_KEYS
    text = out.stdout
    created = datetime.fromtimestamp(data["created_at"], ZoneInfo("Europe/Brussels")).strftime("%Y-%m-%d %H:%M (%Z)")
    assert f"Gepubliceerde index: {data['version']}, gemaakt op {created}" in text, text  # local time, not UTC
    assert f"{data['documents']} documenten, {data['passages']} passages" in text
    assert "Overgeslagen documenten: geen" in text and "nog geen herindexering gevraagd" in text
    assert f"bestanden in {fake_index.data_dir}" in text and "klein via http://127.0.0.1:9/v1" in text
    assert "{" not in text and str(int(data["created_at"])) not in text  # no JSON, no epoch seconds


def test_skipped_documents_jobs_and_a_database_are_told(fake_index: Settings) -> None:
    status = collect(fake_index)
    assert status is not None
    now = time.time()
    status["last_ingest"] = {**status["last_ingest"], "skipped": [
        {"source": "scan.pdf", "reason": "geen tekstlaag (een scan zonder OCR)"}]}
    running = Job(id="j-running", state="running", requested_at=now - 9, started_at=now - 8)
    running = Job.from_dict({**running.to_dict(), "progress": {"phase": "documents", "documents_done": 2,
                                                               "documents_total": 6}})
    status["reindex_job"] = running.to_dict()
    status["reindex_next"] = Job(id="j-next", state="queued", requested_at=now, requests=3).to_dict()
    settings = fake_index.with_(database_url="postgresql://wegwijzer:geheim@db.example:5432/wegwijzer")
    text = render(status, settings)
    assert "Overgeslagen documenten (1):\n  - scan.pdf: geen tekstlaag (een scan zonder OCR)" in text
    assert f"j-running loopt sinds {when(now - 8)}: 2 van 6 documenten gelezen" in text
    assert "daarna volgt j-next (3 aanvragen samen)" in text
    assert "PostgreSQL, postgresql://wegwijzer@db.example:5432/wegwijzer" in text and "geheim" not in text
    status["reindex_job"] = Job(id="j-failed", state="failed", requested_at=now, finished_at=now,
                                error="De documentenmap is leeg.").to_dict()
    assert f"laatste: j-failed mislukt op {when(now)}: De documentenmap is leeg." in render(status, settings)


def test_status_reads_the_shared_job_state_without_changing_it(fake_index: Settings) -> None:
    store = open_jobs(fake_index)
    job = Job(id="j1", state="done", requested_at=1.0, started_at=2.0, finished_at=5.5)
    store.update(lambda queue: JobQueue().with_current(job))
    before = (fake_index.index_dir / "job.json").read_bytes()
    out = _cli(fake_index)
    assert "laatste: j1 klaar op 1970-01-01 01:00 (CET) (duurde 3.5 s)" in out.stdout, out.stdout
    assert (fake_index.index_dir / "job.json").read_bytes() == before


def test_without_an_index_status_says_so_and_exits_1(settings: Settings) -> None:
    out = _cli(settings)
    assert out.returncode == 1 and "Er is nog geen index" in out.stdout and "Traceback" not in out.stderr
    assert "Opslag: bestanden in" in out.stdout
    assert _cli(settings, "--json").returncode == 1
