"""A lean ONNX embedder for the re-index job: ONNX Runtime and the tokenizer, without torch or transformers.

The job process embeds passages and nothing else, and its peak memory is the budget a re-index must stay
within (issue 20: under 1.5 GB, whatever is uploaded). Measured on the e5-small ONNX export, one process
(bench/hostile_files.py; VmHWM):

* the sentence-transformers path imports torch, transformers and sentence-transformers (~400 MB before a
  model is loaded), loads the tokenizer through transformers and the ONNX session (whose load briefly holds
  the 470 MB of weights twice), and embeds 16 texts per call on ONNX Runtime's memory arena, which keeps
  the largest batch's activations: ~1.45 GB on the shipped corpus;
* this path needs numpy, onnxruntime and tokenizers only; it loads the session before the tokenizer (the
  load's double copy of the weights is gone before the tokenizer's ~280 MB arrive), runs without the arena
  and batches by a budget of padded tokens, so a batch of long passages holds little.

The vectors are those of :class:`assistant.model.embedding.SentenceTransformerEmbedder` on the ``onnx``
backend: the same file, tokenizer, truncation, prompts, mean pooling and normalisation (the test compares
them text by text). ONNX Runtime gives a text the same vector whatever else is in its batch (checked), so
the batching here does not change them. Only the fp32 ``onnx`` backend has this path; the job uses the
sentence-transformers one for the others.
"""

from __future__ import annotations

import ctypes
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from assistant.model.embedding import (
    E5_PROMPTS,
    ONNX_FILES,
    ModelIdentity,
    _session_options,
    backend_fingerprint,
    materialize_onnx,
    onnx_dir_for,
    resolve_model,
)
from assistant.model.modelpack import model_fingerprint

log = logging.getLogger(__name__)

# Padded tokens per model call (texts x longest text): one passage of up to 512 tokens, 16 sentences of 32.
# A call's activations grow with texts x tokens^2 (attention): measured on e5-small, 16 passages of 315
# tokens embedded 1 / 3 / 6 per call raised the peak by ~0.1 / 0.26 / 0.56 GB, in about the same time.
TOKEN_BUDGET = 512
MAX_BATCH = 32


def _malloc_trim() -> None:
    """Hand freed heap memory back to the system (glibc keeps it otherwise); a no-op elsewhere."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class LeanOnnxEmbedder:
    """Passages and questions embedded by the fp32 ONNX export of a sentence-transformers model directory."""

    def __init__(self, directory: Path, identity: ModelIdentity, threads: int = 0) -> None:
        import onnxruntime as ort

        directory = Path(directory)
        self.identity = identity
        options = _session_options(threads)
        # Without the arena ONNX Runtime frees a call's activations when it returns; with it, the process keeps
        # the largest call's for good. Allocation does not change the arithmetic: the vectors are the same.
        options.enable_cpu_mem_arena = False
        # The session first: loading it briefly holds the weights twice, better before the tokenizer is in.
        self._session = ort.InferenceSession(str(directory / ONNX_FILES["onnx"]), options,
                                             providers=["CPUExecutionProvider"])
        _malloc_trim()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._output = "last_hidden_state"
        self._tokenizer, self._max_length = self._load_tokenizer(directory)
        self._query_prompt, self._passage_prompt = self._prompts(directory)
        _malloc_trim()

    @staticmethod
    def _load_tokenizer(directory: Path) -> tuple[Any, int]:
        from tokenizers import Tokenizer

        config = _read_json(directory / "tokenizer_config.json")
        model_config = _read_json(directory / "config.json")
        st_config = _read_json(directory / "sentence_bert_config.json")
        # sentence-transformers: max_seq_length if configured, else the smaller of the tokenizer's and the model's
        limits = [int(v) for v in (config.get("model_max_length"), model_config.get("max_position_embeddings"))
                  if isinstance(v, int) and v < 10**6]
        max_length = int(st_config.get("max_seq_length") or (min(limits) if limits else 512))
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.no_padding()  # padded per batch below
        return tokenizer, max_length

    @staticmethod
    def _prompts(directory: Path) -> tuple[str, str]:
        prompts = dict(_read_json(directory / "config_sentence_transformers.json").get("prompts") or {})
        source = str(_read_json(directory / "wegwijzer_onnx.json").get("source", directory)).lower()
        if "e5" in source and not prompts.get("query"):
            prompts.update(E5_PROMPTS)
        return str(prompts.get("query") or ""), str(prompts.get("passage") or prompts.get("document") or "")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prompt)

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        out = np.zeros((len(texts), self.identity.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([prompt + t for t in texts])  # as sentence-transformers: unstripped
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        start = 0
        while start < len(order):
            longest = len(encodings[order[start]].ids)
            size = max(1, min(MAX_BATCH, TOKEN_BUDGET // max(longest, 1)))
            batch = order[start:start + size]
            out[batch] = self._run([encodings[i].ids for i in batch], longest)
            start += size
        _malloc_trim()
        return out

    def _run(self, ids: list[list[int]], length: int) -> np.ndarray:
        input_ids = np.full((len(ids), length), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.int64)
        for row, seq in enumerate(ids):
            input_ids[row, :len(seq)] = seq
            mask[row, :len(seq)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        (hidden,) = self._session.run([self._output], feed)
        # sentence-transformers' mean pooling and Normalize module, then encode(normalize_embeddings=True)
        weights = mask[:, :, None].astype(hidden.dtype)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        for _ in range(2):
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)

    @property
    def _pad_id(self) -> int:
        pad = self._tokenizer.token_to_id("<pad>")
        return int(pad if pad is not None else 0)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def open_lean_embedder(name: str, models_dir: Path, threads: int = 0) -> LeanOnnxEmbedder:
    """The model ``name`` on the fp32 ``onnx`` backend, exported if needed, as :func:`open_embedder` finds it."""
    location = resolve_model(name, models_dir)
    display = Path(name).name if Path(name).expanduser().exists() else name
    source_fingerprint = model_fingerprint(Path(location)) if Path(location).exists() else f"hub:{location}"
    onnx_dir = materialize_onnx(location, source_fingerprint, onnx_dir_for(display, source_fingerprint, models_dir))
    pooling = _read_json(onnx_dir / "1_Pooling" / "config.json")
    dim = int(pooling.get("embedding_dimension") or pooling.get("word_embedding_dimension") or 0)
    identity = ModelIdentity(name=display, fingerprint=backend_fingerprint(source_fingerprint, "onnx", onnx_dir),
                             dim=dim, backend="onnx")
    return LeanOnnxEmbedder(onnx_dir, identity, threads=threads)
