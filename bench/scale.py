"""Scale: the two index stores (files + FAISS + bm25s, PostgreSQL + pgvector) on synthetic corpora of 100k and
1M passages, and exact (flat) vs HNSW FAISS indexes on synthetic vectors of 10k to 1M.

The vectors are SYNTHETIC (embedding 1M passages would take days on this CPU): unit vectors of
dimension 384 (multilingual-e5-small), drawn in two-level Gaussian clusters (topics -> clusters ->
passages) so that a query has real nearest neighbours at cosine ~0.8, as related e5 passages do.
Queries are new points from the same clusters. Within a cluster the members are almost equidistant
from a query, which makes recall harder than on real embeddings: the recall figures are conservative.

Stores (``--store-sizes``): a synthetic version (Dutch-like passages drawn from the corpus vocabulary,
five sentences each, clustered vectors, float16 sentence vectors) is written through each store's
``write`` (analysis, BM25, vector index: everything an ingest does after embedding), then queried
through the product's ``Retriever`` (dense + lexical + fusion + passage fetch, without the query
embedding) at concurrency 1 and 8. Recall@10 is against the exact hybrid: exhaustive dense search
and exhaustive BM25 through the same fusion. With ``--ask`` the file backend's 100k version is also
asked through ``Assistant.ask`` on the real model, against the query-embedding floor (issue 9).

Vectors (``--sizes``), for each size and index kind (``files.build_vector_index``, as the product builds it):
build time, memory (RSS growth of this process and the saved file size), load time, single-query
search p50/p95 at k=10 and p50 at k=100 (what the retriever asks for), recall@10 (and @100) of HNSW
against exact search, and an efSearch sweep.

    .venv/bin/python bench/scale.py --sizes "" --store-sizes 100000 --ask     # the stores at 100k (~15 min)
    .venv/bin/python bench/scale.py --sizes "" --store-sizes 1000000          # the stores at 1M (hours)
    .venv/bin/python bench/scale.py --sizes 10000,100000 --store-sizes ""     # FAISS flat vs HNSW only

PostgreSQL: ``--database-url`` (a server with pgvector), else a throw-away embedded server under /tmp
with settings for the size (shared_buffers, maintenance_work_mem for the HNSW build).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
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


def bench_vectors(n: int, n_queries: int = QUERIES) -> list[dict[str, Any]]:
    import faiss

    from assistant.index.files import build_vector_index

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
        index = build_vector_index(vectors, DIM, kind)
        build_s = time.perf_counter() - t0
        rss_delta = common.rss_mb() - before
        with tempfile.TemporaryDirectory(prefix="wegwijzer-scale-") as tmp:
            path = Path(tmp) / "vectors.faiss"
            faiss.write_index(index, str(path))
            file_mb = path.stat().st_size / 1024 / 1024
            del index
            gc.collect()
            t0 = time.perf_counter()
            index = faiss.read_index(str(path))
            if kind == "hnsw":
                index.hnsw.efSearch = idx_files().HNSW_EF_SEARCH
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
            row["recall@10"] = round(common.recall_at(ids, truth, 10), 4)
            row["recall@100"] = round(common.recall_at(ids100, truth100, 100), 4)  # the retriever's candidate list
            hnsw = index.hnsw
            default_ef = hnsw.efSearch
            sweep = []
            for ef in EF_SWEEP:
                hnsw.efSearch = ef
                t_ef, ids_ef = _latencies(index, queries, 10)
                sweep.append({"ef": ef, "recall@10": round(common.recall_at(ids_ef, truth, 10), 4),
                              "p50_ms": common.ms(common.percentile(t_ef, 0.5))})
            hnsw.efSearch = default_ef
            row["ef_sweep"] = sweep
        rows.append(row)
        print(_row_line(row), flush=True)
        del index
        gc.collect()
    return rows


def idx_files() -> Any:
    from assistant.index import files

    return files


def _row_line(r: dict[str, Any]) -> str:
    extra = f" 1-thread p50 {r['p50_1thread_ms']} ms" if "p50_1thread_ms" in r else \
        " ef sweep " + ", ".join(f"{s['ef']}:{s['recall@10']:.3f}/{s['p50_ms']}ms" for s in r.get("ef_sweep", []))
    return (f"{r['n']:>9,} {r['kind']:<5} build {r['build_s']:>7.2f} s  rss +{r['rss_delta_mb']:>7.1f} MB  "
            f"file {r['file_mb']:>7.1f} MB  load {r['load_s']:>5.2f} s  p50 {r['p50_ms']:>7.2f} ms  "
            f"p95 {r['p95_ms']:>7.2f} ms  k=100 p50 {r['p50_k100_ms']:>7.2f} ms  recall@10 {r['recall@10']:.4f}"
            + (f" recall@100 {r['recall@100']:.4f}" if "recall@100" in r else "") + extra)



# ---------------------------------------------------------------- the stores on a synthetic corpus

SENTENCES_PER_PASSAGE = 5
WORDS_PER_PASSAGE = 130
PASSAGES_PER_DOCUMENT = 50


def corpus_words() -> tuple[list[str], list[int]]:
    """The shipped corpus's words with their frequencies (the synthetic passages are drawn from them)."""
    from ingest.loaders import discover, load_document

    words: Counter[str] = Counter()
    files, _ = discover(common.CORPUS)
    for path, source in files:
        for page in load_document(path, source).pages:
            words.update(re.findall(r"[^\W\d_]{2,}", page.text))
    vocab, weights = zip(*sorted(words.items()), strict=True)
    return list(vocab), list(weights)


