"""The PostgreSQL index backend: index versions in one database, with pgvector.

Selected by ``WEGWIJZER_DATABASE_URL=postgresql://…`` (see ``assistant.index.open_store``). Several serving
replicas with empty data directories share one database: the published version, the ingest lock and the last
ingest report live there. Connections, migrations and locks belong to the state layer
(``assistant.stores.pg``), which feedback, conversations, sessions, rate limits and jobs use as well.

- ``codec``   PostgreSQL's binary formats for bulk COPY (vector, halfvec, sparsevec) and schema names
- ``reader``  one version opened for reading: dense search, BM25 by MaxScore, passages, sentences, pages
- ``store``   versions written in one transaction, published, pruned; the ingest lock

Layout::

    wegwijzer.versions          one row per complete version: id, its schema, the typed Manifest as jsonb
    wegwijzer.state             the single row that says which version is ``current``
    wv_<version id>.passages    passages: source, page, section, span, text, analysed terms, audience
    wv_<version id>.vectors     their float32 vectors (IVFFlat index from VECTOR_INDEX_THRESHOLD passages) and
                                audience (text[], GIN-indexed: searches filter with ``audience && $groups``)
    wv_<version id>.lexical     per passage its BM25 weights as a pgvector sparsevec (term id -> weight)
    wv_<version id>.terms       per analysed term: id, df, the largest weight, and its posting list
    wv_<version id>.words       the corpus words the query analyser may split compounds into
    wv_<version id>.sentences   sentences with their float16 vector (halfvec), as the file backend stores them
    wv_<version id>.pages       page texts for the document view

A version is written in ONE transaction (PostgreSQL's DDL is transactional): an ingest that dies
halfway leaves nothing behind, and a version exists only once it is complete. Publishing is one UPDATE
of ``wegwijzer.state``. Old versions are dropped schema and all.

Lexical search is BM25 with exactly the numbers of the file backend (``lexical.bm25_matrix``, the
project's analyser). PostgreSQL's own ``ts_rank_cd`` took 410-874 ms per query at 100k passages, and an
``ORDER BY weights <#> q`` scan over the sparse vectors reads every row (docs/benchmarks.md). Instead the
top k are found with MaxScore over per-term posting lists (rarest terms first, stop once no unseen
passage can reach the k-th score), and the few passages whose score is still open are scored exactly
with the sparsevec inner product. The result is exact, not approximate.

Documents per audience (assistant/index/audience.py): each passage row and vector row carries the audience of
its document, ``{*}`` for everyone (``*`` is never a group name, and every asker has it). An audience view's
dense search is ``WHERE audience && $groups`` in the same query (with pgvector's iterative index scans, so an
approximate index keeps scanning until k rows pass); its lexical search drops hidden passages from each
posting list before MaxScore applies it. A version is never altered after it is written, so there is no
migration of older versions: a format 2 version (written before audiences) has no such column and is read
with every document for everyone, which is what it was built as; the next ingest writes a format 3 version.
"""

from assistant.index.postgres.reader import PostgresIndexReader
from assistant.index.postgres.store import PostgresIndexStore, PostgresIngestLock

__all__ = ["PostgresIndexReader", "PostgresIndexStore", "PostgresIngestLock"]
