"""The embedder seam: a small Protocol, the sentence-transformers implementation and its backends.

This is the only module that imports sentence_transformers. e5 models need "query: " and
"passage: " prefixes; they are applied here, as prompts, so callers never see them.

Backends (``WEGWIJZER_EMBEDDING_BACKEND``), all through sentence-transformers:

* ``torch``: the model as materialised (``model.safetensors``), run by PyTorch.
* ``onnx``: the same weights exported once to ONNX and run by ONNX Runtime. Its vectors equal torch's
  (cosine 1.00000 on every corpus passage and dev question, bench/backends.py), so an index built
  with one is queried with the other: both carry the model's own fingerprint.
* ``onnx-int8``: that ONNX model with int8 dynamic quantisation. Its vectors differ (cosine ~0.996 to
  fp32), so its fingerprint differs and an fp32 index refuses int8 queries (and the reverse).

The ONNX files are exported at set-up (``wegwijzer setup``) into the data directory's models dir,
offline, and reused from then on; see :func:`materialize_onnx`.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.config import DEFAULT_EMBEDDING_BACKEND, EMBEDDING_BACKENDS, Settings
from assistant.errors import ModelUnavailableError
from assistant.model.modelpack import build_directory, model_fingerprint

BACKENDS = EMBEDDING_BACKENDS
DEFAULT_BACKEND = DEFAULT_EMBEDDING_BACKEND
# int8 weights x uint8 activations would be faster on CPUs with VNNI, but on AVX2 CPUs without it the
# u8s8 kernels can saturate, so the same file would give other vectors on another machine. uint8
# weights (optimum's "avx2" preset) compute exactly on every x86-64 CPU with AVX2.
QUANTIZATION = "avx2"
# Bump when the export recipe changes, so existing exports are rebuilt rather than trusted.
EXPORTER_VERSION = 1
ONNX_MARKER = "wegwijzer_onnx.json"
ONNX_FILES = {"onnx": "onnx/model.onnx", "onnx-int8": f"onnx/model_quint8_{QUANTIZATION}.onnx"}
MAX_QUERY_BATCH = 32

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelIdentity:
    """What the index records about the model that built it.

    Two identities are compatible (an index built with one may be queried with the other) when the
    fingerprint and the dimension agree; the backend is recorded for people reading the manifest.
    """

    name: str
    fingerprint: str
    dim: int
    backend: str = field(default="torch")

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "fingerprint": self.fingerprint, "dim": self.dim, "backend": self.backend}

    @property
    def label(self) -> str:
        """The name people see in messages, e.g. ``multilingual-e5-small (onnx-int8)``."""
        return f"{self.name} ({self.backend})" if self.backend else self.name

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelIdentity:
        """Read a manifest's model entry; indexes written before backends existed were built by torch."""
        return cls(name=str(data.get("name", "")), fingerprint=str(data.get("fingerprint", "")),
                   dim=int(data.get("dim", 0) or 0), backend=str(data.get("backend", "torch")))


class Embedder(Protocol):
    """Anything that turns questions and passages into L2-normalised float32 vectors."""

    identity: ModelIdentity

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


E5_PROMPTS = {"query": "query: ", "passage": "passage: "}


class _DropMistralRegexWarning(logging.Filter):
    """transformers 4.57 warns about a Mistral tokenizer regex for every local config.json without a
    ``transformers_version``; our model is a BERT with XLM-R's vocabulary, so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fix_mistral_regex" not in record.getMessage()


_MISTRAL_FILTER = _DropMistralRegexWarning()


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a weight-loading bar on every start is noise in service logs
    hf_logging.get_logger("transformers.tokenization_utils_base").addFilter(_MISTRAL_FILTER)  # once


def _session_options(threads: int) -> Any:
    """ONNX Runtime options: ``threads`` intra-op threads (0: one per physical core), no spin-waiting."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(0, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Pool threads that spin after a run steal the cores a neighbour needs (the event loop, faiss,
    # another worker, torch's own threads); two spinning pools in one process on two cores made a torch
    # encode interleaved with ONNX calls take 170-250 ms instead of ~20 (bench/latency.py, busy machine).
    # A model call is milliseconds, so waking the pool costs little.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


