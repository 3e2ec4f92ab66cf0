"""Two server workers sharing one data directory: every upload indexed, one job state, no failed request.

``python -m bots.cli serve --workers 2`` runs as a subprocess on a free 127.0.0.1 port, on a copy of
the real-model index (the model linked in, not copied). Every response names its worker in
``X-Wegwijzer-Worker``. While client threads keep asking, three uploads with ``?reindex=true`` arrive
in quick succession on fresh connections (so both workers take some); all three documents must end
up answerable on both workers, both workers must report the same job state, and both must switch to
the new version without a failed request. The clients pause briefly between questions and the jobs
run at nice 0 (tests/conftest.py), so that they are not starved on two cores shared with the other test
worker (bench/reindex_load.py --workers 2 asks without pause and runs the defaults).
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

from .logcheck import TEXT_LINE, log_roles
from .web_process import child_pids, wegwijzer_serve
from .web_support import copy_index

pytestmark = [pytest.mark.real_model, pytest.mark.timeout(900)]

TOKEN = "twee-werkers-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
WORKER = "x-wegwijzer-worker"
QUESTIONS = [
    "Wat kan een stad doen als de financiële middelen beperkt zijn?",
    "Wat vraagt de VVSG over inburgering?",
    "Hoe betrek je nieuwkomers bij het lokaal beleid?",
]
# (file, text, question, a word the answer must hold): each fact is in one upload only
UPLOADS = [
    ("repair-cafe.md", "# Repair Café De Schroevendraaier\n\nIn het Repair Café De Schroevendraaier herstellen "
     "vrijwilligers samen met buurtbewoners en nieuwkomers kapotte toestellen, fietsen en kleding. Het Repair Café "
     "is open op de eerste zaterdag van de maand, van 13 tot 17 uur, in de refter van basisschool De Linde.\n",
     "Wanneer is het Repair Café De Schroevendraaier open?", "zaterdag"),
    ("fietsatelier.md", "# Fietsatelier Spaak\n\nIn Fietsatelier Spaak leren nieuwkomers fietsen en hun fiets "
     "onderhouden. Het atelier is open elke woensdagnamiddag van 14 tot 17 uur in de oude brandweerkazerne aan "
     "de Veldstraat; lesfietsen en helmen zijn er gratis te leen.\n",
     "Wanneer is Fietsatelier Spaak open?", "woensdagnamiddag"),
    ("buurtkeuken.md", "# Buurtkeuken Peper\n\nBuurtkeuken Peper kookt elke donderdagmiddag een betaalbare maaltijd "
     "in het parochiecentrum Sint-Anna. Nieuwkomers en buurtbewoners koken er samen; een maaltijd kost 4 euro, "
     "met de UiTPAS met kansentarief 1 euro.\n",
     "Hoeveel kost een maaltijd in Buurtkeuken Peper?", "4 euro"),
]
DAYS = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag"]
ACTIVITIES = ["voorleesuur", "buurtwandeling", "kookatelier", "fietsles", "spelnamiddag", "naaiatelier"]
CLIENT_THREADS = 3
PAUSE_S = 0.1  # each client's pause between an answer and its next question
MAX_WAIT_S = 300.0


def wijkprojecten(n: int = 30) -> str:
    """Padding for the first upload, so the first job embeds for a while and the other uploads arrive during it."""
    parts = ["\n## Wijkprojecten\n"]
    for i in range(1, n + 1):
        parts.append(f"### Wijkproject {i}\n\nIn wijk {i} organiseert de stad elke {DAYS[i % 5]} een "
                     f"{ACTIVITIES[i % 6]} voor bewoners en nieuwkomers. Vrijwilligers uit wijk {i} begeleiden "
                     f"de deelnemers; inschrijven kan bij het buurthuis van wijk {i} of via de stadswinkel.\n")
    return "\n".join(parts)


def _fresh(url: str) -> httpx.Client:
    """A client that opens a new connection for every request, so the kernel spreads them over the workers."""
    return httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0))


def _connection_per_worker(url: str, tries: int = 50) -> dict[str, httpx.Client]:
    """One keep-alive client per worker (a connection stays with the worker that accepted it)."""
    conns: dict[str, httpx.Client] = {}
    for _ in range(tries):
        client = httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1))
        worker = client.get("/healthz").headers[WORKER]
        if worker in conns:
            client.close()
        else:
            conns[worker] = client
        if len(conns) == 2:
            return conns
    for client in conns.values():
        client.close()
    raise AssertionError(f"could not reach two workers in {tries} connections")


def _until_both(url: str, call: Any, accept: Any, limit: int = 2000) -> dict[str, Any]:
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


def test_two_workers_index_every_upload_report_one_job_state_and_switch_without_a_failed_request(
        settings: Settings, real_index_settings: Settings, models_dir: Path, tmp_path: Path) -> None:
    s = copy_index(real_index_settings, settings)
    (s.data_dir / "models").symlink_to(models_dir.resolve(), target_is_directory=True)
    t_start = time.monotonic()
    with wegwijzer_serve(s.data_dir, s.corpus_dir, tmp_path / "server-log", workers=2,
                         WEGWIJZER_ADMIN_TOKEN=TOKEN, WEGWIJZER_WATCH="0",
                         WEGWIJZER_ASK_RATE_LIMIT="0") as server:  # clients asking all the time from one address
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
                    stop.wait(PAUSE_S)

        loops = [threading.Thread(target=ask_loop, args=(k,), daemon=True) for k in range(CLIENT_THREADS)]
        for t in loops:
            t.start()
        try:
            deadline = time.monotonic() + 60  # both workers answer on the old version first
            while {w for _, w, v in answers if v == old_version} != workers:
                assert time.monotonic() < deadline and not failures, failures
                time.sleep(0.1)
            # three uploads with ?reindex=true in quick succession, taken by alternating workers; the 2nd and
            # 3rd arrive once the first job has read the corpus (as seen through the other worker)
            conns = _connection_per_worker(url)
            order = sorted(conns)
            tickets: list[tuple[str, dict[str, Any]]] = []
            try:
                for k, (name, text, _, _) in enumerate(UPLOADS):
                    admin = conns[order[k % 2]]
                    body = text + (wijkprojecten() if k == 0 else "")
                    up = admin.post("/api/admin/documents", params={"reindex": "true"}, headers=ADMIN,
                                    files={"file": (name, body.encode(), "text/markdown")})
                    assert up.status_code == 201, up.text
                    tickets.append((up.headers[WORKER], up.json()["reindex"]))
                    if k == 0:
                        first_id = up.json()["reindex"]["job"]["id"]
                        deadline = time.monotonic() + MAX_WAIT_S
                        while conns[order[1]].get(f"/api/admin/reindex/{first_id}",
                                                  headers=ADMIN).json()["read_at"] is None:
                            assert time.monotonic() < deadline
                            conns[order[0]].get("/healthz")  # an idle keep-alive connection gets closed
                            time.sleep(0.05)
            finally:
                for conn in conns.values():
                    conn.close()
            assert [w for w, _ in tickets] == [order[0], order[1], order[0]]
            job_ids = list(dict.fromkeys(tk["job"]["id"] for _, tk in tickets))
            # the first runs; the other two, from two workers, join one follow-up behind it
            assert len(job_ids) == 2 and tickets[1][1]["job"]["id"] == tickets[2][1]["job"]["id"], tickets
            assert tickets[1][1]["queued_behind"] == tickets[2][1]["queued_behind"] == job_ids[0]
            # every job is known to both workers right away: the state is shared, not per worker
            for job_id in job_ids:
                seen = _until_both(url, lambda c, j=job_id: c.get(f"/api/admin/reindex/{j}", headers=ADMIN),
                                   lambda r: r.status_code == 200)
                assert set(seen) == workers, (job_id, seen)
            jobs: dict[str, dict[str, Any]] = {}
            deadline = time.monotonic() + MAX_WAIT_S
            with _fresh(url) as admin:
                while len(jobs) < len(job_ids):
                    for job_id in job_ids:
                        job = admin.get(f"/api/admin/reindex/{job_id}", headers=ADMIN).json()
                        if job["state"] in ("done", "failed"):
                            jobs[job_id] = job
                    assert time.monotonic() < deadline, "the re-index jobs did not finish"
                    time.sleep(0.2)
            assert all(j["state"] == "done" for j in jobs.values()), jobs
            last = jobs[job_ids[-1]]
            new_version = last["report"]["version_id"]
            assert jobs[job_ids[1]]["requests"] == 2 and last["report"]["documents"] == 8
            # both workers move to the new version while the clients keep asking
            deadline = time.monotonic() + 60
            while {w for t0, w, v in answers if v == new_version and t0 > last["finished_at"]} != workers:
                assert time.monotonic() < deadline, "a worker kept the old version"
                time.sleep(0.1)
            time.sleep(1.0)
        finally:
            stop.set()
            for t in loops:
                t.join(timeout=90)

        first = jobs[job_ids[0]]
        during = [a for a in answers if first["started_at"] <= a[0] <= last["finished_at"]]
        by_worker = Counter(w for _, w, _ in answers)
        print(f"\ntwo workers {sorted(workers)} up in {startup_s:.1f} s; uploads answered by "
              f"{[w for w, _ in tickets]} -> jobs {[(j, jobs[j]['requests']) for j in job_ids]}; {len(answers)} "
              f"answers ({dict(by_worker)}), {len(during)} while re-indexing for "
              f"{last['finished_at'] - first['started_at']:.1f} s; slowest answer {max(latencies):.2f} s; "
              f"failures: {len(failures)}")
        assert failures == []
        assert during, "no question was answered while re-indexing"
        for w in workers:
            versions = [v for _, worker, v in answers if worker == w]
            assert versions[0] == old_version and versions[-1] == new_version, (w, versions[:3], versions[-3:])

        # the job state is the same from both workers
        statuses = _until_both(url, lambda c: c.get("/api/admin/status", headers=ADMIN),
                               lambda r: r.status_code == 200)
        assert set(statuses) == workers
        reindex = [r.json()["reindex"] for r in statuses.values()]
        assert reindex[0] == reindex[1] and reindex[0]["current"]["id"] == job_ids[-1]

        # every upload is answerable on both workers
        for name, _, question, needle in UPLOADS:
            found = _until_both(url, lambda c, q=question: c.post("/api/ask", json={"question": q}),
                                lambda r: r.status_code == 200)
            assert set(found) == workers
            for w, r in found.items():
                body = r.json()
                assert body["index_version"] == new_version, w
                assert body["found"] is True and body["citations"][0]["source"] == name, (w, name, body)
                assert needle in body["text"] or needle in body["citations"][0]["text"]

    # one log format in the supervisor, both spawned workers (their access logs) and the job processes
    roles = log_roles(server.err_path.read_text(errors="replace"))
    assert roles["wegwijzer-web uvicorn.access"] and roles["wegwijzer-web uvicorn.error"], roles
    assert roles["wegwijzer-job ingest.jobs"] >= len(job_ids), roles
    pids = {int(m.group(3)) for line in server.err_path.read_text().splitlines()
            if (m := TEXT_LINE.match(line)) and " uvicorn.access: " in line}
    assert pids == {int(w) for w in workers}, (pids, workers)  # each worker logs its own requests