def synthetic_texts(n: int, seed: int = 11) -> list[str]:
    """Dutch-like passages of ~130 words sampled from the corpus vocabulary with its own frequencies,
    in five sentences; three made-up compounds per passage make the vocabulary grow with the corpus."""
    vocab, weights = corpus_words()
    rnd = random.Random(seed)
    lower = [w.lower() for w in vocab]
    out = []
    for _ in range(n):
        picked = rnd.choices(vocab, weights=weights, k=WORDS_PER_PASSAGE)
        picked += [f"{rnd.choice(lower)}{rnd.choice(lower)}" for _ in range(3)]
        rnd.shuffle(picked)
        size = len(picked) // SENTENCES_PER_PASSAGE
        sentences = [" ".join(picked[i * size:(i + 1) * size if i < SENTENCES_PER_PASSAGE - 1 else None]) + "."
                     for i in range(SENTENCES_PER_PASSAGE)]
        out.append(" ".join(x[:1].upper() + x[1:] for x in sentences))
    return out


def synthetic_content(n: int, model: Any = None, workdir: Path | None = None,
                      ) -> tuple[Any, np.ndarray, list[tuple[str, np.ndarray]]]:
    """A version of ``n`` synthetic passages: (VersionContent, passage vectors, questions with their vectors).

    A question is four to six words of one passage, its vector a new point of that passage's cluster.
    """
    from assistant import index as idx
    from assistant.text.sentences import split_sentences
    from assistant.types import Page, Passage

    texts = synthetic_texts(n)
    vectors, _ = synthetic_vectors(n, 0)
    rng = np.random.default_rng(13)
    passages, sentences, pages = [], [], []
    sentence_vectors = []
    for i, text in enumerate(texts):
        source = f"doc{i // PASSAGES_PER_DOCUMENT:06d}.md"
        passages.append(Passage(id=i, source=source, title=f"Document {i // PASSAGES_PER_DOCUMENT}", page=None,
                                section="", start=0, end=len(text), text=text))
        if i % PASSAGES_PER_DOCUMENT == 0:
            pages.append(Page(source=source, page=None, text=text))  # the first passage stands for the page
        for s in split_sentences(text):
            sentences.append(idx.SentenceRecord(id=len(sentences), passage_id=i, start=s.start, end=s.end,
                                                text=s.text, kind=s.kind, block=s.block))
    owner = np.fromiter((s.passage_id for s in sentences), dtype=np.int64, count=len(sentences))
    # sentence vectors in a file-backed array: at 1M passages they are 3.8 GB the page cache can hold instead
    svec = np.lib.format.open_memmap(workdir / "svec.npy", mode="w+", dtype=np.float16,
                                     shape=(len(sentences), DIM)) if workdir is not None else \
        np.empty((len(sentences), DIM), dtype=np.float16)
    for a in range(0, len(sentences), 200_000):
        block = vectors[owner[a:a + 200_000]] + rng.standard_normal((len(owner[a:a + 200_000]), DIM),
                                                                    dtype=np.float32) * (0.4 / np.sqrt(DIM))
        svec[a:a + len(block)] = _unit(block)
    sentence_vectors.append(svec)
    model = model or idx.ModelInfo("synthetic", f"synthetic-{DIM}", DIM)
    documents = [idx.DocumentEntry(source=src, sha256="0" * 64, title=src, passages=PASSAGES_PER_DOCUMENT)
                 for src in sorted({p.source for p in passages})]
    content = idx.VersionContent(model=model, chunker={"synthetic": True}, documents=documents, passages=passages,
                                 pages=pages, vectors=vectors, sentences=sentences, sentence_vectors=svec)
    rnd = random.Random(17)
    questions = []
    for _ in range(QUERIES):
        p = rnd.randrange(n)
        words = [w for w in re.findall(r"[^\W\d_]{4,}", texts[p])]
        q_words = rnd.sample(words, min(len(words), rnd.randint(4, 6)))
        qv = vectors[p] + rng.standard_normal(DIM, dtype=np.float32) * (0.5 / np.sqrt(DIM))
        questions.append(("Wat weet je over " + " ".join(q_words) + "?", (qv / np.linalg.norm(qv)).astype(np.float32)))
    return content, vectors, questions


