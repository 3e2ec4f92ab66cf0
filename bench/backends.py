"""Embedding backends side by side: torch, ONNX fp32 and ONNX int8 on the same bundled model.

For each backend, in one process:

* **quality through the product**: the shipped corpus indexed with that backend, then
  ``Assistant.ask`` on every question of the dev sets (hit@1, hit@5, MRR, abstention accuracy,
  false abstentions), exactly as ``wegwijzer eval`` computes them;
* **vectors**: cosine to the torch vectors on every corpus passage and every dev question, and
  whether a question's vector depends on the other questions of the same call (batched vs one by one);
* **speed**: ingest throughput (passages/s, all cores) and one query at a time on one thread (p50/p95).

    .venv/bin/python bench/backends.py [--rounds 3] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from pathlib import Path
from typing import Any

import common
import numpy as np

BACKENDS = ("torch", "onnx", "onnx-int8")
NEARMISS_SET = common.DEV_SET.with_name("dev_nearmiss.jsonl")


def _quality(assistant: Any, path: Path) -> dict[str, Any]:
    from assistant.evaluation import evaluate, read_questions

    result = evaluate(lambda q: assistant.ask(q), read_questions(path))
    overall = result["answerable"].get("all", {})  # the near-miss set holds only unanswerable questions
    return {"n": overall.get("n", 0), "hit@1": overall.get("hit@1"), "hit@5": overall.get("hit@5"),
            "mrr": overall.get("mrr"),
            "abstention": result["abstention"]["accuracy"], "abstention_n": result["abstention"]["n"],
            "false_abstentions": result["false_abstentions"]}


def _latency(embedder: Any, questions: list[str], rounds: int) -> dict[str, float]:
    for q in questions[:5]:
        embedder.embed_queries([q])
    times = []
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            embedder.embed_queries([q])
            times.append(time.perf_counter() - t0)
    return {"p50": common.ms(common.percentile(times, 0.5)), "p95": common.ms(common.percentile(times, 0.95))}


def _cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    c = np.sum(a * b, axis=1)
    return {"min": round(float(c.min()), 5), "mean": round(float(c.mean()), 5)}


def _concurrent(assistant: Any, batcher: Any, questions: list[str], clients: int, total: int) -> dict[str, Any]:
    """``clients`` threads asking at once, as a serving worker's thread pool does; how the model time is spent."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def client() -> None:
        for i in counter:  # a shared iterator: every ask is taken by exactly one client
            q = questions[i % len(questions)]
            t0 = time.perf_counter()
            assistant.ask(q)
            with lock:
                latencies.append(time.perf_counter() - t0)

    before = (batcher.batches, batcher.texts, batcher.busy_s)
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    batches, texts, busy = (now - then for now, then in zip((batcher.batches, batcher.texts, batcher.busy_s),
                                                              before, strict=True))
    return {"clients": clients, "asks": len(latencies), "asks_per_s": round(len(latencies) / wall, 1),
            "p50_ms": common.ms(common.percentile(latencies, 0.5)),
            "p95_ms": common.ms(common.percentile(latencies, 0.95)),
            "mean_batch": round(texts / max(batches, 1), 2), "embedding_share": round(busy / wall, 3)}


def run(rounds: int = 3, clients: tuple[int, ...] = (1, 8)) -> dict[str, Any]:
    from assistant import Assistant
    from assistant import index as idx
    from assistant.config import DEFAULT_MODEL, Settings
    from assistant.evaluation import read_questions
    from assistant.model.embedding import BatchingEmbedder, open_embedder
    from ingest.build import ingest

    questions = [q.question for path in (common.DEV_SET, NEARMISS_SET) for q in read_questions(path)]
    rows: dict[str, dict[str, Any]] = {}
    reference: dict[str, np.ndarray] = {}
    passages: list[str] = []
    settings_of: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        for backend in BACKENDS:
            started = time.perf_counter()
            embedder = open_embedder(DEFAULT_MODEL, common.SHARED_MODELS, backend=backend, threads=0)
            row: dict[str, Any] = {"load_s": round(time.perf_counter() - started, 2),
                                   "fingerprint": embedder.identity.fingerprint}
            data = stack.enter_context(common.temp_data_dir())
            settings = settings_of[backend] = Settings(data_dir=data, corpus_dir=common.CORPUS,
                                                       embedding_backend=backend)
            t0 = time.perf_counter()
            report = ingest(settings, embedder=embedder)
            row["ingest_s"] = round(time.perf_counter() - t0, 2)
            if not passages:
                reader = idx.open_index(settings.index_dir)
                passages = [p.text for p in reader.passages(range(reader.passage_count))]
                reader.close()
            assistant = Assistant.load(settings=settings, embedder=embedder)
            assistant.ask("opwarmen")
            row["dev"] = _quality(assistant, common.DEV_SET)
            row["nearmiss"] = _quality(assistant, NEARMISS_SET)
            assert report.passages == len(passages)
            t0 = time.perf_counter()
            p_vectors = embedder.embed_passages(passages)
            row["passages_per_s"] = round(len(passages) / (time.perf_counter() - t0), 1)
            q_single = np.vstack([embedder.embed_queries([q]) for q in questions])
            q_batched = embedder.embed_queries(questions)
            row["batched_vs_single"] = _cosines(q_batched, q_single)
            if backend == "torch":
                reference = {"passages": p_vectors, "questions": q_single}
            row["cos_passages"] = _cosines(p_vectors, reference["passages"])
            row["cos_questions"] = _cosines(q_single, reference["questions"])
            rows[backend] = row
            del embedder, assistant
        # One thread per process, as a `wegwijzer serve` worker: one question at a time, then several
        # clients at once (micro-batched). Last, because torch's thread count is process-wide.
        for backend in BACKENDS:
            batcher = BatchingEmbedder(open_embedder(DEFAULT_MODEL, common.SHARED_MODELS, backend=backend,
                                                     threads=1))
            rows[backend]["query_1thread_ms"] = _latency(batcher, questions, rounds)
            assistant = Assistant.load(settings=settings_of[backend], embedder=batcher)
            rows[backend]["concurrent"] = [_concurrent(assistant, batcher, questions, c, 20 * c + 40)
                                           for c in clients]
            del batcher, assistant
    return {"machine": common.machine(), "passages": len(passages), "questions": len(questions),
            "rounds": rounds, "backends": rows, "loadavg_end": common.loadavg()}


