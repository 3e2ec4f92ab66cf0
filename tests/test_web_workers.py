"""Two server worker processes sharing one data directory both switch to a new index, with no failed request.

``python -m bots.cli serve --workers 2`` runs as a subprocess on a free 127.0.0.1 port, on a copy of
the real-model index (the model linked in, not copied). Every response names its worker in
``X-Wegwijzer-Worker``. While client threads keep asking, one worker takes an upload and re-indexes;
both workers must then answer from the new version, and the new document must be answerable on both.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.config import Settings

from .web_process import ServerProcess, child_pids, free_port
from .web_support import copy_index

pytestmark = [pytest.mark.real_model, pytest.mark.timeout(300)]

TOKEN = "twee-werkers-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
WORKER = "x-wegwijzer-worker"
QUESTIONS = [
    "Wat kan een stad doen als de financiële middelen beperkt zijn?",
    "Wat vraagt de VVSG over inburgering?",
    "Hoe betrek je nieuwkomers bij het lokaal beleid?",
]
NEW_DOCUMENT = """# Repair Café De Schroevendraaier

In het Repair Café De Schroevendraaier herstellen vrijwilligers samen met buurtbewoners en nieuwkomers
kapotte toestellen, fietsen en kleding. Het Repair Café is open op de eerste zaterdag van de maand,
van 13 tot 17 uur, in de refter van basisschool De Linde. Meebrengen wat stuk is volstaat; herstellen is gratis.
"""
NEW_QUESTION = "Wanneer is het Repair Café De Schroevendraaier open?"
DAYS = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag"]
ACTIVITIES = ["voorleesuur", "buurtwandeling", "kookatelier", "fietsles", "spelnamiddag", "naaiatelier"]


def wijkprojecten(n: int = 60) -> str:
    """A longer document, so the re-index takes a few seconds of embedding while the clients ask."""
    parts = ["# Wijkprojecten van de dienst Samenleven\n"]
    for i in range(1, n + 1):
        parts.append(f"## Wijkproject {i}\n\nIn wijk {i} organiseert de stad elke {DAYS[i % 5]} een "
                     f"{ACTIVITIES[i % 6]} voor bewoners en nieuwkomers. Vrijwilligers uit wijk {i} begeleiden "
                     f"de deelnemers; inschrijven kan bij het buurthuis van wijk {i} of via de stadswinkel.\n")
    return "\n".join(parts)
CLIENT_THREADS = 3
MAX_WAIT_S = 120.0


def _fresh(url: str) -> httpx.Client:
    """A client that opens a new connection for every request, so the kernel spreads them over the workers."""
    return httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0))


def _until_both(url: str, call: Any, accept: Any, limit: int = 400) -> dict[str, Any]:
    """Repeat ``call`` on fresh connections until two workers gave an accepted response; by worker."""
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + MAX_WAIT_S
    with _fresh(url) as client:
        for _ in range(limit):
            r = call(client)
            if accept(r):
                seen.setdefault(r.headers[WORKER], r)
            if len(seen) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    return seen


def test_two_workers_share_the_data_dir_and_both_switch_without_a_failed_request(
        settings: Settings, real_index_settings: Settings, models_dir: Path, tmp_path: Path) -> None:
    s = copy_index(real_index_settings, settings)
    (s.data_dir / "models").symlink_to(models_dir.resolve(), target_is_directory=True)
    port = free_port()
    env = {"WEGWIJZER_DATA_DIR": str(s.data_dir), "WEGWIJZER_CORPUS_DIR": str(s.corpus_dir),
           "WEGWIJZER_ADMIN_TOKEN": TOKEN, "WEGWIJZER_CORS_ORIGINS": "",
           "WEGWIJZER_ASK_RATE_LIMIT": "0"}  # three clients asking non-stop from one address
    args = ["-m", "bots.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    t_start = time.monotonic()
    with ServerProcess(args, tmp_path / "server-log", env=env, port=port) as server:
        url = server.url
        # both workers up (the second may still be loading the model when the first answers)
        ready = _until_both(url, lambda c: c.get("/readyz"), lambda r: r.status_code == 200)
        workers = set(ready)
        assert len(workers) == 2, f"only {workers} answered: {server.log()}"
        assert workers <= {str(p) for p in child_pids(server.pid)}
        old = {r.json()["index_version"] for r in ready.values()}
        assert len(old) == 1
        old_version = old.pop()
        startup_s = time.monotonic() - t_start

        answers: list[tuple[float, str, str]] = []  # (time asked, worker, index version)
        latencies: list[float] = []
        failures: list[str] = []
        stop = threading.Event()

        def ask_loop(offset: int) -> None:
            with _fresh(url) as client:
                i = offset
                deadline = time.monotonic() + 4 * MAX_WAIT_S
                while not stop.is_set() and time.monotonic() < deadline:
                    t0 = time.time()
                    try:
                        r = client.post("/api/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
                        if r.status_code == 200 and r.json()["citations"]:
                            answers.append((t0, r.headers[WORKER], r.json()["index_version"]))
                            latencies.append(time.time() - t0)
                        else:
                            failures.append(f"{r.status_code} {r.text[:200]}")
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))
                    i += 1

        loops = [threading.Thread(target=ask_loop, args=(k,), daemon=True) for k in range(CLIENT_THREADS)]
        for t in loops:
            t.start()
        try:
            deadline = time.monotonic() + 30  # both workers answer on the old version first
            while {w for _, w, v in answers if v == old_version} != workers:
                assert time.monotonic() < deadline and not failures, failures
                time.sleep(0.1)
            # one keep-alive connection: the upload, the re-index and its status come from the same worker
            with httpx.Client(base_url=url, timeout=60) as admin:
                up = admin.post("/api/admin/documents", headers=ADMIN,
                                files={"file": ("wijkprojecten.md", wijkprojecten().encode(), "text/markdown")})
                assert up.status_code == 201, up.text
                up = admin.post("/api/admin/documents", params={"reindex": "true"}, headers=ADMIN,
                                files={"file": ("repair-cafe.md", NEW_DOCUMENT.encode(), "text/markdown")})
                assert up.status_code == 201, up.text
                indexer = up.headers[WORKER]
                deadline = time.monotonic() + MAX_WAIT_S
                while True:
                    status = admin.get("/api/admin/status", headers=ADMIN)
                    job = status.json()["reindex"]
                    if status.headers[WORKER] == indexer and job["state"] != "running":
                        break
                    assert time.monotonic() < deadline, "re-index did not finish"
                    time.sleep(0.1)
            assert job["state"] == "done", job
            assert job["report"]["documents_embedded"] == 2 and job["report"]["documents_reused"] == 5
            new_version = job["report"]["version_id"]
            # both workers move to the new version while the clients keep asking (the other one within ~1 s)
            deadline = time.monotonic() + 30
            while {w for t0, w, v in answers if v == new_version and t0 > job["finished_at"]} != workers:
                assert time.monotonic() < deadline, "a worker kept the old version"
                time.sleep(0.1)
            time.sleep(1.0)
        finally:
            stop.set()
            for t in loops:
                t.join(timeout=90)

        during = [a for a in answers if job["started_at"] <= a[0] <= job["finished_at"]]
        by_worker = Counter(w for _, w, _ in answers)
        print(f"\ntwo workers {sorted(workers)} up in {startup_s:.1f} s; {len(answers)} answers "
              f"({dict(by_worker)}), {len(during)} while re-indexing for "
              f"{job['finished_at'] - job['started_at']:.2f} s on worker {indexer}; slowest answer "
              f"{max(latencies):.2f} s; failures: {len(failures)}")
        assert failures == []
        assert during, "no question was answered while re-indexing"
        for w in workers:
            versions = [v for _, worker, v in answers if worker == w]
            assert versions[0] == old_version and versions[-1] == new_version, (w, versions[:3], versions[-3:])
        assert new_version != old_version

        # the new document is answerable on both workers
        found = _until_both(url, lambda c: c.post("/api/ask", json={"question": NEW_QUESTION}),
                            lambda r: r.status_code == 200)
        assert set(found) == workers
        for w, r in found.items():
            body = r.json()
            assert body["index_version"] == new_version, w
            assert body["found"] is True and body["citations"][0]["source"] == "repair-cafe.md", (w, body)
            assert "zaterdag" in body["text"] or "zaterdag" in body["citations"][0]["text"]
