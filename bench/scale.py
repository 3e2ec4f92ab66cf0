"""Scale: exact (flat) vs HNSW FAISS indexes on synthetic corpora of 10k, 50k, 100k and 1M passages.

The vectors are SYNTHETIC (embedding 1M passages would take days on this CPU): unit vectors of
dimension 384 (multilingual-e5-small), drawn in two-level Gaussian clusters (topics -> clusters ->
passages) so that a query has real nearest neighbours at cosine ~0.8, as related e5 passages do.
Queries are new points from the same clusters. Within a cluster the members are almost equidistant
from a query, which makes recall harder than on real embeddings: the recall figures are conservative.

For each size and index kind (through assistant.index.VectorIndex, as the product builds it):
build time, memory (RSS growth of this process and the saved file size), load time, single-query
search p50/p95 at k=10 and p50 at k=100 (what the retriever asks for), recall@10 (and @100) of HNSW
against exact search, and an efSearch sweep. The lexical side (assistant.retrieval.LexicalIndex) is timed on
synthetic Dutch-like passages drawn from the corpus vocabulary.

    .venv/bin/python bench/scale.py                  # 10k, 50k, 100k, 1M (the 1M HNSW build takes minutes)
    .venv/bin/python bench/scale.py --sizes 10000,100000
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import common
import numpy as np

DIM = 384
QUERIES = 200
EF_SWEEP = (32, 64, 128, 256)


def synthetic_vectors(n: int, n_queries: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clustered unit vectors and ``n_queries`` queries from the same clusters (float32)."""
    rng = np.random.default_rng(seed)
    n_topics = max(10, n // 5000)
    n_clusters = max(50, n // 100)  # ~100 passages per cluster: a document's worth of related passages
    topics = _unit(rng.standard_normal((n_topics, DIM), dtype=np.float32))
    # clusters share a topic: sibling clusters are at cosine ~0.5, unrelated ones at ~0
    centres = _unit(topics[rng.integers(0, n_topics, n_clusters)]
                    + rng.standard_normal((n_clusters, DIM), dtype=np.float32) / np.sqrt(DIM))
    noise = 0.5 / np.sqrt(DIM)  # |noise| ~0.5: cosine ~0.8 between a passage and its cluster's others

    def draw(m: int) -> np.ndarray:
        out = np.empty((m, DIM), dtype=np.float32)
        for i in range(0, m, 100_000):  # in blocks: 1M x 384 float32 is 1.5 GB, do not hold float64 copies
            j = min(m, i + 100_000)
            block = centres[rng.integers(0, n_clusters, j - i)]
            block += rng.standard_normal((j - i, DIM), dtype=np.float32) * noise
            out[i:j] = _unit(block)
        return out

    return draw(n), draw(n_queries)


def _trim() -> None:
    """Hand freed heap memory back to the OS, so that the RSS growth of the next build is its own."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _unit(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _latencies(index: Any, queries: np.ndarray, k: int) -> tuple[list[float], np.ndarray]:
    times, ids = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, i = index.search(q[None, :], k)
        times.append(time.perf_counter() - t0)
        ids.append(i[0])
    return times, np.array(ids)


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)]))


def bench_vectors(n: int, n_queries: int = QUERIES) -> list[dict[str, Any]]:
    import faiss

    from assistant.index import VectorIndex

    t0 = time.perf_counter()
    vectors, queries = synthetic_vectors(n, n_queries)
    gen_s = time.perf_counter() - t0
    nn_cos = float(np.median((queries[:50] @ vectors.T).max(axis=1)))
    rows = []
    truth = truth100 = None
    for kind in ("flat", "hnsw"):
        _trim()
        before = common.rss_mb()
        t0 = time.perf_counter()
        index = VectorIndex.build(vectors, kind)
        build_s = time.perf_counter() - t0
        rss_delta = common.rss_mb() - before
        with tempfile.TemporaryDirectory(prefix="wegwijzer-scale-") as tmp:
            path = Path(tmp) / "vectors.faiss"
            index.save(path)
            file_mb = path.stat().st_size / 1024 / 1024
            del index
            gc.collect()
            t0 = time.perf_counter()
            index = VectorIndex.load(path)
            load_s = time.perf_counter() - t0
        for q in queries[:5]:  # warm-up
            index.search(q[None, :], 10)
        times, ids = _latencies(index, queries, 10)
        times100, ids100 = _latencies(index, queries[:100], 100)
        row: dict[str, Any] = {
            "n": n, "kind": kind, "build_s": round(build_s, 2), "rss_delta_mb": round(rss_delta, 1),
            "file_mb": round(file_mb, 1), "load_s": round(load_s, 2),
            "p50_ms": common.ms(common.percentile(times, 0.5)), "p95_ms": common.ms(common.percentile(times, 0.95)),
            "p50_k100_ms": common.ms(common.percentile(times100, 0.5)),
            "generate_s": round(gen_s, 1), "median_top1_cosine": round(nn_cos, 3),
        }
        if kind == "flat":
            truth, truth100 = ids, ids100
            row["recall@10"] = 1.0
            # FAISS parallelises one exact query over OpenMP threads; on a busy machine the threads wait
            # for each other, so single-threaded exact search is also reported.
            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
            t1, _ = _latencies(index, queries, 10)
            faiss.omp_set_num_threads(threads)
            row["p50_1thread_ms"] = common.ms(common.percentile(t1, 0.5))
            row["p95_1thread_ms"] = common.ms(common.percentile(t1, 0.95))
        else:
            assert truth is not None and truth100 is not None
            row["recall@10"] = round(recall_at(ids, truth), 4)
            row["recall@100"] = round(recall_at(ids100, truth100, 100), 4)  # the retriever's candidate list
            hnsw = index._index.hnsw  # bench-only peek at the FAISS object to sweep efSearch
            default_ef = hnsw.efSearch
            sweep = []
            for ef in EF_SWEEP:
                hnsw.efSearch = ef
                t_ef, ids_ef = _latencies(index, queries, 10)
                sweep.append({"ef": ef, "recall@10": round(recall_at(ids_ef, truth), 4),
                              "p50_ms": common.ms(common.percentile(t_ef, 0.5))})
            hnsw.efSearch = default_ef
            row["ef_sweep"] = sweep
        rows.append(row)
        print(_row_line(row), flush=True)
        del index
        gc.collect()
    return rows


def _row_line(r: dict[str, Any]) -> str:
    extra = f" 1-thread p50 {r['p50_1thread_ms']} ms" if "p50_1thread_ms" in r else \
        " ef sweep " + ", ".join(f"{s['ef']}:{s['recall@10']:.3f}/{s['p50_ms']}ms" for s in r.get("ef_sweep", []))
    return (f"{r['n']:>9,} {r['kind']:<5} build {r['build_s']:>7.2f} s  rss +{r['rss_delta_mb']:>7.1f} MB  "
            f"file {r['file_mb']:>7.1f} MB  load {r['load_s']:>5.2f} s  p50 {r['p50_ms']:>7.2f} ms  "
            f"p95 {r['p95_ms']:>7.2f} ms  k=100 p50 {r['p50_k100_ms']:>7.2f} ms  recall@10 {r['recall@10']:.4f}"
            + (f" recall@100 {r['recall@100']:.4f}" if "recall@100" in r else "") + extra)


def synthetic_texts(n: int, seed: int = 11) -> list[str]:
    """Dutch-like passages of ~130 words sampled from the corpus vocabulary with its own frequencies."""
    words: Counter[str] = Counter()
    for path in common.CORPUS.glob("*.*"):
        if path.suffix in (".md", ".txt"):
            words.update(w for w in re.findall(r"[^\W\d_]{2,}", path.read_text(encoding="utf-8")))
    vocab, weights = zip(*words.items(), strict=True)
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        picked = rnd.choices(vocab, weights=weights, k=130)
        # a few made-up rare words per passage so that the vocabulary grows with the corpus, as it does
        picked += [f"{rnd.choice(vocab).lower()}{rnd.choice(vocab).lower()}" for _ in range(3)]
        out.append(" ".join(picked) + ".")
    return out


def bench_lexical(n: int) -> dict[str, Any]:
    from assistant.retrieval import LexicalIndex

    texts = synthetic_texts(n)
    _trim()
    before = common.rss_mb()
    t0 = time.perf_counter()
    lex = LexicalIndex(texts)
    build_s = time.perf_counter() - t0
    rss = common.rss_mb() - before
    questions = ["Hoe betrek je nieuwkomers bij het lokaal integratiebeleid?",
                 "Wat vraagt de VVSG aan de Vlaamse overheid over inburgering?",
                 "Welke rol spelen vrijwilligers bij het onthaal van nieuwkomers?",
                 "Wat kan een stad doen als de financiële middelen beperkt zijn?"]
    times = []
    for _ in range(5):
        for q in questions:
            t1 = time.perf_counter()
            lex.scores(lex.query_terms(q))
            times.append(time.perf_counter() - t1)
    row = {"n": n, "build_s": round(build_s, 2), "rss_delta_mb": round(rss, 1), "terms": len(lex.idf),
           "query_p50_ms": common.ms(common.percentile(times, 0.5)),
           "query_p95_ms": common.ms(common.percentile(times, 0.95))}
    print(f"{n:>9,} lexical build {row['build_s']:.2f} s  rss +{row['rss_delta_mb']:.0f} MB  "
          f"{row['terms']:,} terms  query p50 {row['query_p50_ms']} ms  p95 {row['query_p95_ms']} ms", flush=True)
    return row


def run(sizes: list[int], lexical_sizes: list[int]) -> dict[str, Any]:
    import faiss

    from assistant import index as idx

    print(f"synthetic clustered unit vectors, dim {DIM}, {QUERIES} queries per size "
          f"(the 1M vectors are synthetic); faiss OpenMP threads: {faiss.omp_get_max_threads()}", flush=True)
    vectors = []
    for n in sizes:
        vectors.extend(bench_vectors(n))
    lexical = [bench_lexical(n) for n in lexical_sizes]
    return {"vectors": vectors, "lexical": lexical, "dim": DIM, "queries": QUERIES,
            "faiss_threads": faiss.omp_get_max_threads(), "hnsw_threshold": idx.HNSW_THRESHOLD,
            "hnsw": {"M": idx.HNSW_M, "efConstruction": idx.HNSW_EF_CONSTRUCTION, "efSearch": idx.HNSW_EF_SEARCH},
            "peak_rss_mb": common.proc_status().get("VmHWM"), "loadavg_end": common.loadavg()}


def to_markdown(r: dict[str, Any]) -> str:
    h = r["hnsw"]
    rows = []
    for v in r["vectors"]:
        rows.append([f"{v['n']:,}", v["kind"], f"{v['build_s']:.2f}", f"{v['rss_delta_mb']:.0f}",
                     f"{v['file_mb']:.0f}", f"{v['load_s']:.2f}", f"{v['p50_ms']:.2f}", f"{v['p95_ms']:.2f}",
                     f"{v['p50_1thread_ms']:.2f}" if "p50_1thread_ms" in v else "—",
                     f"{v['p50_k100_ms']:.2f}", f"{v['recall@10']:.3f}",
                     f"{v['recall@100']:.3f}" if "recall@100" in v else "1.000"])
    out = [
        f"Synthetic vectors (dim {r['dim']}, two-level Gaussian clusters, median top-1 cosine of a query "
        f"≈ {r['vectors'][0]['median_top1_cosine']}); the 1M case is synthetic too. {r['queries']} single queries "
        f"per size. HNSW: M={h['M']}, efConstruction={h['efConstruction']}, efSearch={h['efSearch']}. "
        f"FAISS OpenMP threads: {r['faiss_threads']}. Memory is the growth of the process RSS during the "
        "build; file is the saved `vectors.faiss`; load is `VectorIndex.load` (what every worker pays on "
        "start and on each re-index). FAISS spreads one exact query over its OpenMP threads, and on a "
        "2-core machine the threads' synchronisation costs more than it saves: the single-threaded "
        "column is what a `wegwijzer serve` worker (OMP_NUM_THREADS=1) gets. HNSW answers one query on "
        "one thread either way.",
        "",
        common.md_table(["passages", "index", "build s", "RSS +MB", "file MB", "load s", "p50 ms (k=10)",
                         "p95 ms (k=10)", "p50 ms 1 thread", "p50 ms (k=100)", "recall@10", "recall@100"], rows),
        "",
        "HNSW efSearch sweep (recall@10 / p50 ms at k=10):",
        "",
    ]
    sweep_rows = []
    for v in r["vectors"]:
        if v["kind"] == "hnsw":
            sweep_rows.append([f"{v['n']:,}"] + [f"{s['recall@10']:.3f} / {s['p50_ms']:.2f}" for s in v["ef_sweep"]])
    out.append(common.md_table(["passages"] + [f"ef={e}" for e in EF_SWEEP], sweep_rows))
    if r["lexical"]:
        out += ["", "Lexical index (`LexicalIndex`, pure Python BM25 with Dutch analysis) on synthetic "
                "Dutch-like passages of ~130 corpus words:", ""]
        out.append(common.md_table(
            ["passages", "build s", "RSS +MB", "terms", "query p50 ms", "query p95 ms"],
            [[f"{x['n']:,}", f"{x['build_s']:.1f}", f"{x['rss_delta_mb']:.0f}", f"{x['terms']:,}",
              f"{x['query_p50_ms']:.1f}", f"{x['query_p95_ms']:.1f}"] for x in r["lexical"]]))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000,100000,1000000")
    parser.add_argument("--lexical-sizes", default="10000,100000")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    lexical_sizes = [int(s) for s in args.lexical_sizes.split(",") if s.strip()]
    result = run(sizes, lexical_sizes)
    common.write_json(result, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