class ExactDense:
    """A reader whose dense search is exhaustive (numpy over all vectors): the ground truth for recall."""

    def __init__(self, reader: Any, vectors: np.ndarray) -> None:
        self._reader, self._vectors = reader, vectors

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def dense_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = self._vectors @ query
        top = np.argpartition(-scores, k - 1)[:k]
        order = top[np.argsort(-scores[top])]
        return order.astype(np.int64), scores[order]

    def search_both(self, query: np.ndarray, terms: Any, k: int) -> tuple[Any, Any]:
        return self.dense_search(query, k), self._reader.lexical_search(terms, k)


def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024 / 1024


def _timed(fn: Any, items: list[Any]) -> list[float]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t0)
    return out


def _concurrent(fn: Any, items: list[Any], threads: int) -> tuple[list[float], float]:
    from concurrent.futures import ThreadPoolExecutor

    def one(item: Any) -> float:
        t0 = time.perf_counter()
        fn(item)
        return time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        times = list(pool.map(one, items))
    return times, time.perf_counter() - t0


def _pct(times: list[float]) -> dict[str, float]:
    return {"p50": common.ms(common.percentile(times, 0.5)), "p95": common.ms(common.percentile(times, 0.95))}


def local_postgres(n: int, base: Path | None = None) -> tuple[Any, str]:
    """An embedded PostgreSQL sized for ``n`` passages (the whole HNSW build in memory): throw-away under
    /tmp, or kept in ``base`` (``--keep``; started again if it exists)."""
    import tempfile

    from bots import localdb

    if base is None:
        base = Path(tempfile.mkdtemp(prefix="wegwijzer-bench-pg-"))
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    big = n >= 500_000
    localdb.DEFAULT_CONFIG.update({
        "shared_buffers": "2GB" if big else "1GB", "maintenance_work_mem": "3GB" if big else "1GB",
        "effective_cache_size": "8GB", "max_wal_size": "8GB",
        # bulk loads into tables created in the same transaction skip the WAL (no replication here)
        "wal_level": "minimal", "max_wal_senders": "0"})
    server = localdb.LocalServer(base / "postgres")
    status = server.start(port=localdb.free_port())
    return server, status.url


