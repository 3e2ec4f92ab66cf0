"""OpenVINO against ONNX Runtime for the question embedding, in the product's own path (issue 20, item 8).

Both backends run the same ONNX export (``data/models/onnx/...``, :func:`materialize_onnx`). ONNX Runtime
runs it through sentence-transformers, as the ``onnx`` backend does; OpenVINO reads the same file
(``openvino.Core().read_model``), tokenises with the model's ``tokenizer.json`` and mean-pools and normalises
as sentence-transformers does for e5. Both run on ``--threads`` compute threads (1: a serving worker).

Measured in one process, the two backends alternating question by question (A, B, then B, A in the next
round, so neither always runs on a cache the other just warmed), over the dev questions (dev + near-miss) and
the held-out ``bench/questions/test_*.jsonl``:

1. the question embedding alone: ``embed_queries([q])`` through the product's ``BatchingEmbedder``;
2. the whole ``Assistant.ask(q)``: two Assistants on the same index (built by ``onnx``) that differ only in
   their embedder.

"Keeps every answer": per question, the same found/refused verdict, the same citations in the same order
(passage, span, text) and the same answer text; every difference is printed.

    .venv/bin/python bench/openvino_trial.py [--rounds 5] [--threads 1] [--hint f32] [--json-out FILE]

Needs ``openvino`` (the ``bench`` extra: ``pip install -e ".[bench]"``).
Measured 2026-12-06: every answer kept, but slower at every level, so
not adopted; the figures are in docs/benchmarks.md ("OpenVINO for the question").
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import common
import numpy as np

HELD_OUT = common.question_files("test")
DEV = [common.DEV_SET, common.DEV_SET.with_name("dev_nearmiss.jsonl")]


class OpenVinoEmbedder:
    """The ONNX export run by OpenVINO: tokenise, run, mean-pool over the attention mask, L2-normalise.

    ``hint`` is OpenVINO's ``INFERENCE_PRECISION_HINT`` (``f32``, ``bf16``); on a CPU without native bf16 the
    plugin ignores a bf16 hint and runs f32 (the compiled model reports what it runs: :attr:`precision`).
    """

    def __init__(self, onnx_dir: Path, identity: Any, *, threads: int = 0, hint: str = "f32",
                 batch_size: int = 16) -> None:
        import openvino as ov
        from tokenizers import Tokenizer

        onnx_dir = Path(onnx_dir)
        config = json.loads((onnx_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
        model_config = json.loads((onnx_dir / "config.json").read_text(encoding="utf-8"))
        self.max_length = min(int(config.get("model_max_length", 512)),
                              int(model_config.get("max_position_embeddings", 512)))
        self._tokenizer = Tokenizer.from_file(str(onnx_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_length)
        pad = str(config.get("pad_token", "<pad>"))
        self._tokenizer.enable_padding(pad_id=self._tokenizer.token_to_id(pad), pad_token=pad)
        properties: dict[str, Any] = {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY",
                                      "NUM_STREAMS": 1}
        if threads > 0:
            properties["INFERENCE_NUM_THREADS"] = threads
        core = ov.Core()
        self._compiled = core.compile_model(core.read_model(str(onnx_dir / "onnx" / "model.onnx")), "CPU",
                                            properties)
        self._inputs = {i.get_any_name() for i in self._compiled.inputs}
        self._request = self._compiled.create_infer_request()
        self.precision = self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        self.identity = identity
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        with self._lock:
            self._request.infer(feed)
            hidden = np.array(self._request.get_output_tensor(0).data, dtype=np.float32)  # a copy: the buffer is reused
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        out = np.zeros((len(texts), self.identity.dim), dtype=np.float32)
        # Longest first in batches, as sentence-transformers does, so padding stays small.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start:start + self._batch_size]
            out[chunk] = self._run([prompt + texts[i] for i in chunk])
        return out

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")


def read_all() -> list[Any]:
    from assistant.evaluation import read_questions

    return [q for path in DEV + HELD_OUT for q in read_questions(path)]


def _stats(values: list[float]) -> dict[str, float]:
    return {"p50": common.ms(common.percentile(values, 0.5)), "p90": common.ms(common.percentile(values, 0.9)),
            "n": len(values)}


def interleave(calls: dict[str, Any], items: list[str], rounds: int) -> dict[str, list[float]]:
    """Time each call on each item, the calls alternating item by item; their order flips every round."""
    names = list(calls)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for item in items:
            for name in order:
                t0 = time.perf_counter()
                calls[name](item)
                times[name].append(time.perf_counter() - t0)
    return times


def _citations(answer: Any) -> list[tuple[Any, ...]]:
    return [(c.n, c.passage_id, c.start, c.end, c.text) for c in answer.citations]


def compare_answers(a: Any, b: Any) -> list[str]:
    """What differs between two answers to the same question (verdict, citations, text, related passages)."""
    diffs = []
    if a.found != b.found:
        diffs.append(f"found {a.found} / {b.found}")
    if _citations(a) != _citations(b):
        diffs.append(f"citations {[c[1] for c in _citations(a)]} / {[c[1] for c in _citations(b)]}")
    if a.text != b.text:
        diffs.append("text differs")
    if [c.passage_id for c in a.related] != [c.passage_id for c in b.related]:
        diffs.append(f"related {[c.passage_id for c in a.related]} / {[c.passage_id for c in b.related]}")
    return diffs


def run(rounds: int = 5, threads: int = 1, hint: str = "f32") -> dict[str, Any]:
    from assistant import Assistant
    from assistant.config import DEFAULT_MODEL, Settings
    from assistant.model.embedding import BatchingEmbedder, load_embedder, onnx_dir_for
    from ingest.build import ingest

    questions = read_all()
    texts = [q.question for q in questions]
    t0 = time.perf_counter()
    onnx = load_embedder(DEFAULT_MODEL, common.SHARED_MODELS, backend="onnx", threads=threads)
    load_onnx_s = time.perf_counter() - t0
    onnx_dir = onnx_dir_for(DEFAULT_MODEL, onnx.identity.fingerprint, common.SHARED_MODELS)
    t0 = time.perf_counter()
    inner = OpenVinoEmbedder(onnx_dir, onnx.identity, threads=threads, hint=hint)
    load_ov_s = time.perf_counter() - t0
    ov = BatchingEmbedder(inner)

    a_vec, b_vec = onnx.embed_queries(texts), ov.embed_queries(texts)
    cos_batch = np.sum(a_vec * b_vec, axis=1)
    single = np.array([float(onnx.embed_queries([t])[0] @ ov.embed_queries([t])[0]) for t in texts])

    result: dict[str, Any] = {"questions": len(texts), "sets": [p.name for p in DEV + HELD_OUT], "rounds": rounds,
                              "threads": threads, "hint": hint, "openvino_runs": inner.precision,
                              "load_s": {"onnx": round(load_onnx_s, 2), "openvino": round(load_ov_s, 2)},
                              "cosine": {"single_min": round(float(single.min()), 8),
                                         "single_mean": round(float(single.mean()), 8),
                                         "batch_min": round(float(cos_batch.min()), 8)},
                              "loadavg_start": common.loadavg()}

    # (0) raw inference on the same token ids: ONNX Runtime's session (the product's options) against OpenVINO
    import onnxruntime as ort

    from assistant.model.embedding import ONNX_FILES, _session_options

    session = ort.InferenceSession(str(onnx_dir / ONNX_FILES["onnx"]), _session_options(threads),
                                   providers=["CPUExecutionProvider"])
    feeds = {}
    for t in texts:
        e = inner._tokenizer.encode("query: " + t)
        ids = np.array([e.ids], dtype=np.int64)
        feeds[t] = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    raw_calls = {"onnx": lambda q: session.run(None, feeds[q]), "openvino": lambda q: inner._request.infer(feeds[q])}
    interleave(raw_calls, texts, 1)
    raw = interleave(raw_calls, texts, rounds)
    result["raw_ms"] = {n: _stats(v) for n, v in raw.items()}

    # (1) the question embedding alone, through the product's BatchingEmbedder
    calls = {"onnx": lambda q: onnx.embed_queries([q]), "openvino": lambda q: ov.embed_queries([q])}
    interleave(calls, texts, 1)  # warm-up: per-shape kernels, allocator, caches
    embed = interleave(calls, texts, rounds)
    result["embed_ms"] = {n: _stats(v) for n, v in embed.items()}

    # (2) Assistant.ask: one index (built by onnx), two Assistants differing only in their embedder
    with common.temp_data_dir() as data:
        settings = Settings(data_dir=data, corpus_dir=common.CORPUS)
        ingest(settings, embedder=onnx)
        assistants = {"onnx": Assistant.load(settings=settings, embedder=onnx, follow=False),
                      "openvino": Assistant.load(settings=settings, embedder=ov, follow=False)}
        differences = []
        found = {"onnx": 0, "openvino": 0}
        score_gap = 0.0
        for q in questions:
            a, b = (assistants[n].ask(q.question) for n in ("onnx", "openvino"))
            found["onnx"] += a.found
            found["openvino"] += b.found
            score_gap = max([score_gap] + [abs(x.score - y.score) for x, y in zip(a.citations, b.citations,
                                                                                  strict=False)])
            if diffs := compare_answers(a, b):
                differences.append({"set": q.set, "id": q.id, "question": q.question, "diffs": diffs})
        ask_calls = {n: (lambda q, a=a: a.ask(q)) for n, a in assistants.items()}
        interleave(ask_calls, texts, 1)
        ask = interleave(ask_calls, texts, rounds)
        for assistant in assistants.values():
            assistant.close()
    result["ask_ms"] = {n: _stats(v) for n, v in ask.items()}
    result["answers"] = {"compared": len(questions), "found": found, "differences": differences,
                         "max_citation_score_gap": round(score_gap, 6)}
    for part in ("raw_ms", "embed_ms", "ask_ms"):
        r = result[part]
        result[part]["ratio_p50"] = round(r["openvino"]["p50"] / r["onnx"]["p50"], 3)
        result[part]["ratio_p90"] = round(r["openvino"]["p90"] / r["onnx"]["p90"], 3)
    result["loadavg_end"] = common.loadavg()
    return result


def report_lines(r: dict[str, Any]) -> list[str]:
    lines = [f"{r['questions']} questions ({', '.join(r['sets'])}), {r['rounds']} rounds, {r['threads']} thread(s), "
             f"OpenVINO hint {r['hint']} -> runs {r['openvino_runs']}",
             f"load: onnx {r['load_s']['onnx']} s, openvino {r['load_s']['openvino']} s",
             f"cosine openvino/onnx: one question min {r['cosine']['single_min']:.8f} mean "
             f"{r['cosine']['single_mean']:.8f}; all in one batch min {r['cosine']['batch_min']:.8f}"]
    for part, label in (("raw_ms", "raw inference"), ("embed_ms", "embed_queries([q])"),
                        ("ask_ms", "Assistant.ask(q)")):
        m = r[part]
        lines.append(f"{label:20s} onnx p50 {m['onnx']['p50']:.2f} p90 {m['onnx']['p90']:.2f} ms | openvino p50 "
                     f"{m['openvino']['p50']:.2f} p90 {m['openvino']['p90']:.2f} ms | ratio p50 {m['ratio_p50']:.3f} "
                     f"p90 {m['ratio_p90']:.3f} ({m['onnx']['n']} each)")
    ans = r["answers"]
    lines.append(f"answers: {ans['compared']} compared, found onnx {ans['found']['onnx']} / openvino "
                 f"{ans['found']['openvino']}, {len(ans['differences'])} differ; largest citation score gap "
                 f"{ans['max_citation_score_gap']}")
    lines += [f"  {d['set']}:{d['id']} {d['question']!r}: {'; '.join(d['diffs'])}" for d in ans["differences"]]
    lines.append(f"load average: start {r['loadavg_start'][0]:.2f}, end {r['loadavg_end'][0]:.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="compute threads per backend (1: a serving worker)")
    parser.add_argument("--hint", default="f32", choices=("f32", "bf16"), help="OpenVINO inference precision hint")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.rounds, args.threads, args.hint)
    print("\n".join(report_lines(result)))
    common.write_json(result, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
