"""PostgreSQL's binary formats for the index's bulk COPY: pgvector's vector, halfvec and sparsevec rows made
a block at a time with numpy (no per-value Python objects), and the names of a version's schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from assistant.stores.pg import RawHalfVector, RawSparse, RawVector

__all__ = ["VERSION_PREFIX", "RawHalfVector", "RawSparse", "RawVector", "ident", "schema_of", "sparse_bytes",
           "vector_rows"]

VERSION_PREFIX = "wv_"


def schema_of(version_id: str) -> str:
    """The schema that holds version ``version_id``."""
    return VERSION_PREFIX + re.sub(r"[^a-z0-9]", "_", version_id.lower())


def ident(schema: str) -> Any:
    from psycopg import sql

    return sql.Identifier(schema)


def vector_rows(matrix: np.ndarray, dtype: str, block: int = 8192) -> Iterator[bytes]:
    """pgvector's binary form of each row: int16 dim, int16 0, then big-endian floats (made a block at a time)."""
    n, dim = matrix.shape
    width = 2 if dtype == "f2" else 4
    head = np.frombuffer(np.array([dim, 0], dtype=">u2").tobytes(), dtype=np.uint8)
    for i in range(0, n, block):
        part = matrix[i:i + block]
        out = np.empty((len(part), 4 + width * dim), dtype=np.uint8)
        out[:, :4] = head
        out[:, 4:] = np.ascontiguousarray(part, dtype=f">{dtype}").view(np.uint8).reshape(len(part), width * dim)
        yield from (row.tobytes() for row in out)


def sparse_bytes(dim: int, indices: np.ndarray, values: np.ndarray) -> bytes:
    """pgvector's binary sparsevec: int32 dim, int32 nnz, int32 0, indices, float32 values (big-endian)."""
    head = np.array([dim, len(indices), 0], dtype=">i4").tobytes()
    return head + indices.astype(">i4").tobytes() + values.astype(">f4").tobytes()