def bench_store(backend: str, n: int, content: Any, vectors: np.ndarray, questions: list[tuple[str, np.ndarray]],
                truth: list[list[int]] | None, workdir: Path, url: str, kept: Kept | None = None,
                ) -> tuple[dict[str, Any], Any]:
    """Write ``content`` through the store and query it; with ``content`` None, query the version ``kept``
    holds (its write figures come from the run that wrote it)."""
    from assistant import index as idx
    from assistant.answer.retrieval import Retriever

    index_dir = kept.dir / f"files-{n}" if kept is not None else workdir / "index"
    store: Any = idx.FileIndexStore(index_dir) if backend == "file" else idx.open_store(_settings(workdir, url))
    if content is None:
        assert kept is not None
        written = kept.written(backend)
        assert written is not None
        version = written["version"]
    else:
        _trim()
        rss0 = common.rss_mb()
        _reset_peak()
        t0 = time.perf_counter()
        version = store.write(content)
        write_s = time.perf_counter() - t0
        store.publish(version)
        write_peak = max(0.0, common.proc_status().get("VmHWM", 0.0) - rss0)
        written = {"version": version, "sentences": len(content.sentences), "write_s": round(write_s, 1),
                   "passages_per_s": round(n / write_s), "write_peak_rss_mb": round(write_peak)}
        if kept is not None:
            kept.save_written(backend, written)
    _trim()
    before_open = common.rss_mb()
    t0 = time.perf_counter()
    reader = store.open(version)
    reader.query_terms("opwarmen")  # the analyser's vocabulary is part of a usable version
    load_s = time.perf_counter() - t0
    retriever = Retriever(reader)
    for text, qv in questions:  # warm-up: one pass, so that a version opened right after a server start is
        retriever.search(text, qv, 10)  # measured in steady state, not while its pages are first read from disk
    hybrid1 = _timed(lambda q: retriever.search(q[0], q[1], 10), questions)
    hybrid8, wall8 = _concurrent(lambda q: retriever.search(q[0], q[1], 10), questions * 2, 8)
    terms = [reader.query_terms(text) for text, _ in questions]
    lexical = _timed(lambda tm: reader.lexical_search(tm, 100), terms)
    dense = _timed(lambda q: reader.dense_search(q[1], 100), questions)
    found = [[h.passage.id for h in retriever.search(text, qv, 10).hits] for text, qv in questions]
    dense_found = [reader.dense_search(qv, 10)[0].tolist() for _, qv in questions]
    exact_dense = [ExactDense(reader, vectors).dense_search(qv, 10)[0].tolist() for _, qv in questions]
    row: dict[str, Any] = {
        "backend": backend, "n": n, **{k: v for k, v in written.items() if k != "version"},
        "write_reused": content is None,
        "load_s": round(load_s, 2), "reader_rss_mb": round(common.rss_mb() - before_open),
        "hybrid_c1_ms": _pct(hybrid1), "hybrid_c8_ms": _pct(hybrid8), "hybrid_c8_qps": round(len(hybrid8) / wall8, 1),
        "lexical_ms": _pct(lexical), "dense_ms": _pct(dense),
        "dense_recall@10": round(common.recall_at(dense_found, exact_dense, 10), 4),
        "vector_index": reader.manifest.vector_index, "loadavg": common.loadavg()[0],
    }
    if truth is not None:
        row["hybrid_recall@10"] = round(float(np.mean([len(set(f) & set(t)) / max(1, len(t))
                                                        for f, t in zip(found, truth, strict=True)])), 4)
    if backend == "file":
        row["disk_mb"] = round(_dir_mb(index_dir / "versions" / version))
    else:
        from assistant.index.postgres.codec import schema_of as _schema_of
        from assistant.stores.pg import database

        schema = _schema_of(version)
        row["disk_mb"] = round(database(url).rows(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace "
            "WHERE s.nspname = %s AND c.relkind IN ('r', 'm')", (schema,))[0][0] / 1024 / 1024)
    print(_store_line(row), flush=True)
    return row, reader


