"""Answers while re-indexing: 8 clients ask over HTTP while an admin upload adds ~100 passages.

    .venv/bin/python bench/reindex_load.py                 # one worker, one upload of ~100 passages
    .venv/bin/python bench/reindex_load.py --workers 2     # two workers, three uploads in quick succession
    .venv/bin/python bench/reindex_load.py --ingest-nice 0 --ingest-threads 2   # the job at full strength

A real `wegwijzer serve` (real model) on 127.0.0.1 and a throw-away copy of the shipped corpus. The
clients ask without pause; a few seconds in, the admin uploads with `?reindex=true` and follows the
job by id. Printed: errors, latency p50/p95/max overall and while the job ran, the longest stall (the
longest time in which no answer arrived), the job's duration and peak memory, whether every upload
was indexed and is answerable on every worker, and whether every worker reported the same job state.
Goal (issue 9): 0 errors and no answer slower than 1 s. The watcher is off (WEGWIJZER_WATCH=0) so that
only the admin requests start jobs; bounded by --max-seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
import httpx

TOKEN = "bench-reindex-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
WORKER = "x-wegwijzer-worker"
QUESTIONS = [
    "Wat kan een stad doen als de financiële middelen beperkt zijn?",
    "Wat vraagt de VVSG aan de Vlaamse overheid over inburgering?",
    "Hoe betrek je nieuwkomers bij het lokaal integratiebeleid?",
    "Wanneer vond de studiedag over participatief integratiebeleid plaats?",
    "Welke werksessies waren er op de inspiratiedag van het Plan Samenleven?",
    "Wat is een stad voor iedereen volgens IncluCities?",
]
DAYS = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"]
ACTIVITIES = ["voorleesuur", "buurtwandeling", "kookatelier", "fietsles", "spelnamiddag", "naaiatelier",
              "taalwandeling", "repair café", "moestuinploeg", "huiswerkklas"]
PLACES = ["het buurthuis", "de bibliotheek", "het wijkcentrum", "de sporthal", "het dienstencentrum"]
# (name, where, when): one fact per uploaded document that no other document holds
FACTS = [("Taalcafé Klinkaard", "de stadsbibliotheek", "elke dinsdagavond van 19 tot 21 uur"),
         ("Fietsatelier Spaak", "de oude brandweerkazerne", "elke woensdagnamiddag van 14 tot 17 uur"),
         ("Buurtkeuken Peper", "het parochiecentrum Sint-Anna", "elke donderdagmiddag van 12 tot 14 uur")]


def document(n: int, sections: int) -> str:
    """A policy-like Markdown document of ``sections`` ~900-character sections, holding fact ``n``."""
    name, where, when = FACTS[n]
    parts = [f"# Wijkwerking {n + 1}: projecten van de dienst Samenleven\n",
             f"## {name}\n\n{name} is een ontmoetingsplek in {where} waar nieuwkomers en buurtbewoners "
             f"elkaar leren kennen. {name} vindt plaats {when}. Deelnemen is gratis en inschrijven is "
             "niet nodig; vrijwilligers van de dienst Samenleven ontvangen iedereen.\n"]
    for i in range(1, sections):
        act, day, place = ACTIVITIES[(i + n) % len(ACTIVITIES)], DAYS[i % len(DAYS)], PLACES[i % len(PLACES)]
        parts.append(
            f"## Wijkproject {n + 1}.{i}: {act} in wijk {i}\n\n"
            f"In wijk {i} organiseert de stad elke {day} een {act} in {place}. Het project richt zich op "
            f"bewoners en nieuwkomers die hun buurt beter willen leren kennen, en op ouders met jonge kinderen. "
            f"Vrijwilligers uit wijk {i} begeleiden de deelnemers; zij volgden een korte opleiding over "
            f"onthaal, meertaligheid en omgaan met vragen over huisvesting, werk en onderwijs. "
            f"Inschrijven kan bij {place} of via de stadswinkel, en wie geen vervoer heeft, kan rekenen op "
            f"een buurtbus die op {day} langs de haltes van wijk {i} rijdt. "
            f"De dienst Samenleven evalueert het project elk half jaar met de deelnemers, de vrijwilligers en "
            f"de partners uit het middenveld, en past de werking aan waar dat nodig is. "
            f"In {2020 + i % 5} namen {20 + 3 * i} mensen deel aan de {act} in wijk {i}.\n")
    return "\n".join(parts)


def passages_in(text: str) -> int:
    from assistant.types import Page
    from ingest.chunking import chunk_pages

    return len(chunk_pages([Page(source="x.md", page=None, text=text)]))


def question_for(n: int) -> str:
    return f"Wanneer vindt {FACTS[n][0]} plaats?"


# ---------------------------------------------------------------- the server


def start(workers: int, nice: int, threads: int, tmp: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    data = tmp / "data"
    data.mkdir()
    common.SHARED_MODELS.mkdir(parents=True, exist_ok=True)
    (data / "models").symlink_to(common.SHARED_MODELS, target_is_directory=True)
    corpus = tmp / "corpus"
    shutil.copytree(common.CORPUS, corpus)
    env = {**os.environ, "WEGWIJZER_DATA_DIR": str(data), "WEGWIJZER_CORPUS_DIR": str(corpus),
           "WEGWIJZER_ADMIN_TOKEN": TOKEN, "WEGWIJZER_WATCH": "0", "WEGWIJZER_INGEST_NICE": str(nice),
           "WEGWIJZER_INGEST_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "WEGWIJZER_ASK_RATE_LIMIT": "0"}  # the clients all ask from 127.0.0.1: measure, don't throttle
    print(f"indexing the shipped corpus into {data} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "bots.cli", "ingest", "-q"], cwd=common.REPO, env=env, check=True,
                   stdout=sys.stderr)
    port = free_port()
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "bots.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)], cwd=common.REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}", corpus


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh(url: str) -> httpx.Client:
    """A new connection per request, so the kernel spreads requests over the workers."""
    return httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0))


def from_every_worker(url: str, workers: int, path: str, deadline_s: float = 120) -> dict[str, httpx.Response]:
    """GET ``path`` until each of ``workers`` workers answered 200; by worker pid."""
    seen: dict[str, httpx.Response] = {}
    deadline = time.monotonic() + deadline_s
    with fresh(url) as c:
        while len(seen) < workers and time.monotonic() < deadline:
            try:
                r = c.get(path, headers=ADMIN)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            if r.status_code == 200:
                seen.setdefault(r.headers[WORKER], r)
            else:
                time.sleep(0.1)
    return seen


# ---------------------------------------------------------------- the run


async def clients(url: str, n: int, stop: asyncio.Event, log: list[tuple[float, float, str, str]]) -> None:
    """``n`` clients asking in a loop; log (start, seconds, error or "", worker)."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        async def one(k: int) -> None:
            i = k
            while not stop.is_set():
                t0 = time.time()
                try:
                    r = await client.post("/api/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
                    err = "" if r.status_code == 200 else f"HTTP {r.status_code}"
                    worker = r.headers.get(WORKER, "")
                except httpx.HTTPError as exc:
                    err, worker = type(exc).__name__, ""
                log.append((t0, time.time() - t0, err, worker))
                i += 1

        await asyncio.gather(*(one(k) for k in range(n)))


def admin_run(url: str, workers: int, uploads: int, sections: int, log_event: Any,
              max_seconds: float) -> dict[str, Any]:
    """Upload ``uploads`` documents with ?reindex=true in quick succession; wait for their jobs."""
    tickets = []
    t_upload = time.time()
    with fresh(url) as c:
        for n in range(uploads):
            r = c.post("/api/admin/documents", params={"reindex": "true"}, headers=ADMIN,
                       files={"file": (f"wijkwerking-{n + 1}.md", document(n, sections).encode(), "text/markdown")})
            r.raise_for_status()
            tickets.append((r.headers[WORKER], r.json()["reindex"]))
    log_event(f"{uploads} upload(s) answered in {time.time() - t_upload:.2f} s by worker(s) "
              f"{sorted({w for w, _ in tickets})}: " + "; ".join(tk["message"] for _, tk in tickets))
    job_ids = list(dict.fromkeys(tk["job"]["id"] for _, tk in tickets))
    jobs: dict[str, dict[str, Any]] = {}
    seen_by: dict[str, set[str]] = {j: set() for j in job_ids}  # which workers could read each job
    deadline = time.monotonic() + max_seconds
    with fresh(url) as c:
        while time.monotonic() < deadline:
            for job_id in job_ids:
                r = c.get(f"/api/admin/reindex/{job_id}", headers=ADMIN)
                if r.status_code == 200:
                    seen_by[job_id].add(r.headers[WORKER])
                    jobs[job_id] = r.json()
            if all(jobs.get(j, {}).get("state") in ("done", "failed") for j in job_ids):
                break
            time.sleep(0.2)
    return {"t_upload": t_upload, "tickets": tickets, "jobs": [jobs.get(j, {"id": j, "state": "unknown"})
                                                                 for j in job_ids],
            "job_seen_by_workers": {j: len(w) for j, w in seen_by.items()}}


def answerable(url: str, workers: int, uploads: int, version: str, deadline_s: float = 60) -> dict[str, Any]:
    """Every worker answers from ``version`` and cites each uploaded document for its question."""
    by_worker: dict[str, dict[int, bool]] = {}
    t0 = time.monotonic()
    switched_after: dict[str, float] = {}
    with fresh(url) as c:
        while time.monotonic() - t0 < deadline_s:
            for n in range(uploads):
                r = c.post("/api/ask", json={"question": question_for(n)})
                if r.status_code != 200:
                    continue
                body, worker = r.json(), r.headers[WORKER]
                if body["index_version"] != version:
                    continue  # this worker has not switched yet (it does so in the background)
                switched_after.setdefault(worker, round(time.monotonic() - t0, 2))
                cited = bool(body["found"]) and bool(body["citations"]) and \
                    body["citations"][0]["source"] == f"wijkwerking-{n + 1}.md"
                by_worker.setdefault(worker, {})[n] = cited
            if len(by_worker) >= workers and all(len(v) == uploads for v in by_worker.values()):
                break
            time.sleep(0.05)
    ok = len(by_worker) >= workers and all(all(v.values()) and len(v) == uploads for v in by_worker.values())
    return {"ok": ok, "by_worker": {w: sorted(k for k, v in d.items() if v) for w, d in by_worker.items()},
            "seconds_until_switched": switched_after}


def summarize(log: list[tuple[float, float, str, str]], start: float, end: float) -> dict[str, Any]:
    """Latency of the asks started in [start, end]; the longest stall is the longest time in that window
    in which no ask (started whenever) completed."""
    window = [r for r in log if start <= r[0] <= end]
    ok = sorted(s for _, s, e, _ in window if not e)
    errors: dict[str, int] = {}
    for _, _, e, _ in window:
        if e:
            errors[e] = errors.get(e, 0) + 1
    finishes = sorted(t0 + s for t0, s, e, _ in log if not e and start <= t0 + s <= end)
    gaps = [b - a for a, b in zip([start, *finishes], [*finishes, end], strict=True)]
    return {"requests": len(window), "errors": errors, "p50_ms": round(common.percentile(ok, 0.5) * 1000, 1),
            "p95_ms": round(common.percentile(ok, 0.95) * 1000, 1), "max_ms": round(max(ok) * 1000, 1) if ok else None,
            "over_1s": sum(1 for s in ok if s > 1.0), "longest_stall_ms": round(max(gaps) * 1000, 1) if gaps else None}


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="wegwijzer-bench-reindex-"))
    proc, url, corpus = start(args.workers, args.ingest_nice, args.ingest_threads, tmp)
    events: list[str] = []

    def event(text: str) -> None:
        events.append(text)
        print(f"  {text}", file=sys.stderr)

    try:
        ready = from_every_worker(url, args.workers, "/readyz", deadline_s=180)
        if len(ready) < args.workers:
            raise SystemExit(f"only {len(ready)} of {args.workers} workers became ready; see {tmp}/server.log")
        old_version = next(iter(ready.values())).json()["index_version"]
        with fresh(url) as c:  # warm-up: first asks pay one-off costs
            for q in QUESTIONS * args.workers:
                c.post("/api/ask", json={"question": q})
        sections = args.passages  # one passage per ~900-character section
        per_doc = passages_in(document(0, sections))
        event(f"{args.uploads} document(s) of {per_doc} passages each; {args.clients} clients; "
              f"job nice {args.ingest_nice}, {args.ingest_threads} thread(s)")

        log: list[tuple[float, float, str, str]] = []
        result: dict[str, Any] = {}

        async def main() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(clients(url, args.clients, stop, log))
            await asyncio.sleep(args.before)
            result.update(await asyncio.to_thread(admin_run, url, args.workers, args.uploads, sections, event,
                                                  args.max_seconds))
            await asyncio.sleep(args.after)
            stop.set()
            await task

        t_start = time.time()
        asyncio.run(main())
        t_end = time.time()
        jobs = result["jobs"]
        done = [j for j in jobs if j.get("state") == "done"]
        versions = [j["report"]["version_id"] for j in done]
        final = versions[-1] if versions else old_version
        job_start = min((j["started_at"] for j in jobs if j.get("started_at")), default=t_start)
        job_end = max((j["finished_at"] for j in jobs if j.get("finished_at")), default=t_end)
        indexed = answerable(url, args.workers, args.uploads, final)
        statuses = from_every_worker(url, args.workers, "/api/admin/status")
        same = len({repr(r.json()["reindex"]) for r in statuses.values()}) == 1 and len(statuses) >= args.workers
        stored = sorted(p.name for p in corpus.glob("wijkwerking-*.md"))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    return {
        "workers": args.workers, "clients": args.clients, "uploads": args.uploads, "passages_per_document": per_doc,
        "ingest_nice": args.ingest_nice, "ingest_threads": args.ingest_threads, "cpus": os.cpu_count(),
        "loadavg_end": common.loadavg()[0],
        "overall": summarize(log, t_start, t_end),
        "before_job": summarize(log, t_start, result["t_upload"]),
        "during_job": summarize(log, job_start, job_end),
        "jobs": [{"id": j["id"], "state": j.get("state"), "requests": j.get("requests"),
                  "seconds": round(j["finished_at"] - j["started_at"], 1) if j.get("finished_at") and
                  j.get("started_at") else None,
                  "passages_embedded": (j.get("report") or {}).get("passages_embedded"),
                  "peak_rss_mb": round(j["peak_rss_kb"] / 1024) if j.get("peak_rss_kb") else None,
                  "error": j.get("error", "")} for j in jobs],
        "upload_to_last_job_done_s": round(job_end - result["t_upload"], 1),
        "job_seen_by_workers": result["job_seen_by_workers"],
        "uploads_answerable": indexed, "uploads_stored": stored,
        "status_identical_on_workers": same, "events": events,
    }


