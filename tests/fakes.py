"""A deterministic stand-in embedder for fast unit tests (the real model has its own tests)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from assistant.model.embedding import ModelIdentity
from assistant.text.analysis import fold


class FakeEmbedder:
    """Hashes character trigrams into a fixed-size vector: similar spelling -> similar vectors."""

    def __init__(self, dim: int = 64, name: str = "fake-trigram") -> None:
        self.identity = ModelIdentity(name=name, fingerprint=f"{name}-{dim}", dim=dim, backend="fake")
        self.calls = 0
        self.passages_embedded = 0

    def _one(self, text: str) -> np.ndarray:
        v = np.zeros(self.identity.dim, dtype=np.float32)
        s = f"  {fold(text)}  "
        for i in range(len(s) - 2):
            h = int.from_bytes(hashlib.blake2b(s[i:i + 3].encode(), digest_size=4).digest(), "little")
            v[h % self.identity.dim] += 1.0 if h & 1 << 31 else -1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.array([self._one(t) for t in texts], dtype=np.float32).reshape(len(texts), self.identity.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.passages_embedded += len(texts)
        return np.array([self._one(t) for t in texts], dtype=np.float32).reshape(len(texts), self.identity.dim)


class GatedFakeEmbedder(FakeEmbedder):
    """A fake embedder for job processes that parks until the test releases it.

    It touches ``gate/embedding`` before embedding passages and goes on once ``gate/release`` exists,
    so a test can act while a re-index job is running. With ``on_load`` it parks while being loaded
    instead (``gate/loading`` until ``gate/loaded``): the job is running but has not read the corpus.
    Picklable as ``functools.partial(GatedFakeEmbedder, gate)``, which is how a job process receives it.
    """

    def __init__(self, gate: str, timeout: float = 120.0, on_load: bool = False) -> None:
        super().__init__()
        self.gate = Path(gate)
        self.timeout = timeout
        if on_load:
            self._park("loading", "loaded")

    def _park(self, here: str, until: str) -> None:
        (self.gate / here).touch()
        deadline = time.monotonic() + self.timeout
        while not (self.gate / until).exists() and time.monotonic() < deadline:
            time.sleep(0.02)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self._park("embedding", "release")
        return super().embed_passages(texts)