def _reset_peak() -> None:
    """Start VmHWM (peak RSS) afresh, so that it measures one step (Linux: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _settings(workdir: Path, url: str) -> Any:
    from assistant.config import Settings

    return Settings(data_dir=workdir / "data", corpus_dir=workdir, database_url=url)


def _store_line(r: dict[str, Any]) -> str:
    return (f"{r['n']:>9,} {r['backend']:<8} write {r['write_s']:>7.1f} s ({r['passages_per_s']:,}/s, peak +"
            f"{r['write_peak_rss_mb']} MB)  load {r['load_s']:.2f} s  hybrid c1 p50 {r['hybrid_c1_ms']['p50']} "
            f"p95 {r['hybrid_c1_ms']['p95']} ms  c8 p50 {r['hybrid_c8_ms']['p50']} p95 {r['hybrid_c8_ms']['p95']} ms "
            f"({r['hybrid_c8_qps']}/s)  lexical p95 {r['lexical_ms']['p95']} ms  dense p95 {r['dense_ms']['p95']} ms  "
            f"recall@10 hybrid {r.get('hybrid_recall@10', '—')} dense {r['dense_recall@10']}  disk {r['disk_mb']} MB  "
            f"reader +{r['reader_rss_mb']} MB  (load {r['loadavg']:.1f})")


def bench_ask(reader: Any, questions: list[tuple[str, np.ndarray]], rounds: int = 3) -> dict[str, Any]:
    """Assistant.ask on the real model over the file version against the floor (one query embedding)."""
    from assistant import Assistant
    from assistant.config import Settings

    embedder, _ = common.real_embedder()
    assistant = Assistant(Settings(data_dir=Path("/nonexistent"), corpus_dir=common.CORPUS),
                          _OneVersion(reader), embedder, follow=False)
    texts = [text for text, _ in questions[:50]]
    for text in texts[:5]:
        assistant.ask(text)
        embedder.embed_queries([text])
    floor, ask = [], []
    for r in range(rounds):
        for text in texts:
            for step in (("floor", "ask") if r % 2 == 0 else ("ask", "floor")):
                t0 = time.perf_counter()
                if step == "floor":
                    embedder.embed_queries([text])
                    floor.append(time.perf_counter() - t0)
                else:
                    assistant.ask(text)
                    ask.append(time.perf_counter() - t0)
    out = {"floor_ms": _pct(floor), "ask_ms": _pct(ask)}
    out["ratio_p50"] = round(out["ask_ms"]["p50"] / out["floor_ms"]["p50"], 3)
    print(f"ask p50 {out['ask_ms']['p50']} ms vs floor {out['floor_ms']['p50']} ms: ratio {out['ratio_p50']}",
          flush=True)
    return out


class _OneVersion:
    """A store that holds one already opened version (the Assistant needs a store)."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader

    def current_version(self) -> str:
        return str(self.reader.version_id)

    def open(self, version: str | None = None) -> Any:
        return self.reader

    def read_last_ingest(self) -> None:
        return None

    def describe(self) -> str:
        return "bench"


