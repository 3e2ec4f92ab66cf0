"""Bounded HTTP load on /api/ask against 127.0.0.1: throughput and p50/p95/p99 per concurrency level.

    python bench/load_http.py                      # starts `wegwijzer serve` on a free port with a fresh index
    python bench/load_http.py --data-dir data      # ... on an existing index (no ingest)
    python bench/load_http.py --url http://127.0.0.1:8000 --pid 1234   # an already running server

Every level sends a fixed number of requests (and stops early at --max-seconds), so a run is bounded
in time and load. Only loopback addresses are accepted. The server's memory (VmRSS now, VmHWM peak)
is read from /proc when its pid is known (summed over its worker processes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Wat kan een stad doen als de financiële middelen beperkt zijn?",
    "Wat vraagt de VVSG aan de Vlaamse overheid over inburgering?",
    "Hoe betrek je nieuwkomers bij het lokaal integratiebeleid?",
    "Wanneer vond de studiedag over participatief integratiebeleid plaats?",
    "Welke werksessies waren er op de inspiratiedag van het Plan Samenleven?",
    "Hoe kan een stad samenwerken met organisaties van etnisch-culturele minderheden?",
    "Wat is een stad voor iedereen volgens IncluCities?",
    "Welke rol spelen vrijwilligers bij het onthaal van nieuwkomers?",
    "Hoe pak je discriminatie op de woningmarkt aan?",
    "What can a city do when its budget is limited?",
    "Hoe laat vertrekt de laatste trein naar Oostende?",
    "Hoe maak je het personeelsbeleid van een gemeente inclusiever?",
]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn workers are child processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                pass
    return out


def memory_mb(pid: int | None) -> dict[str, float]:
    """VmRSS and VmHWM (peak) summed over a process and its children, in MB, from /proc; empty when unknown."""
    if not pid:
        return {}
    out: dict[str, float] = {"VmRSS": 0.0, "VmHWM": 0.0}
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in out:
                    out[key] += int(value.split()[0]) / 1024
        except OSError:
            continue
    return out


async def run_level(url: str, concurrency: int, total: int, max_seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    server_ms: list[float] = []  # the assistant's own latency_ms, without HTTP and queueing
    errors: dict[str, int] = {}
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + max_seconds

        async def worker() -> None:
            nonlocal next_index
            while next_index < total and time.perf_counter() < deadline:
                i = next_index
                next_index += 1
                t0 = time.perf_counter()
                try:
                    r = await client.post("/api/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
                    key = "" if r.status_code == 200 else f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                if key:
                    errors[key] = errors.get(key, 0) + 1
                else:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    server_ms.append(float(r.json().get("latency_ms", 0.0)))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()
    server_ms.sort()
    return {
        "concurrency": concurrency, "requests": len(latencies) + sum(errors.values()), "ok": len(latencies),
        "errors": errors, "seconds": round(wall, 2), "throughput_rps": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 50), 1), "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "ask_p50_ms": round(percentile(server_ms, 50), 1), "ask_p95_ms": round(percentile(server_ms, 95), 1),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}; see its log")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{url} did not become ready within {timeout:.0f} s")


def start_server(data_dir: Path | None, workers: int, log_path: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Run `wegwijzer serve` on a free port; without a data dir, index the shipped corpus into a temp one."""
    tmp = Path(tempfile.mkdtemp(prefix="wegwijzer-bench-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if data_dir is None:
        data_dir = tmp / "data"
        data_dir.mkdir()
        models = REPO / "data" / "models"  # the materialised model is shared, as in the tests
        models.mkdir(parents=True, exist_ok=True)
        (data_dir / "models").symlink_to(models, target_is_directory=True)
        env["WEGWIJZER_DATA_DIR"] = str(data_dir)
        print(f"indexing the shipped corpus into {data_dir} ...", file=sys.stderr)
        # its report goes to stderr: stdout carries only this script's result (--json is parsed by run_all.py)
        subprocess.run([sys.executable, "-m", "bots.cli", "ingest", "-q"], cwd=REPO, env=env, check=True,
                       stdout=sys.stderr)
    env["WEGWIJZER_DATA_DIR"] = str(Path(data_dir).resolve())
    env["WEGWIJZER_ASK_RATE_LIMIT"] = "0"  # a load test is one client asking non-stop: measure, don't throttle
    port = free_port()
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "bots.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}", tmp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an already running server on a loopback address")
    parser.add_argument("--pid", type=int, help="pid of that server, for its memory")
    parser.add_argument("--data-dir", type=Path, help="use the index in this data directory (no ingest)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for the started server")
    parser.add_argument("--levels", default="1,8,32", help="concurrency levels (default 1,8,32)")
    parser.add_argument("--requests", type=int, default=200, help="requests per level (default 200)")
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per level (default 60)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if any(c < 1 or c > 256 for c in levels) or not 1 <= args.requests <= 100_000:
        parser.error("levels must be 1..256 and --requests 1..100000")

    proc = None
    tmp: Path | None = None
    log_path = Path(tempfile.gettempdir()) / "wegwijzer-bench-server.log"
    if args.url:
        host = urlsplit(args.url).hostname or ""
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            parser.error("only loopback servers are benchmarked (127.0.0.1, localhost, ::1)")
        url, pid = args.url.rstrip("/"), args.pid
    else:
        proc, url, tmp = start_server(args.data_dir, args.workers, log_path)
        pid = proc.pid
    try:
        wait_ready(url, proc)
        mem_start = memory_mb(pid)
        asyncio.run(run_level(url, 2, 10, 60))  # warm-up: first calls pay one-off costs
        results = [asyncio.run(run_level(url, c, max(args.requests, 4 * c), args.max_seconds)) for c in levels]
        mem_end = memory_mb(pid)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    report = {"url": url, "cpus": os.cpu_count(), "results": results,
              "server_memory_mb": {"start_rss": mem_start.get("VmRSS"), "end_rss": mem_end.get("VmRSS"),
                                   "peak_rss": mem_end.get("VmHWM")}}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"POST /api/ask on {url} ({os.cpu_count()} CPUs)")
    print(f"{'concurrency':>11} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
          f" {'ask() p50':>10} {'ask() p95':>10}")
    for r in results:
        errors = sum(r["errors"].values())
        print(f"{r['concurrency']:>11} {r['requests']:>8} {errors:>6} {r['throughput_rps']:>7} "
              f"{r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8} {r['ask_p50_ms']:>10} {r['ask_p95_ms']:>10}")
    mem = report["server_memory_mb"]
    if mem["end_rss"] is not None:
        print(f"server RSS: {mem['start_rss']:.0f} MB at start, {mem['end_rss']:.0f} MB after the run, "
              f"peak {mem['peak_rss']:.0f} MB")
    else:
        print("server RSS: unknown (pass --pid, or let the script start a single-worker server)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
