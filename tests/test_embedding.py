"""Embedding backends and micro-batching.

Fast tests use a slow fake embedder to prove the batching behaviour; tests marked ``real_model``
check the backends on the bundled model: selection, fingerprints, the mismatch refusal, batched
vectors equal to single ones, and that the ONNX export is made once, offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.config import DEFAULT_EMBEDDING_BACKEND, DEFAULT_MODEL, REPO_ROOT, Settings
from assistant.errors import ConfigError, ModelMismatchError
from assistant.model import embedding
from assistant.model.embedding import BatchingEmbedder, ModelIdentity

from .conftest import CORPUS, shared_models_dir
from .fakes import FakeEmbedder


class SlowEmbedder(FakeEmbedder):
    """The fake embedder, taking ``delay`` seconds per call and recording the size of every call."""

    def __init__(self, delay: float = 0.05, fail_on: str | None = None) -> None:
        super().__init__()
        self.delay = delay
        self.fail_on = fail_on
        self.sizes: list[int] = []
        self.threads: set[int] = set()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.sizes.append(len(texts))
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in texts:
            raise ValueError(f"cannot embed {self.fail_on!r}")
        return super().embed_queries(texts)


def _ask_concurrently(batcher: BatchingEmbedder, questions: list[str]) -> dict[str, object]:
    """Every question from its own thread, all released at once; returns question -> vector or exception."""
    results: dict[str, object] = {}
    barrier = threading.Barrier(len(questions))

    def ask(q: str) -> None:
        barrier.wait()
        try:
            results[q] = batcher.embed_queries([q])
        except Exception as exc:  # collected for the assertions
            results[q] = exc

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a caller never got its answer"
    return results


QUESTIONS = [f"vraag {i} over inburgering en participatie" for i in range(12)]


def test_concurrent_questions_are_embedded_in_batches() -> None:
    inner = SlowEmbedder(delay=0.05)
    batcher = BatchingEmbedder(inner)
    results = _ask_concurrently(batcher, QUESTIONS)
    # The first caller runs alone; the eleven that arrived meanwhile share (at most) a couple of calls.
    assert sum(inner.sizes) == len(QUESTIONS)
    assert len(inner.sizes) <= 3, inner.sizes
    assert max(inner.sizes) >= 6, inner.sizes
    reference = FakeEmbedder()
    for q in QUESTIONS:  # every caller got the vector of its own question
        np.testing.assert_allclose(results[q], reference.embed_queries([q]))


def test_a_lone_question_is_not_delayed() -> None:
    """No collection window: a question that finds the model idle is embedded at once, in its own thread."""
    inner = SlowEmbedder(delay=0.0)
    batcher = BatchingEmbedder(inner)
    t0 = time.perf_counter()
    for q in QUESTIONS * 2:
        batcher.embed_queries([q])
    elapsed = time.perf_counter() - t0
    assert inner.sizes == [1] * 24 and inner.threads == {threading.get_ident()}
    # 24 fake embeddings take well under a millisecond each; any waiting for companions would show.
    assert elapsed < 0.25, f"24 lone questions took {elapsed * 1000:.0f} ms"


def test_batches_are_bounded() -> None:
    inner = SlowEmbedder(delay=0.05)
    batcher = BatchingEmbedder(inner, max_batch=4)
    _ask_concurrently(batcher, QUESTIONS)
    assert max(inner.sizes) <= 4 and sum(inner.sizes) == len(QUESTIONS)


def test_a_request_larger_than_the_bound_still_runs() -> None:
    inner = SlowEmbedder(delay=0.0)
    batcher = BatchingEmbedder(inner, max_batch=2)
    vectors = batcher.embed_queries(QUESTIONS[:5])
    assert vectors.shape == (5, inner.identity.dim) and inner.sizes == [5]


def test_an_error_reaches_only_the_caller_whose_question_failed() -> None:
    inner = SlowEmbedder(delay=0.05, fail_on=QUESTIONS[7])
    batcher = BatchingEmbedder(inner)
    results = _ask_concurrently(batcher, QUESTIONS)
    assert isinstance(results[QUESTIONS[7]], ValueError)
    others = [q for q in QUESTIONS if q != QUESTIONS[7]]
    assert all(isinstance(results[q], np.ndarray) for q in others)
    # ...and the batcher keeps working afterwards.
    assert batcher.embed_queries(["nog een vraag"]).shape == (1, inner.identity.dim)


def test_keyboard_interrupt_does_not_strand_waiting_callers() -> None:
    class Interrupting(SlowEmbedder):
        def embed_queries(self, texts: list[str]) -> np.ndarray:
            if self.sizes:  # the second call (the collected batch) is interrupted
                self.sizes.append(len(texts))
                raise KeyboardInterrupt
            return super().embed_queries(texts)

    batcher = BatchingEmbedder(Interrupting(delay=0.3))
    outcomes: dict[str, str] = {}

    def ask(q: str) -> None:
        try:
            batcher.embed_queries([q])
            outcomes[q] = "ok"
        except KeyboardInterrupt:
            outcomes[q] = "interrupted"

    first = threading.Thread(target=ask, args=("eerste",))
    first.start()
    time.sleep(0.1)  # the first question is being embedded; the next five queue behind it
    threads = [threading.Thread(target=ask, args=(q,)) for q in QUESTIONS[:5]]
    for t in threads:
        t.start()
    for t in [first, *threads]:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in [first, *threads]), "a waiting caller hung after the interrupt"
    assert outcomes == {"eerste": "ok", **{q: "interrupted" for q in QUESTIONS[:5]}}


def test_empty_and_passages_pass_through() -> None:
    inner = SlowEmbedder(delay=0.0)
    batcher = BatchingEmbedder(inner)
    assert batcher.embed_queries([]).shape[0] == 0
    assert batcher.embed_passages(["een passage"]).shape == (1, inner.identity.dim)
    assert inner.sizes == [0] and inner.passages_embedded == 1
    assert batcher.identity == inner.identity


# ---------------------------------------------------------------- settings and identity

def test_backend_setting_is_validated() -> None:
    env = {"WEGWIJZER_DATA_DIR": "/tmp/x"}
    assert Settings.from_env(env).embedding_backend == DEFAULT_EMBEDDING_BACKEND
    for name in ("torch", "onnx", "onnx-int8", " ONNX-INT8 "):
        assert Settings.from_env({**env, "WEGWIJZER_EMBEDDING_BACKEND": name}).embedding_backend == \
            name.strip().lower()
    with pytest.raises(ConfigError, match="'tensorflow': moet een van deze zijn: onnx-int8, onnx, torch"):
        Settings.from_env({**env, "WEGWIJZER_EMBEDDING_BACKEND": "tensorflow"})
    assert Settings.from_env({**env, "WEGWIJZER_EMBEDDING_THREADS": "2"}).embedding_threads == 2
    with pytest.raises(ConfigError, match="WEGWIJZER_EMBEDDING_THREADS"):
        Settings.from_env({**env, "WEGWIJZER_EMBEDDING_THREADS": "-1"})


def test_identity_of_an_index_from_before_backends_is_torch() -> None:
    old = {"name": "multilingual-e5-small", "fingerprint": "abc", "dim": 384}
    identity = ModelIdentity.from_dict(old)
    assert identity.backend == "torch" and identity.label == "multilingual-e5-small (torch)"
    assert ModelIdentity.from_dict(identity.to_dict()) == identity


def test_int8_fingerprint_follows_the_quantised_file(tmp_path: Path) -> None:
    assert embedding.backend_fingerprint("base", "torch", None) == "base"
    assert embedding.backend_fingerprint("base", "onnx", tmp_path) == "base"
    (tmp_path / embedding.ONNX_MARKER).write_text(json.dumps({"int8_sha256": "1" * 64}))
    first = embedding.backend_fingerprint("base", "onnx-int8", tmp_path)
    assert first != "base" and len(first) == 16
    (tmp_path / embedding.ONNX_MARKER).write_text(json.dumps({"int8_sha256": "2" * 64}))
    assert embedding.backend_fingerprint("base", "onnx-int8", tmp_path) != first


def test_serving_processes_default_to_one_compute_thread(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import uvicorn

    from bots.web import server

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app))
    monkeypatch.setattr("bots.web.app.create_app", lambda settings: settings)
    # Only the thread setting is under test: no metrics directory in the environment, no watcher.
    monkeypatch.setattr(server, "prepare_metrics_dir", lambda settings: None)
    monkeypatch.setattr(server, "_start_watcher", lambda settings: None)
    monkeypatch.setenv("WEGWIJZER_EMBEDDING_THREADS", "")  # serve() sets it; restored after the test
    server.serve(Settings(data_dir=tmp_path, corpus_dir=tmp_path))
    assert seen["app"].embedding_threads == 1  # type: ignore[attr-defined]
    assert os.environ["WEGWIJZER_EMBEDDING_THREADS"] == "1"
    server.serve(Settings(data_dir=tmp_path, corpus_dir=tmp_path, embedding_threads=2))
    assert seen["app"].embedding_threads == 2  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the real model

@pytest.fixture(scope="module")
def backends() -> dict[str, embedding.SentenceTransformerEmbedder]:
    return {b: embedding.open_embedder(DEFAULT_MODEL, shared_models_dir(), backend=b, threads=1)
            for b in embedding.BACKENDS}


SAMPLE = [
    "Wat zijn pleinmakers?",
    "Hoe betrek je nieuwkomers bij het lokaal integratiebeleid?",
    "What can a city do when its budget is limited?",
    "Quelles sont les obligations du parcours d'intégration civique ?",
    "Wanneer vond de studiedag over participatief integratiebeleid plaats, en wie sprak er die dag?",
    "OCMW",
]


@pytest.mark.real_model
def test_backends_identities(backends: dict[str, embedding.SentenceTransformerEmbedder]) -> None:
    torch_id, onnx_id, int8_id = (backends[b].identity for b in ("torch", "onnx", "onnx-int8"))
    assert (torch_id.backend, onnx_id.backend, int8_id.backend) == ("torch", "onnx", "onnx-int8")
    assert torch_id.dim == onnx_id.dim == int8_id.dim == 384
    # fp32 ONNX computes torch's vectors, so indexes are shared; int8 vectors differ, so they are not.
    assert onnx_id.fingerprint == torch_id.fingerprint
    assert int8_id.fingerprint != torch_id.fingerprint


@pytest.mark.real_model
def test_backends_agree_with_torch(backends: dict[str, embedding.SentenceTransformerEmbedder]) -> None:
    reference = backends["torch"].embed_queries(SAMPLE)
    onnx = backends["onnx"].embed_queries(SAMPLE)
    int8 = backends["onnx-int8"].embed_queries(SAMPLE)
    assert np.sum(onnx * reference, axis=1).min() > 0.99999
    cos8 = np.sum(int8 * reference, axis=1)
    assert 0.98 < cos8.min() < 0.99999, cos8  # close, and really the quantised model
    for v in (onnx, int8):
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


@pytest.mark.real_model
@pytest.mark.parametrize("backend", embedding.BACKENDS)
def test_batched_vectors_equal_single_ones(backends: dict[str, embedding.SentenceTransformerEmbedder],
                                           backend: str) -> None:
    embedder = backends[backend]
    singles = np.vstack([embedder.embed_queries([q]) for q in SAMPLE])
    batcher = BatchingEmbedder(embedder)
    results = _ask_concurrently(batcher, SAMPLE)
    batched = np.vstack([results[q] for q in SAMPLE])  # type: ignore[misc]
    assert batcher.largest_batch > 1, "the concurrent questions were not batched"
    np.testing.assert_allclose(batched, singles, atol=2e-5)
    np.testing.assert_allclose(embedder.embed_queries(SAMPLE), singles, atol=2e-5)


@pytest.mark.real_model
def test_an_int8_index_refuses_fp32_queries(tmp_path: Path,
                                           backends: dict[str, embedding.SentenceTransformerEmbedder]) -> None:
    from assistant import Assistant
    from ingest.build import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(next(CORPUS.glob("*.md")), corpus)
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedding_backend="onnx-int8")
    ingest(settings, embedder=backends["onnx-int8"])
    assert Assistant.load(settings=settings, embedder=backends["onnx-int8"]).ask("Wat is IncluCities?")
    with pytest.raises(ModelMismatchError) as caught:
        Assistant.load(settings=settings, embedder=backends["onnx"])
    message = str(caught.value)
    assert "ander taalmodel" in message and "(onnx-int8)" in message and "(onnx)" in message
    # torch and ONNX fp32 share vectors, so an index built by one answers with the other.
    settings2 = Settings(data_dir=tmp_path / "data2", corpus_dir=corpus)
    ingest(settings2, embedder=backends["torch"])
    answer = Assistant.load(settings=settings2, embedder=backends["onnx"]).ask("Wat is IncluCities?")
    assert answer.citations or answer.related  # passages come back (whether they answer is not this test's point)


@pytest.mark.real_model
def test_onnx_export_is_made_once_and_offline(tmp_path: Path) -> None:
    """A fresh models dir: `wegwijzer setup` exports offline (no network, HF_HUB_OFFLINE=1); a second run
    reuses the files untouched."""
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    # The bundled HF model is copied, not converted again: this test is about the ONNX step.
    shutil.copytree(shared_models_dir() / DEFAULT_MODEL, models / DEFAULT_MODEL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEGWIJZER_")}
    env.update(WEGWIJZER_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               WEGWIJZER_EMBEDDING_BACKEND="onnx-int8",
               # Any attempt to reach a hub fails fast instead of waiting for a timeout.
               HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="")
    cmd = [sys.executable, "-m", "bots.cli", "setup"]
    first = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    exports = [p for p in (models / "onnx").iterdir() if p.is_dir()]
    assert len(exports) == 1
    files = {p.relative_to(exports[0]).as_posix(): p.stat().st_mtime_ns for p in exports[0].rglob("*.onnx")}
    assert set(files) == set(embedding.ONNX_FILES.values())
    assert not list((models / "onnx").glob(".*.partial")), "a staging directory was left behind"
    second = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert "exporting" not in second.stderr
    assert {p.relative_to(exports[0]).as_posix(): p.stat().st_mtime_ns for p in exports[0].rglob("*.onnx")} == files
    assert "(onnx-int8)" in second.stdout and first.stdout == second.stdout