class Kept:
    """``--keep DIR``: what a run wrote for one size (the stores' versions, the embedded server, the vectors and
    questions), so that the query half can be measured again without generating and writing for hours."""

    def __init__(self, base: Path, n: int) -> None:
        self.dir, self.n = base, n
        base.mkdir(parents=True, exist_ok=True)

    def _path(self, what: str) -> Path:
        return self.dir / f"{what}-{self.n}"

    def written(self, backend: str) -> dict[str, Any] | None:
        import json

        path = self._path(f"written-{backend}").with_suffix(".json")
        return json.loads(path.read_text()) if path.is_file() else None  # type: ignore[no-any-return]

    def save_written(self, backend: str, written: dict[str, Any]) -> None:
        import json

        self._path(f"written-{backend}").with_suffix(".json").write_text(json.dumps(written))

    def reusable(self, backends: list[str]) -> bool:
        return self._path("questions").with_suffix(".pkl").is_file() and all(self.written(b) for b in backends)

    def save_inputs(self, vectors: np.ndarray, questions: list[tuple[str, np.ndarray]]) -> None:
        import pickle

        np.save(self._path("vectors").with_suffix(".npy"), vectors)
        self._path("questions").with_suffix(".pkl").write_bytes(pickle.dumps(questions))

    def load_inputs(self) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
        return np.load(self._path("vectors").with_suffix(".npy")), self.questions()

    def questions(self) -> list[tuple[str, np.ndarray]]:
        import pickle

        return pickle.loads(self._path("questions").with_suffix(".pkl").read_bytes())  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def postgres(self) -> Iterator[str]:
        """The kept embedded server, started for the length of the block; yields its URL."""
        from bots.localdb import LocalServer

        server = LocalServer(self._path("postgres") / "postgres")
        try:
            yield server.start().url
        finally:
            server.stop()


def run_stores(sizes: list[int], backends: list[str], url: str | None, ask: bool,
               keep: Path | None = None) -> list[dict[str, Any]]:
    import shutil
    import tempfile

    import faiss

    faiss.omp_set_num_threads(1)  # as in a `wegwijzer serve` worker (OMP_NUM_THREADS=1)

    rows = []
    for n in sizes:
        workdir = Path(tempfile.mkdtemp(prefix="wegwijzer-bench-stores-"))
        server = None
        kept = Kept(keep, n) if keep is not None else None
        try:
            model = None
            if ask:
                embedder, _ = common.real_embedder()
                from assistant.index import ModelInfo

                model = ModelInfo.of(embedder.identity)
            t0 = time.perf_counter()
            if kept is not None and kept.reusable(backends):
                content = None
                vectors, questions = kept.load_inputs()
                print(f"{n:,} synthetic passages: the versions kept in {kept.dir} are queried again", flush=True)
            else:
                content, vectors, questions = synthetic_content(n, model, workdir)
                print(f"{n:,} synthetic passages, {len(content.sentences):,} sentences generated in "
                      f"{time.perf_counter() - t0:.0f} s", flush=True)
                if kept is not None:
                    kept.save_inputs(vectors, questions)
            truth = None
            readers = {}
            for backend in backends:
                db_url = ""
                if backend == "postgres":
                    if url is None:
                        server, db_url = local_postgres(n, kept.dir / f"postgres-{n}" if kept else None)
                    else:
                        db_url = url
                row, reader = bench_store(backend, n, content, vectors, questions, truth, workdir, db_url, kept)
                if truth is None:  # both stores' BM25 is exact: the first one with exhaustive dense search is truth
                    from assistant.answer.retrieval import Retriever

                    exact = Retriever(ExactDense(reader, vectors))
                    truth = [[h.passage.id for h in exact.search(t, q, 10).hits] for t, q in questions]
                    plain = Retriever(reader)
                    row["hybrid_recall@10"] = round(float(np.mean([
                        len({h.passage.id for h in plain.search(t, q, 10).hits} & set(g)) / max(1, len(g))
                        for (t, q), g in zip(questions, truth, strict=True)])), 4)
                readers[backend] = reader
                rows.append(row)
            if ask and "file" in readers:
                rows[-len(backends)]["ask"] = bench_ask(readers["file"], questions)
            if "file" in readers and "postgres" in readers:
                same = sum(1 for t, q in questions[:50]
                           if [h.passage.id for h in _retr(readers["file"]).search(t, q, 10).hits] ==
                           [h.passage.id for h in _retr(readers["postgres"]).search(t, q, 10).hits])
                rows[-1]["same_top10_as_file"] = f"{same}/50"
        finally:
            if server is not None:
                server.stop()
                if kept is None:
                    shutil.rmtree(server.pgdata.parent, ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)
    return rows


