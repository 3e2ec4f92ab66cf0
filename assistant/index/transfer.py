"""Moving a published version between stores without embedding anything again (``wegwijzer db import|export``).

Everything a version holds is read through the IndexReader protocol and written through the other store's
``write``: the same version id, passages, pages, sentences and vectors (sentence vectors are float16 in both
stores, so they arrive bit for bit); the target computes its own lexical index from the same analyser.
"""

from __future__ import annotations

import numpy as np

from assistant.index.model import DocumentEntry
from assistant.index.protocol import IndexReader, IndexStore, VersionContent

CHUNK = 500


def _exists(store: IndexStore, version: str) -> bool:
    try:
        store.read_manifest(version)
    except Exception:  # noqa: BLE001 - any "not there" of either backend
        return False
    return True


def content_of(reader: IndexReader) -> VersionContent:
    """Everything one version holds, ready for another store's ``write``."""
    m = reader.manifest
    ids = list(range(reader.passage_count))
    pages = []
    for entry in sorted(m.documents, key=lambda d: d.source):
        found = reader.document(entry.source)
        if found is not None:
            pages.extend(found[0])
    blocks = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]  # SQLite bounds the size of an IN list
    passages = [p for block in blocks for p in reader.passages(block)]
    sentences = [s for block in blocks for s in reader.sentences(block)]
    sids = [s.id for s in sentences]
    dim = m.model.dim
    vectors = np.vstack([reader.passage_vectors(b) for b in blocks]) if blocks else np.zeros((0, dim), np.float32)
    svecs = [reader.sentence_vectors(sids[i:i + CHUNK]) for i in range(0, len(sids), CHUNK)]
    return VersionContent(
        model=m.model, chunker=dict(m.chunker), documents=[DocumentEntry(**d.__dict__) for d in m.documents],
        passages=passages, pages=pages, vectors=vectors, sentences=sentences,
        sentence_vectors=np.vstack(svecs) if svecs else np.zeros((0, dim), np.float32), report=dict(m.report),
        analyzer=dict(m.analyzer), version_id=m.version_id, created_at=m.created_at)


def copy_version(source: IndexStore, target: IndexStore, version: str | None = None, publish: bool = True) -> str:
    """Copy ``version`` (default: the published one) of ``source`` into ``target``; publish it there if asked."""
    reader = source.open(version)
    try:
        version_id = reader.version_id
        if not _exists(target, version_id):
            with target.lock():
                target.write(content_of(reader))
    finally:
        reader.close()
    if publish:
        target.publish(version_id)
    return version_id