# The re-index job's embedder (``lean``) keeps each model call within this many padded tokens: one passage
# of up to 512 tokens, or 16 sentences of 32. On e5-small, 16 passages of 315 tokens embedded 1 / 3 / 6 per
# call raised the job's peak by ~0.1 / 0.26 / 0.56 GB, in about the same time.
LEAN_TOKEN_BUDGET = 512


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def release_heap() -> None:
    """Hand freed heap memory back to the system (glibc keeps it otherwise); a no-op elsewhere."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local directory (or a hub name, where a hub is reachable).

    ``backend`` is ``torch``, ``onnx`` or ``onnx-int8``; for the ONNX ones ``model`` must be a directory
    that holds the exported file (see :func:`materialize_onnx`). ``threads`` > 0 caps the compute threads.
    A text's vector never depends on the other texts of the same call: int8 models quantise activations
    per call, over the whole batch, so they embed one text per run.
    """

    def __init__(self, model: str | Path, name: str | None = None, batch_size: int = 16, *,
                 backend: str = "torch", threads: int = 0, fingerprint: str | None = None,
                 lean: bool = False) -> None:
        # Imported lazily: importing torch costs seconds, and fast unit tests never need it.
        from sentence_transformers import SentenceTransformer

        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        _quiet_transformers()
        path = Path(model)
        kwargs: dict[str, Any] = {}
        if backend == "torch":
            if threads > 0:
                import torch

                torch.set_num_threads(threads)
        else:
            kwargs["backend"] = "onnx"
            options = _session_options(threads)
            if lean:
                # Without its memory arena ONNX Runtime frees a call's activations when the call returns; with
                # it the process keeps the largest call's for good. The arithmetic, and so the vectors, are the same.
                options.enable_cpu_mem_arena = False
            kwargs["model_kwargs"] = {"file_name": ONNX_FILES[backend], "provider": "CPUExecutionProvider",
                                      "session_options": options}
        try:
            self._model = SentenceTransformer(str(model), device="cpu", **kwargs)
        except Exception as exc:  # the library raises many types (OSError, ValueError, HF errors)
            raise ModelUnavailableError(
                f"Cannot load the embedding model {model!s} ({backend}): {exc}. Set WEGWIJZER_EMBEDDING_MODEL to "
                "a local sentence-transformers directory, or leave it unset to use the bundled multilingual-e5-small."
            ) from exc
        prompts = dict(getattr(self._model, "prompts", {}) or {})
        lowered = str(model).lower()
        if "e5" in lowered and not prompts.get("query"):
            prompts.update(E5_PROMPTS)
        self._query_prompt: str = str(prompts.get("query") or "")
        self._passage_prompt: str = str(prompts.get("passage") or prompts.get("document") or "")
        self._batch_size = 1 if backend == "onnx-int8" else batch_size
        self._lean = lean
        self._lock = threading.Lock()  # neither torch modules nor fast tokenizers like many threads at once
        get_dim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        dim = int(get_dim() or 0)
        if fingerprint is None:
            fingerprint = model_fingerprint(path) if path.exists() else f"hub:{model}"
        self.identity = ModelIdentity(
            name=name or (path.name if path.exists() else str(model)), fingerprint=fingerprint, dim=dim,
            backend=backend,
        )

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        with self._lock:
            if self._lean:
                return self._encode_lean(texts, prompt)
            vectors = self._model.encode(
                texts, prompt=prompt or None, batch_size=self._batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_lean(self, texts: list[str], prompt: str) -> np.ndarray:
        """Calls of at most LEAN_TOKEN_BUDGET padded tokens (a call's activations grow with texts x tokens^2),
        longest texts first, heap returned to the system after each; a text's vector does not depend on the
        call it is in (ONNX Runtime, fp32), so these are the vectors ``encode`` gives in one call."""
        lengths = [len(ids) for ids in self._model.tokenizer([prompt + t for t in texts], truncation=True,
                                                              max_length=self._model.max_seq_length)["input_ids"]]
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        out = np.zeros((len(texts), self.identity.dim), dtype=np.float32)
        start = 0
        while start < len(order):
            longest = lengths[order[start]]
            size = max(1, min(self._batch_size, LEAN_TOKEN_BUDGET // max(1, longest)))
            chunk = order[start:start + size]
            out[chunk] = self._model.encode([texts[i] for i in chunk], prompt=prompt or None, batch_size=size,
                                            normalize_embeddings=True, convert_to_numpy=True,
                                            show_progress_bar=False)
            release_heap()
            start += size
        return out

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prompt)

    def token_vectors(self, texts: list[str], kinds: list[str]) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """Contextual token vectors (the last hidden state, before pooling) of each text, encoded with the query
        or passage prompt per ``kinds``, in one call: per text (vectors, character offsets of each token in
        prompt + text, prompt length). For ``assistant.answer.reader`` (late interaction)."""
        prompts = [self._query_prompt if k == "query" else self._passage_prompt for k in kinds]
        full = [p + t for p, t in zip(prompts, texts, strict=True)]
        if not full:
            return []
        with self._lock:
            hidden = self._model.encode(full, output_value="token_embeddings", batch_size=self._batch_size,
                                        convert_to_numpy=False, show_progress_bar=False)
            encoded = self._model.tokenizer(full, return_offsets_mapping=True, truncation=True,
                                            max_length=self._model.max_seq_length)
        out = []
        for h, offsets, p in zip(hidden, encoded["offset_mapping"], prompts, strict=True):
            v = h.detach().cpu().numpy() if hasattr(h, "detach") else np.asarray(h)
            o = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
            if len(o) != len(v):  # tokenised differently from the model's own call: no alignment, no vectors
                v, o = v[:0], o[:0]
            out.append((np.asarray(v, dtype=np.float32), o, len(p)))
        return out


# ---------------------------------------------------------------- micro-batching

class _Request:
    __slots__ = ("texts", "vectors", "error", "done")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class BatchingEmbedder:
    """Embeds questions that arrive together in one model call, instead of queueing them behind a lock.

    No thread of its own: the caller that finds the model idle embeds at once (so one question at a
    time waits for nothing); callers that arrive while a batch runs wait, and the first of them to
    wake takes every waiting question (up to ``max_batch`` texts) into the next call. If that call
    fails and held several requests, each is retried alone, so an error reaches only the caller whose
    text caused it. Passages pass straight through (ingest batches them itself).
    """

    def __init__(self, inner: Embedder, max_batch: int = MAX_QUERY_BATCH) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.inner = inner
        self.identity = inner.identity
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._busy = False
        # Read by tests and benchmarks; written only by the caller running a batch, one at a time.
        self.batches = 0  # model calls made for questions
        self.texts = 0
        self.largest_batch = 0
        self.busy_s = 0.0  # seconds spent inside the model for questions

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)

    def token_vectors(self, texts: list[str], kinds: list[str]) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """The inner embedder's token vectors (``assistant.answer.reader``), unbatched; [] per text when it has none."""
        inner = getattr(self.inner, "token_vectors", None)
        if inner is None:
            return [(np.zeros((0, self.identity.dim), np.float32), np.zeros((0, 2), np.int64), 0) for _ in texts]
        return list(inner(texts, kinds))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return self.inner.embed_queries([])
        request = _Request(list(texts))
        with self._cond:
            self._pending.append(request)
        while True:
            with self._cond:
                while not request.done and self._busy:
                    self._cond.wait()
                if request.done:
                    break
                batch = self._take()
                self._busy = True
            try:
                self._run(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def _take(self) -> list[_Request]:
        """The waiting requests, oldest first, up to max_batch texts (always at least one request)."""
        batch: list[_Request] = []
        size = 0
        while self._pending and (not batch or size + len(self._pending[0].texts) <= self.max_batch):
            request = self._pending.pop(0)
            batch.append(request)
            size += len(request.texts)
        return batch

    def _run(self, batch: list[_Request]) -> None:
        texts = [text for request in batch for text in request.texts]
        self.batches += 1
        self.texts += len(texts)
        self.largest_batch = max(self.largest_batch, len(texts))
        started = time.perf_counter()
        try:
            vectors = self.inner.embed_queries(texts)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for request in batch:
                    self._run([request])
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: every waiting caller learns of it
            for request in batch:
                request.error = exc
            raise
        else:
            start = 0
            for request in batch:
                request.vectors = vectors[start:start + len(request.texts)]
                start += len(request.texts)
        finally:
            self.busy_s += time.perf_counter() - started
            for request in batch:
                request.done = True


# ---------------------------------------------------------------- ONNX export

def _onnx_is_current(directory: Path, source_fingerprint: str) -> bool:
    marker = _read_json(directory / ONNX_MARKER)
    return (
        marker is not None
        and marker.get("source_fingerprint") == source_fingerprint
        and marker.get("exporter") == EXPORTER_VERSION
        and marker.get("quantization") == QUANTIZATION
        and all((directory / rel).is_file() for rel in ONNX_FILES.values())
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _file_digest(path: Path) -> str:
    from assistant.hashing import file_sha256

    return file_sha256(path)


def onnx_dir_for(name: str, source_fingerprint: str, models_dir: Path) -> Path:
    """Where the ONNX export of a model lives: ``<models>/onnx/<name>-<fingerprint>`` (a new model, a new dir)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name or name).strip("._") or "model"
    return Path(models_dir) / "onnx" / f"{safe}-{source_fingerprint.replace(':', '_')}"


def materialize_onnx(source: str | Path, source_fingerprint: str, target_dir: Path) -> Path:
    """Export ``source`` to ONNX (fp32, and int8 with dynamic quantisation) once; idempotent.

    The export runs the torch model once through optimum's exporter (about 20 s, plus about 10 s for
    the quantisation, on two cores). The marker, written last, records what the files were made from
    and the int8 file's SHA-256, from which the int8 fingerprint is derived.
    """
    import warnings

    def build(staging: Path) -> None:
        from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

        _quiet_transformers()
        log.warning("exporting the embedding model %s to ONNX (once)", source)
        chatty = [logging.getLogger(n) for n in ("transformers", "sentence_transformers", "optimum")]
        levels = [logger.level for logger in chatty]
        with warnings.catch_warnings():  # tracer and deprecation chatter from the exporter
            warnings.simplefilter("ignore")
            for logger in chatty:
                logger.setLevel(logging.ERROR)
            try:
                model = SentenceTransformer(str(source), device="cpu", backend="onnx",
                                            model_kwargs={"export": True, "provider": "CPUExecutionProvider"})
                model.save_pretrained(str(staging))
                export_dynamic_quantized_onnx_model(model, QUANTIZATION, str(staging))
            finally:
                for logger, level in zip(chatty, levels, strict=True):
                    logger.setLevel(level)
        missing = [rel for rel in ONNX_FILES.values() if not (staging / rel).is_file()]
        if missing:
            raise ModelUnavailableError(f"The ONNX export of {source} did not produce {', '.join(missing)}.")
        marker = {"source": str(source), "source_fingerprint": source_fingerprint, "exporter": EXPORTER_VERSION,
                  "quantization": QUANTIZATION, "int8_sha256": _file_digest(staging / ONNX_FILES["onnx-int8"])}
        (staging / ONNX_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")

    target_dir = Path(target_dir)
    try:
        result = build_directory(target_dir, lambda d: _onnx_is_current(d, source_fingerprint), build, free_mb=700)
    except ModelUnavailableError:
        raise
    except Exception as exc:  # optimum and onnx raise many types
        raise ModelUnavailableError(f"Cannot export the embedding model {source} to ONNX: {exc}") from exc
    # Exports of an older version of the same model are of no further use.
    prefix = target_dir.name.rsplit("-", 1)[0] + "-"
    for sibling in target_dir.parent.glob(prefix + "*"):
        if sibling != target_dir and sibling.is_dir() and (sibling / ONNX_MARKER).exists():
            import shutil

            shutil.rmtree(sibling, ignore_errors=True)
    return result


def backend_fingerprint(source_fingerprint: str, backend: str, onnx_dir: Path | None) -> str:
    """The fingerprint an index records: the model's own for torch and ONNX fp32 (same vectors), another
    for int8, derived from the quantised file itself."""
    if backend != "onnx-int8":
        return source_fingerprint
    marker = _read_json(Path(onnx_dir) / ONNX_MARKER) if onnx_dir is not None else None
    digest = str((marker or {}).get("int8_sha256") or "")
    if not digest:
        raise ModelUnavailableError(f"The int8 ONNX model in {onnx_dir} has no marker; run `wegwijzer setup`.")
    return hashlib.sha256(f"{source_fingerprint}:onnx-int8:{digest}".encode()).hexdigest()[:16]


# ---------------------------------------------------------------- loading

def resolve_model(name: str, models_dir: Path) -> Path | str:
    """Where to load ``name`` from: the bundled e5 (materialised on first use), a local dir, or a hub name."""
    from assistant.model.modelpack import BUNDLED_MODEL_NAME, materialize_bundled_model

    if name == BUNDLED_MODEL_NAME:
        return materialize_bundled_model(models_dir / BUNDLED_MODEL_NAME)
    path = Path(name).expanduser()
    if path.exists():
        return path.resolve()
    return name


def open_embedder(name: str, models_dir: Path, *, backend: str, threads: int = 0,
                  lean: bool = False) -> SentenceTransformerEmbedder:
    """Load the model ``name`` on ``backend``, materialising (bundled model) and exporting (ONNX) as needed.

    ``lean`` (the re-index job): small model calls whose memory is freed after each, for a bounded peak."""
    if backend not in BACKENDS:
        raise ModelUnavailableError(f"Unknown embedding backend {backend!r}; use one of {', '.join(BACKENDS)}.")
    location = resolve_model(name, models_dir)
    # A local directory is named by its folder, so moving it does not look like another model.
    display = Path(name).name if Path(name).expanduser().exists() else name
    source_fingerprint = model_fingerprint(Path(location)) if Path(location).exists() else f"hub:{location}"
    if backend == "torch":
        return SentenceTransformerEmbedder(location, name=display, backend=backend, threads=threads,
                                           fingerprint=source_fingerprint)
    onnx_dir = materialize_onnx(location, source_fingerprint, onnx_dir_for(display, source_fingerprint, models_dir))
    return SentenceTransformerEmbedder(onnx_dir, name=display, backend=backend, threads=threads,
                                       fingerprint=backend_fingerprint(source_fingerprint, backend, onnx_dir),
                                       lean=lean)


_cache: dict[tuple[str, str, str, int], BatchingEmbedder] = {}
_cache_lock = threading.Lock()


def load_embedder(name: str, models_dir: Path, *, backend: str, threads: int = 0) -> BatchingEmbedder:
    """Load (once per process) the embedder configured by ``name`` and ``backend``, ready for concurrency.

    Questions asked at the same time by several threads are embedded together (:class:`BatchingEmbedder`).
    """
    key = (name, str(models_dir), backend, threads)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = BatchingEmbedder(open_embedder(name, models_dir, backend=backend, threads=threads))
        return _cache[key]



def embedder_for(settings: Settings) -> BatchingEmbedder:
    """The embedder ``settings`` configure (model, backend, threads), loaded once per process."""
    return load_embedder(settings.embedding_model, settings.models_dir, backend=settings.embedding_backend,
                         threads=settings.embedding_threads)