def _retr(reader: Any) -> Any:
    from assistant.answer.retrieval import Retriever

    return Retriever(reader)


def run(sizes: list[int], store_sizes: list[int], backends: list[str], url: str | None = None,
        ask: bool = False, keep: Path | None = None) -> dict[str, Any]:
    import faiss

    from assistant.index import files
    from assistant.index.postgres import store as pg

    vectors = []
    if sizes:
        print(f"synthetic clustered unit vectors, dim {DIM}, {QUERIES} queries per size "
              f"(the 1M vectors are synthetic); faiss OpenMP threads: {faiss.omp_get_max_threads()}", flush=True)
        for n in sizes:
            vectors.extend(bench_vectors(n))
    stores = run_stores(store_sizes, backends, url, ask, keep) if store_sizes else []
    return {"vectors": vectors, "stores": stores, "dim": DIM, "queries": QUERIES,
            "faiss_threads": faiss.omp_get_max_threads(), "hnsw_threshold": files.HNSW_THRESHOLD,
            "hnsw": {"M": files.HNSW_M, "efConstruction": files.HNSW_EF_CONSTRUCTION, "efSearch": files.HNSW_EF_SEARCH},
            "pg_ivfflat": {"threshold": pg.VECTOR_INDEX_THRESHOLD, "rows_per_list": pg.IVF_ROWS_PER_LIST},
            "peak_rss_mb": common.proc_status().get("VmHWM"), "loadavg_end": common.loadavg()}


def stores_markdown(r: dict[str, Any]) -> str:
    rows = []
    for x in r["stores"]:
        rows.append([f"{x['n']:,}", x["backend"], x["vector_index"], f"{x['write_s']:.0f}", f"{x['passages_per_s']:,}",
                     f"{x['write_peak_rss_mb']:,}", f"{x['disk_mb']:,}", f"{x['load_s']:.2f}",
                     f"{x['reader_rss_mb']:,}",
                     f"{x['hybrid_c1_ms']['p50']:.1f} / {x['hybrid_c1_ms']['p95']:.1f}",
                     f"{x['hybrid_c8_ms']['p50']:.1f} / {x['hybrid_c8_ms']['p95']:.1f}", f"{x['hybrid_c8_qps']}",
                     f"{x.get('hybrid_recall@10', float('nan')):.3f}",
                     f"{x['lexical_ms']['p50']:.1f} / {x['lexical_ms']['p95']:.1f}",
                     f"{x['dense_ms']['p50']:.1f} / {x['dense_ms']['p95']:.1f}", f"{x['dense_recall@10']:.3f}",
                     f"{x['loadavg']:.1f}"])
    pg = r["pg_ivfflat"]
    out = [
        f"Synthetic versions (passages of ~{WORDS_PER_PASSAGE} corpus words in {SENTENCES_PER_PASSAGE} sentences, "
        f"{PASSAGES_PER_DOCUMENT} per document, clustered vectors of dim {r['dim']}, float16 sentence vectors), "
        f"written through each store's `write` and queried through the product's `Retriever` ({r['queries']} "
        "questions: four to six words of a passage, with a vector near it; the query embedding is not included). "
        "*write* is everything an ingest does after embedding (analysis, BM25, vector index, passages and "
        "sentences stored); *load* opens the version and its analyser (what a worker pays to switch); "
        "*reader RSS* is what the querying process grew by; *recall@10* is against the exact hybrid "
        "(exhaustive dense and BM25 through the same fusion). Latencies are ms p50 / p95; c8 = 8 threads "
        f"asking at once. PostgreSQL: embedded server on the same machine, IVFFlat from {pg['threshold']:,} "
        "passages with passages / 1000 lists and sqrt(lists) probes (1,000 and 32 at 1M); FAISS HNSW "
        f"M {r['hnsw']['M']}, efSearch {r['hnsw']['efSearch']} from {r['hnsw_threshold']:,}.",
        "",
        common.md_table(["passages", "store", "vectors", "write s", "passages/s", "write peak MB", "disk MB",
                         "load s", "reader RSS MB", "hybrid c1", "hybrid c8", "c8 q/s", "hybrid recall@10",
                         "lexical (k=100)", "dense (k=100)", "dense recall@10", "load avg"], rows),
    ]
    asks = [x for x in r["stores"] if "ask" in x]
    for x in asks:
        a = x["ask"]
        out += ["", f"`Assistant.ask` on the real model over the {x['n']:,}-passage file version: p50 "
                f"{a['ask_ms']['p50']:.1f} ms against the query-embedding floor {a['floor_ms']['p50']:.1f} ms: "
                f"**{a['ratio_p50']:.2f}×** (goal ≤ 1.5×)."]
    return "\n".join(out)