HEADER = ["backend", "dev hit@1", "dev hit@5", "dev MRR", "dev abstention", "dev false abst.",
          "near-miss abstention", "cos passages min/mean",
          "cos questions min/mean", "batched = single (min cos)", "ingest passages/s", "1 query, 1 thread p50/p95 ms"]


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def table_rows(r: dict[str, Any]) -> list[list[str]]:
    out = []
    for backend, b in r["backends"].items():
        cells = [f"`{backend}`"]
        q = b["dev"]
        cells += [_num(q["hit@1"]), _num(q["hit@5"]), _num(q["mrr"]),
                  f"{q['abstention']:.2f} of {q['abstention_n']}", str(q["false_abstentions"])]
        # The near-miss set holds only unanswerable questions: abstention is all it measures.
        cells.append(f"{b['nearmiss']['abstention']:.2f} of {b['nearmiss']['abstention_n']}")
        cells += [f"{b['cos_passages']['min']:.5f} / {b['cos_passages']['mean']:.5f}",
                  f"{b['cos_questions']['min']:.5f} / {b['cos_questions']['mean']:.5f}",
                  f"{b['batched_vs_single']['min']:.5f}", f"{b['passages_per_s']:.1f}",
                  f"{b['query_1thread_ms']['p50']:.1f} / {b['query_1thread_ms']['p95']:.1f}"]
        out.append(cells)
    return out


def concurrency_rows(r: dict[str, Any]) -> list[list[str]]:
    return [[f"`{backend}`", str(c["clients"]), f"{c['asks_per_s']:.1f}", f"{c['p50_ms']:.1f}", f"{c['p95_ms']:.1f}",
             f"{c['mean_batch']:.1f}", f"{c['embedding_share']:.0%}"]
            for backend, b in r["backends"].items() for c in b["concurrent"]]


CONCURRENCY_HEADER = ["backend", "clients", "asks/s", "ask p50 ms", "ask p95 ms", "questions per model call",
                      "share of wall time in the model"]


def to_markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    return "\n".join([
        f"{r['passages']} corpus passages, {r['questions']} dev questions (dev + near-miss); quality through "
        "`Assistant.ask` on an index built with the same backend; cosines against torch's vectors; "
        f"query latency over {r['rounds']} rounds. Load average at the end: {r['loadavg_end'][0]:.2f} "
        f"({m['cores_usable']} cores).", "",
        common.md_table(HEADER, table_rows(r)), "",
        "`Assistant.ask` in one process with one compute thread (as a `wegwijzer serve` worker), clients as "
        "threads; questions that arrive together are embedded in one model call:", "",
        common.md_table(CONCURRENCY_HEADER, concurrency_rows(r))])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    print(f"load average at start: {common.loadavg()}", file=sys.stderr)
    result = run(args.rounds)
    rows = table_rows(result)
    for i, name in enumerate(HEADER):
        print(f"{name:<30}" + "".join(f"{row[i]:>22}" for row in rows))
    print()
    print("".join(f"{h[:18]:>20}" for h in CONCURRENCY_HEADER))
    for row in concurrency_rows(result):
        print("".join(f"{c:>20}" for c in row))
    print(f"load average at end: {result['loadavg_end']}")
    common.write_json(result, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