def to_markdown(runs: list[dict[str, Any]]) -> str:
    """The "Re-index under load" section of docs/benchmarks.md: intro, one table row per run, notes."""
    intro = ("`bench/reindex_load.py`: a real `wegwijzer serve` on 127.0.0.1 (watcher off), "
             f"{runs[0]['clients']} clients asking without pause; after a no-job baseline the admin uploads "
             "documents of about 100 passages in all with `?reindex=true` (one upload with one worker, three in "
             "quick succession through alternating connections with two). The re-index runs in its own job "
             "process; \"job\" gives its priority and compute threads. Goal (issue 9): 0 errors and no answer "
             "slower than 1 s. The longest stall is the longest time in which no answer arrived.")
    notes = []
    for r in runs:
        jobs = ", ".join(f"{j['state']} in {j['seconds']} s ({j['passages_embedded']} passages, {j['requests']} "
                         f"request(s), peak RSS {j['peak_rss_mb']} MB)" for j in r["jobs"])
        over = r["overall"]["over_1s"]
        notes.append(f"- {r['workers']} worker(s), job nice {r['ingest_nice']} / {r['ingest_threads']} thread(s): "
                     f"jobs {jobs}; answers over 1 s: {over}; every job readable from "
                     f"{max(r['job_seen_by_workers'].values(), default=0)} worker(s); load average at the end "
                     f"{r['loadavg_end']}.")
    return "\n".join([intro, "", table(runs), "", *notes])