def to_markdown(r: dict[str, Any]) -> str:
    h = r["hnsw"]
    out: list[str] = []
    if r["vectors"]:
        rows = []
        for v in r["vectors"]:
            rows.append([f"{v['n']:,}", v["kind"], f"{v['build_s']:.2f}", f"{v['rss_delta_mb']:.0f}",
                         f"{v['file_mb']:.0f}", f"{v['load_s']:.2f}", f"{v['p50_ms']:.2f}", f"{v['p95_ms']:.2f}",
                         f"{v['p50_1thread_ms']:.2f}" if "p50_1thread_ms" in v else "—",
                         f"{v['p50_k100_ms']:.2f}", f"{v['recall@10']:.3f}",
                         f"{v['recall@100']:.3f}" if "recall@100" in v else "1.000"])
        out += [
            f"Synthetic vectors (dim {r['dim']}, two-level Gaussian clusters, median top-1 cosine of a query "
            f"≈ {r['vectors'][0]['median_top1_cosine']}); the 1M case is synthetic too. {r['queries']} single "
            f"queries per size. HNSW: M={h['M']}, efConstruction={h['efConstruction']}, efSearch={h['efSearch']}. "
            f"FAISS OpenMP threads: {r['faiss_threads']}. Memory is the growth of the process RSS during the "
            "build; file is the saved `vectors.faiss`; load is `faiss.read_index`. The single-threaded column "
            "is what a `wegwijzer serve` worker (OMP_NUM_THREADS=1) gets.",
            "",
            common.md_table(["passages", "index", "build s", "RSS +MB", "file MB", "load s", "p50 ms (k=10)",
                             "p95 ms (k=10)", "p50 ms 1 thread", "p50 ms (k=100)", "recall@10", "recall@100"], rows),
            "",
            "HNSW efSearch sweep (recall@10 / p50 ms at k=10):",
            "",
            common.md_table(["passages"] + [f"ef={e}" for e in EF_SWEEP],
                            [[f"{v['n']:,}"] + [f"{s['recall@10']:.3f} / {s['p50_ms']:.2f}" for s in v["ef_sweep"]]
                             for v in r["vectors"] if v["kind"] == "hnsw"]),
        ]
    if r.get("stores"):
        out += (["", "### The two stores"] if out else []) + ["", stores_markdown(r)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000,100000,1000000", help="FAISS flat vs HNSW sizes")
    parser.add_argument("--store-sizes", "--lexical-sizes", dest="store_sizes", default="100000",
                        help="synthetic versions written and queried through the stores")
    parser.add_argument("--backends", default="file,postgres")
    parser.add_argument("--database-url", default=None, help="PostgreSQL for the postgres store "
                        "(default: a throw-away embedded server)")
    parser.add_argument("--ask", action="store_true", help="also Assistant.ask on the real model (file store)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the written versions, server and inputs here; a second run with the same "
                             "directory queries them again without generating and writing")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    store_sizes = [int(s) for s in args.store_sizes.split(",") if s.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    result = run(sizes, store_sizes, backends, args.database_url, args.ask, args.keep)
    common.write_json(result, args.json_out)
    if result["stores"]:
        print("\n" + stores_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
