"""The embedder seam: a small Protocol, and the sentence-transformers implementation.

This is the only module that imports sentence_transformers. e5 models need "query: " and
"passage: " prefixes; they are applied here, as prompts, so callers never see them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import ModelUnavailableError
from .modelpack import model_fingerprint


@dataclass(frozen=True)
class ModelIdentity:
    """What the index records about the model that built it."""

    name: str
    fingerprint: str
    dim: int

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "fingerprint": self.fingerprint, "dim": self.dim}


class Embedder(Protocol):
    """Anything that turns questions and passages into L2-normalised float32 vectors."""

    identity: ModelIdentity

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


E5_PROMPTS = {"query": "query: ", "passage": "passage: "}


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local directory (or a hub name, where a hub is reachable)."""

    def __init__(self, model: str | Path, name: str | None = None, batch_size: int = 16) -> None:
        # Imported lazily: importing torch costs seconds, and fast unit tests never need it.
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a weight-loading bar on every start is noise in service logs

        path = Path(model)
        try:
            self._model = SentenceTransformer(str(model), device="cpu")
        except Exception as exc:  # the library raises many types (OSError, ValueError, HF errors)
            raise ModelUnavailableError(
                f"Cannot load the embedding model {model!s}: {exc}. Set WEGWIJZER_EMBEDDING_MODEL to a local "
                "sentence-transformers directory, or leave it unset to use the bundled multilingual-e5-small."
            ) from exc
        prompts = dict(getattr(self._model, "prompts", {}) or {})
        lowered = str(model).lower()
        if "e5" in lowered and not prompts.get("query"):
            prompts.update(E5_PROMPTS)
        self._query_prompt: str = str(prompts.get("query") or "")
        self._passage_prompt: str = str(prompts.get("passage") or prompts.get("document") or "")
        self._batch_size = batch_size
        self._lock = threading.Lock()  # torch modules are not safe to call from many threads at once
        get_dim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        dim = int(get_dim() or 0)
        self.identity = ModelIdentity(
            name=name or (path.name if path.exists() else str(model)),
            fingerprint=model_fingerprint(path) if path.exists() else f"hub:{model}",
            dim=dim,
        )

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts, prompt=prompt or None, batch_size=self._batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prompt)


def resolve_model(name: str, models_dir: Path) -> Path | str:
    """Where to load ``name`` from: the bundled e5 (materialised on first use), a local dir, or a hub name."""
    from .modelpack import BUNDLED_MODEL_NAME, materialize_bundled_model

    if name == BUNDLED_MODEL_NAME:
        return materialize_bundled_model(models_dir / BUNDLED_MODEL_NAME)
    path = Path(name).expanduser()
    if path.exists():
        return path.resolve()
    return name


_cache: dict[tuple[str, str], SentenceTransformerEmbedder] = {}
_cache_lock = threading.Lock()


def load_embedder(name: str, models_dir: Path) -> SentenceTransformerEmbedder:
    """Load (once per process) the embedder configured by ``name``."""
    key = (name, str(models_dir))
    with _cache_lock:
        if key not in _cache:
            location = resolve_model(name, models_dir)
            # A local directory is named by its folder, so moving it does not look like another model.
            display = Path(name).name if Path(name).expanduser().exists() else name
            _cache[key] = SentenceTransformerEmbedder(location, name=display)
        return _cache[key]
