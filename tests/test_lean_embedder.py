"""The re-index job's lean ONNX embedder (assistant/model/lean.py) computes the vectors the product's embedder does.

The job embeds passages with it instead of sentence-transformers, so every vector it writes must be the one a
sentence-transformers ``onnx`` embedder would have written (which is also how questions are embedded).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.config import DEFAULT_MODEL, Settings
from assistant.model import embedding
from ingest.budgets import Budgets, read_and_cut
from ingest.build import embedding_text
from ingest.chunking import ChunkerSettings

from .conftest import CORPUS, REPO_ROOT, shared_models_dir

pytestmark = pytest.mark.real_model

EDGES = ["", "   ", "  spaties rondom  ", "x", "OCMW", "Één zin met é, ü en — streepjes.\nNieuwe regel\t tab.",
         "woord " * 900]  # the last is cut at the model's 512 tokens


def _corpus_texts() -> list[str]:
    texts = []
    for path in sorted(CORPUS.iterdir()):
        if path.suffix in (".md", ".txt"):
            read = read_and_cut(path, path.name, ChunkerSettings(), Budgets(isolate=False))
            texts += [embedding_text(read.title, c.section, c.text) for c in read.chunks]
    return texts


def test_the_lean_embedder_gives_the_vectors_of_the_product_embedder() -> None:
    from assistant.model.lean import open_lean_embedder

    lean = open_lean_embedder(DEFAULT_MODEL, shared_models_dir(), threads=1)
    product = embedding.open_embedder(DEFAULT_MODEL, shared_models_dir(), backend="onnx", threads=1)
    assert lean.identity == product.identity  # an index it builds is the one the product would build
    passages = _corpus_texts()
    sentences = [s for p in passages[:12] for s in p.split(". ") if s]
    texts = EDGES + passages + sentences
    ours, theirs = lean.embed_passages(texts), product.embed_passages(texts)
    assert ours.shape == theirs.shape == (len(texts), 384) and ours.dtype == np.float32
    cosine = np.sum(ours * theirs, axis=1)
    assert cosine.min() > 0.99999, [texts[i][:40] for i in np.where(cosine <= 0.99999)[0]]
    assert float(np.abs(ours - theirs).max()) < 1e-5  # rounding of the norm, no more
    questions = ["Wat zijn pleinmakers?", "Hoe betrek je nieuwkomers bij het lokaal integratiebeleid?"]
    assert np.sum(lean.embed_queries(questions) * product.embed_queries(questions), axis=1).min() > 0.99999
    assert lean.embed_passages([]).shape == (0, 384)


def test_the_job_process_embeds_without_torch(tmp_path: Path) -> None:
    """What the job loads for the default backend: no torch, no transformers (their ~0.4 GB are most of
    what the job process held beyond the model); its peak is printed (the issue's bound: bench/hostile_files.py)."""
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=CORPUS)
    assert settings.embedding_backend == "onnx"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "models").symlink_to(shared_models_dir())
    code = ("import json, sys; from assistant.config import Settings; from ingest.jobs import _load_embedder; "
            "from ingest.budgets import peak_rss_kb; "
            f"e = _load_embedder(Settings(data_dir={str(tmp_path / 'data')!r}), None); "
            "v = e.embed_passages(['Het onthaalbureau is open op maandag.', 'woord ' * 900]); "
            "print(json.dumps([type(e).__name__, v.shape[0], sorted({'torch', 'transformers', 'sentence_transformers'}"
            " & set(sys.modules)), peak_rss_kb()]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True,
                         cwd=REPO_ROOT)
    kind, rows, heavy, peak_kb = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"job embedder {kind}: peak RSS {peak_kb // 1024} MB")
    assert (kind, rows, heavy) == ("LeanOnnxEmbedder", 2, [])
    assert peak_kb < 3 * 1024 * 1024  # a blow-up bound; ~1.0 GB measured