def table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for r in runs:
        o, b, d = r["overall"], r["before_job"], r["during_job"]
        rows.append([r["workers"], f"{r['uploads']} × {r['passages_per_document']}",
                     f"nice {r['ingest_nice']}, {r['ingest_threads']} thr", o["requests"], sum(o["errors"].values()),
                     f"{b['p50_ms']} / {b['p95_ms']}", d["p50_ms"], d["p95_ms"], d["max_ms"], o["max_ms"],
                     o["longest_stall_ms"],
                     " + ".join(f"{j['seconds']}" for j in r["jobs"]), r["upload_to_last_job_done_s"],
                     "yes" if r["uploads_answerable"]["ok"] else "**no**",
                     "yes" if r["status_identical_on_workers"] else "**no**"])
    return common.md_table(["workers", "uploads × passages", "job", "asks", "errors", "p50 / p95 ms before",
                            "p50 ms during job", "p95 ms during job", "max ms during job", "max ms overall",
                            "longest stall ms", "job s",
                            "upload → indexed s", "all answerable", "same status"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--uploads", type=int, default=None, help="documents uploaded (default: 1, or 3 with 2+ "
                        "workers)")
    parser.add_argument("--passages", type=int, default=None, help="passages per document (default: ~100 in all)")
    parser.add_argument("--ingest-nice", type=int, default=10)
    parser.add_argument("--ingest-threads", type=int, default=1)
    parser.add_argument("--before", type=float, default=20.0,
                        help="seconds of asking before the upload (the same run's no-job baseline)")
    parser.add_argument("--after", type=float, default=3.0, help="seconds of asking after the last job")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="cap on waiting for the jobs")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--markdown", action="store_true", help="also print the result as a Markdown table row")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 8 or not 1 <= args.clients <= 64:
        parser.error("--workers 1..8, --clients 1..64")
    args.uploads = args.uploads or (3 if args.workers > 1 else 1)
    if not 1 <= args.uploads <= len(FACTS):
        parser.error(f"--uploads 1..{len(FACTS)}")
    args.passages = args.passages or max(1, 100 // args.uploads)
    print(f"machine: {os.cpu_count()} CPUs, load average {common.loadavg()}", file=sys.stderr)
    r = run(args)
    common.write_json(r, args.json_out)
    o, b, d = r["overall"], r["before_job"], r["during_job"]
    print(f"\nPOST /api/ask × {r['clients']} clients, {r['workers']} worker(s), while {r['uploads']} upload(s) of "
          f"{r['passages_per_document']} passages were re-indexed (job nice {r['ingest_nice']}, "
          f"{r['ingest_threads']} thread(s)):")
    print(f"  overall:    {o['requests']} asks, errors {o['errors'] or 0}, p50 {o['p50_ms']} ms, p95 {o['p95_ms']} ms, "
          f"max {o['max_ms']} ms, over 1 s: {o['over_1s']}, longest stall {o['longest_stall_ms']} ms")
    print(f"  before job: {b['requests']} asks, errors {b['errors'] or 0}, p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms, "
          f"max {b['max_ms']} ms, over 1 s: {b['over_1s']}, longest stall {b['longest_stall_ms']} ms")
    print(f"  during job: {d['requests']} asks, errors {d['errors'] or 0}, p50 {d['p50_ms']} ms, p95 {d['p95_ms']} ms, "
          f"max {d['max_ms']} ms, over 1 s: {d['over_1s']}, longest stall {d['longest_stall_ms']} ms")
    for j in r["jobs"]:
        print(f"  job {j['id']}: {j['state']}, {j['requests']} request(s), {j['seconds']} s, "
              f"{j['passages_embedded']} passages embedded, peak RSS {j['peak_rss_mb']} MB {j['error']}")
    print(f"  upload → last job done: {r['upload_to_last_job_done_s']} s; every job visible from "
          f"{r['job_seen_by_workers']} worker(s)")
    a = r["uploads_answerable"]
    print(f"  uploads answerable on every worker: {a['ok']} {a['by_worker']} "
          f"(switched after {a['seconds_until_switched']} s)")
    print(f"  /api/admin/status job state identical on every worker: {r['status_identical_on_workers']}")
    print(f"  load average at the end: {r['loadavg_end']}")
    if args.markdown:
        print(table([r]))
    good = (not o["errors"] and o["over_1s"] == 0 and r["uploads_answerable"]["ok"]
            and r["status_identical_on_workers"])
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
