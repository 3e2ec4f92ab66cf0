"""Query latency: warm ``Assistant.ask`` against the floor, the bare query embedding, in one process.

The floor is ``embedder.embed_queries([q])`` -- the one model call every answer needs, on the
configured backend. Goal: ask p50 <= 1.5 x floor p50. A second reference is a PyTorch encode of
one query on the same model (what the embedding cost before the ONNX backends); goal: ask p50 <=
0.5 x torch p50. Floor, ask and torch alternate per question (their order rotates per round), so
machine load hits all alike. The embedding inside ``ask`` is timed through a wrapper,
which splits ask into "embedding" and "everything else"; a cProfile pass over one round shows
where "everything else" goes, function by function.

    .venv/bin/python bench/latency.py [--rounds 5] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import common
import numpy as np

from assistant.config import DEFAULT_EMBEDDING_BACKEND

GOAL = 1.5
TORCH_GOAL = 0.5


class TimedEmbedder:
    """Passes calls through to the real embedder and remembers how long the last query embedding took."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.identity = inner.identity
        self.last_s = 0.0

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.inner.embed_queries(texts)
        self.last_s = time.perf_counter() - t0
        return out

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


def _profile(assistant: Any, questions: list[str], top: int = 14) -> list[dict[str, Any]]:
    """cProfile one round of asks; our own functions (and FAISS/torch entry points) by cumulative time."""
    prof = cProfile.Profile()
    prof.enable()
    for q in questions:
        assistant.ask(q)
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    n = len(questions)
    for (file, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "/assistant/" in file or func in ("search", "encode") or "faiss" in file:
            rows.append({"function": f"{Path(file).parent.name}/{Path(file).name}:{line} {func}",
                         "calls_per_ask": round(calls / n, 1), "cum_ms_per_ask": round(cumtime / n * 1000, 2),
                         "self_ms_per_ask": round(tottime / n * 1000, 2)})
    rows.sort(key=lambda r: -r["cum_ms_per_ask"])
    return rows[:top]


def run(rounds: int = 5, threads: int = 1, backend: str = DEFAULT_EMBEDDING_BACKEND) -> dict[str, Any]:
    from assistant import Assistant
    from assistant.config import DEFAULT_MODEL, Settings
    from assistant.evaluation import read_questions
    from assistant.model.embedding import load_embedder, open_embedder
    from ingest.build import ingest

    # Both on `threads` compute threads (default 1, as a `wegwijzer serve` worker): two thread pools
    # of two threads each in one process on two cores fight each other (torch's OpenMP threads spin),
    # which made the torch reference 5-10x slower and the ratio meaningless.
    embedder = load_embedder(DEFAULT_MODEL, common.SHARED_MODELS, backend=backend, threads=threads)
    torch_embedder = open_embedder(DEFAULT_MODEL, common.SHARED_MODELS, backend="torch", threads=threads)
    questions = [q.question for q in read_questions(common.DEV_SET)]
    with common.temp_data_dir() as data:
        settings = Settings(data_dir=data, corpus_dir=common.CORPUS)
        ingest(settings, embedder=embedder)
        timed = TimedEmbedder(embedder)
        assistant = Assistant.load(settings=settings, embedder=timed)
        t0 = time.perf_counter()
        assistant.ask(questions[0])
        first_ask_s = time.perf_counter() - t0
        for q in questions:  # warm-up round: caches, allocator, lazily built structures
            assistant.ask(q)
            embedder.embed_queries([q])
            torch_embedder.embed_queries([q])
        floor, ask, inside, torch_floor = [], [], [], []
        orders = (("floor", "ask", "torch"), ("ask", "torch", "floor"), ("torch", "floor", "ask"))
        for r in range(rounds):
            for q in questions:
                for step in orders[r % 3]:
                    t0 = time.perf_counter()
                    if step == "floor":
                        embedder.embed_queries([q])
                        floor.append(time.perf_counter() - t0)
                    elif step == "torch":
                        torch_embedder.embed_queries([q])
                        torch_floor.append(time.perf_counter() - t0)
                    else:
                        assistant.ask(q)
                        ask.append(time.perf_counter() - t0)
                        inside.append(timed.last_s)
        profile = _profile(assistant, questions)
    rest = [a - e for a, e in zip(ask, inside, strict=True)]
    result = {
        "questions": len(questions), "rounds": rounds, "samples": len(ask),
        "floor_ms": {"p50": common.ms(common.percentile(floor, 0.5)), "p95": common.ms(common.percentile(floor, 0.95))},
        "ask_ms": {"p50": common.ms(common.percentile(ask, 0.5)), "p95": common.ms(common.percentile(ask, 0.95))},
        "ask_embedding_ms": {"p50": common.ms(common.percentile(inside, 0.5))},
        "ask_rest_ms": {"p50": common.ms(common.percentile(rest, 0.5)),
                        "p95": common.ms(common.percentile(rest, 0.95))},
        "torch_ms": {"p50": common.ms(common.percentile(torch_floor, 0.5)),
                     "p95": common.ms(common.percentile(torch_floor, 0.95))},
        "backend": embedder.identity.backend, "threads": threads,
        "first_ask_ms": common.ms(first_ask_s),
        "profile": profile, "loadavg_end": common.loadavg(),
    }
    result["ratio_p50"] = round(result["ask_ms"]["p50"] / result["floor_ms"]["p50"], 3)
    result["ratio_p95"] = round(result["ask_ms"]["p95"] / result["floor_ms"]["p95"], 3)
    result["goal_met"] = result["ratio_p50"] <= GOAL
    result["torch_ratio_p50"] = round(result["ask_ms"]["p50"] / result["torch_ms"]["p50"], 3)
    result["torch_goal_met"] = result["torch_ratio_p50"] <= TORCH_GOAL
    return result


def report_lines(r: dict[str, Any]) -> list[str]:
    return [
        f"floor  embed_queries([q]) p50 {r['floor_ms']['p50']:.1f} ms  p95 {r['floor_ms']['p95']:.1f} ms",
        f"ask    Assistant.ask(q)   p50 {r['ask_ms']['p50']:.1f} ms  p95 {r['ask_ms']['p95']:.1f} ms "
        f"({r['samples']} asks: {r['questions']} dev questions x {r['rounds']} rounds, warm)",
        f"  of which query embedding p50 {r['ask_embedding_ms']['p50']:.1f} ms, everything else p50 "
        f"{r['ask_rest_ms']['p50']:.1f} ms, p95 {r['ask_rest_ms']['p95']:.1f} ms",
        f"ratio ask/floor: p50 {r['ratio_p50']:.2f}  p95 {r['ratio_p95']:.2f}  (goal p50 <= {GOAL}: "
        f"{'met' if r['goal_met'] else 'NOT met'})",
        f"torch  encode of one query p50 {r['torch_ms']['p50']:.1f} ms  p95 {r['torch_ms']['p95']:.1f} ms",
        f"ratio ask ({r['backend']}) / torch encode: p50 {r['torch_ratio_p50']:.2f}  (goal <= {TORCH_GOAL}: "
        f"{'met' if r['torch_goal_met'] else 'NOT met'})",
        f"load average at the end: {r['loadavg_end'][0]:.2f}",
    ]


def to_markdown(r: dict[str, Any]) -> str:
    rows = [["floor: `embedder.embed_queries([q])`", f"{r['floor_ms']['p50']:.1f}", f"{r['floor_ms']['p95']:.1f}"],
            ["`Assistant.ask(q)`", f"{r['ask_ms']['p50']:.1f}", f"{r['ask_ms']['p95']:.1f}"],
            ["… of which retrieval, fusion, abstention, answer text", f"{r['ask_rest_ms']['p50']:.1f}",
             f"{r['ask_rest_ms']['p95']:.1f}"],
            ["**ratio ask / floor**", f"**{r['ratio_p50']:.2f}**", f"{r['ratio_p95']:.2f}"],
            ["torch: encode of one query on the same model", f"{r['torch_ms']['p50']:.1f}",
             f"{r['torch_ms']['p95']:.1f}"],
            ["**ratio ask / torch encode**", f"**{r['torch_ratio_p50']:.2f}**", ""]]
    out = [f"Warm, single question at a time, {r['samples']} asks ({r['questions']} dev questions × "
           f"{r['rounds']} rounds), floor, ask and torch encode interleaved in the same process; backend "
           f"`{r['backend']}`, {r['threads']} compute thread(s) for each model. Goals: ask p50 ≤ {GOAL} × floor "
           f"p50 — **{'met' if r['goal_met'] else 'not met'}**; "
           f"ask p50 ≤ {TORCH_GOAL} × torch encode p50 — **{'met' if r['torch_goal_met'] else 'not met'}**. "
           f"First ask after loading: {r['first_ask_ms']:.0f} ms. Load average at the end: "
           f"{r['loadavg_end'][0]:.2f}.",
           "", common.md_table(["", "p50 ms", "p95 ms"], rows), "",
           "Where the time of one ask goes (cProfile over one round; cumulative ms per ask, top entries; "
           "profiling inflates the absolute times):", "",
           common.md_table(["function", "calls/ask", "cum ms/ask", "self ms/ask"],
                           [[f"`{p['function']}`", p["calls_per_ask"], f"{p['cum_ms_per_ask']:.2f}",
                             f"{p['self_ms_per_ask']:.2f}"] for p in r["profile"]])]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="compute threads of both models (default 1)")
    parser.add_argument("--backend", default=DEFAULT_EMBEDDING_BACKEND, help="backend of the ask and the floor")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.rounds, args.threads, args.backend)
    print("\n".join(report_lines(result)))
    for p in result["profile"]:
        print(f"  {p['cum_ms_per_ask']:8.2f} ms cum {p['self_ms_per_ask']:8.2f} ms self {p['calls_per_ask']:6.1f}x "
              f"{p['function']}")
    common.write_json(result, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
