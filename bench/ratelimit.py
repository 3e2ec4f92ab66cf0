"""Cost of the per-client rate limit, per request: the shared SQLite limiter alone and as ASGI middleware.

    .venv/bin/python bench/ratelimit.py [--n 20000]

Prints microseconds per check (median of 5 rounds) for: an allowed request, a refused request, two
processes checking the same file at once (what ``serve --workers 2`` does), the in-memory limiter of
the Telegram bot, and the whole RateLimitMiddleware around an empty ASGI app.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bots.ratelimit import Limit, MemoryLimiter, SQLiteLimiter  # noqa: E402

OPEN = Limit("ask", 10**9, 60.0)  # never refuses
TIGHT = Limit("tight", 1, 3600.0)  # refuses after the first


def _per_call(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        rounds.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(rounds)


def _worker(path: str, n: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    limiter = SQLiteLimiter(Path(path))
    limiter.hit(OPEN, "warm")
    out.put(_per_call(lambda i: limiter.hit(OPEN, f"192.0.2.{i % 200}"), n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    n = args.n
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ratelimit.sqlite3"
        limiter = SQLiteLimiter(db)
        limiter.hit(OPEN, "warm")
        allowed = _per_call(lambda i: limiter.hit(OPEN, f"192.0.2.{i % 200}"), n)
        limiter.hit(TIGHT, "flooder")
        refused = _per_call(lambda i: limiter.hit(TIGHT, "flooder"), n)

        queue: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
        procs = [mp.get_context("spawn").Process(target=_worker, args=(str(db), n, queue)) for _ in range(2)]
        for p in procs:
            p.start()
        shared = [queue.get(timeout=600) for _ in procs]
        for p in procs:
            p.join()

        memory = MemoryLimiter()
        in_memory = _per_call(lambda i: memory.hit(OPEN, f"192.0.2.{i % 200}"), n)

        from bots.web.guards import RateLimitMiddleware, Rule

        class _NoMetrics:
            def observe_rate_limited(self, limit: str) -> None:
                pass

        async def empty_app(scope, receive, send):  # type: ignore[no-untyped-def]
            return None

        async def noop_send(message):  # type: ignore[no-untyped-def]
            return None

        async def noop_receive():  # type: ignore[no-untyped-def]
            return {"type": "http.request", "body": b"", "more_body": False}

        mw = RateLimitMiddleware(empty_app, limiter, [Rule("POST", "/api/ask", OPEN, "rate.ask")],
                                 _NoMetrics())  # type: ignore[arg-type]

        async def run_mw() -> float:
            rounds = []
            for _ in range(5):
                t0 = time.perf_counter()
                for i in range(n):
                    await mw({"type": "http", "method": "POST", "path": "/api/ask",
                              "client": (f"192.0.2.{i % 200}", 1234), "headers": []}, noop_receive, noop_send)
                rounds.append((time.perf_counter() - t0) / n * 1e6)
            return statistics.median(rounds)

        middleware = asyncio.run(run_mw())
        limiter.close()

    print(f"rate limit cost per request (median of 5 rounds of {n}):")
    print(f"  SQLite limiter, allowed            {allowed:8.1f} us")
    print(f"  SQLite limiter, refused            {refused:8.1f} us")
    print(f"  SQLite limiter, 2 processes at once {shared[0]:7.1f} / {shared[1]:.1f} us")
    print(f"  in-memory limiter (Telegram)       {in_memory:8.1f} us")
    print(f"  RateLimitMiddleware (SQLite)       {middleware:8.1f} us")


if __name__ == "__main__":
    main()
