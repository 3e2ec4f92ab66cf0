"""One index version in PostgreSQL, opened for reading: dense search with pgvector, BM25 by MaxScore over
per-term posting lists, passages, sentences and pages. Connections come from the state layer's pool
(``assistant.stores.pg``)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.index.audience import EVERYONE_MARK, AudienceView, AudienceViews
from assistant.index.lexical import Analyser, idf
from assistant.index.model import Manifest
from assistant.index.postgres.codec import RawSparse, ident, sparse_bytes
from assistant.index.protocol import PASSAGE_COLUMNS as _PASSAGE_COLUMNS
from assistant.index.protocol import SENTENCE_COLUMNS as _SENTENCE_COLUMNS
from assistant.index.protocol import IndexReader, ManifestReader, SentenceRecord
from assistant.index.protocol import passage_from_row as _passage
from assistant.index.protocol import sentence_from_row as _sentence
from assistant.stores.pg import HNSW_EF_SEARCH, POOL_SIZE, Database
from assistant.types import Page, Passage

RESCORE_LIMIT = 500  # MaxScore fetches another posting list rather than rescore more passages than this
FIRST_POSTINGS = 50_000  # posting entries fetched in the first round trip (the rarest terms)
SHORT_LIST = 5_000  # posting lists this short come with the term's statistics
POSTING_CACHE_BYTES = 64 * 1024 * 1024  # per process and version: the hot terms' lists stay in memory
CACHED_APPLY = 200_000  # a cached posting list this short is applied rather than its passages rescored
# Work bound for one lexical search at scale. Posting entries applied per question: past this, the remaining
# (long, low-weight) lists of very common terms are not fetched; the RESCORE_CAP passages with the best partial
# score are rescored exactly instead. Below the budget the search is exact (the shipped corpus has 55 passages
# and ~10k postings in all); at 1M synthetic passages a question's common terms hold 2-8 MB of postings each,
# which cost 10-70 ms apiece to fetch (bench/scale.py, docs/benchmarks.md).
POSTINGS_BUDGET = 400_000
RESCORE_CAP = 1_000
def groups_of(audiences: frozenset[str]) -> list[str]:
    """The groups an asker has as the passages' records name them: their own, and the mark of "everyone"."""
    return [EVERYONE_MARK, *sorted(audiences)]


@dataclass(frozen=True)
class _Term:
    term: str
    id: int
    df: int
    max_weight: float


_side: ThreadPoolExecutor | None = None
_side_lock = threading.Lock()


def _side_pool() -> ThreadPoolExecutor:
    """Threads that run a question's dense search while its own thread runs the lexical one."""
    global _side
    with _side_lock:
        if _side is None:
            _side = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="wegwijzer-dense")
        return _side


class PostgresIndexReader(ManifestReader):
    """One version in the database, opened for reading. Thread-safe: every call takes a pooled connection."""

    def __init__(self, db: Database, manifest: Manifest, schema: str, vocabulary_size: int,
                 probes: int = 0) -> None:
        """``probes``: IVFFlat lists to scan per question (0: the version has no IVFFlat index)."""
        from psycopg import sql

        self._db = db
        self._manifest = manifest
        self._schema = schema
        self._dim = vocabulary_size
        self._probes = probes
        s = ident(schema)
        self._sql = {name: sql.SQL(text).format(s=s) for name, text in {
            "dense": "SELECT id, (embedding <#> %s) * -1 FROM {s}.vectors ORDER BY embedding <#> %s LIMIT %s",
            # an audience view's: the filter is part of the search (an index scan goes on until k rows pass it)
            "dense_for": "SELECT id, (embedding <#> %s) * -1 FROM {s}.vectors WHERE audience && %s::text[] "
                         "ORDER BY embedding <#> %s LIMIT %s",
            "hidden": "SELECT id FROM {s}.passages WHERE NOT (audience && %s::text[])",
            "hidden_sentences": "SELECT id FROM {s}.sentences WHERE passage_id = ANY(%s)",
            "vectors": "SELECT id, embedding FROM {s}.vectors WHERE id = ANY(%s)",
            # the cosines only: 8 bytes a passage over the wire instead of the vector's 1.5 kB
            "cosines": "SELECT id, (embedding <#> %s) * -1 FROM {s}.vectors WHERE id = ANY(%s)",
            # short posting lists come along (a question's rare terms: no second round trip for them)
            "terms": "SELECT term, id, df, max_weight, CASE WHEN df <= %s THEN ids END, "
                     "CASE WHEN df <= %s THEN weights END FROM {s}.terms WHERE term = ANY(%s)",
            "postings": "SELECT id, ids, weights FROM {s}.terms WHERE id = ANY(%s)",
            "rescore": "SELECT id, (weights <#> %s) * -1 FROM {s}.lexical WHERE id = ANY(%s)",
            "passages": f"SELECT {_PASSAGE_COLUMNS}, terms FROM {{s}}.passages WHERE id = ANY(%s)",
            "passage_terms": "SELECT id, terms FROM {s}.passages WHERE id = ANY(%s)",
            "sentences": f"SELECT {_SENTENCE_COLUMNS} FROM {{s}}.sentences WHERE passage_id = ANY(%s) ORDER BY id",
            "sentence_vectors": "SELECT id, embedding FROM {s}.sentences WHERE id = ANY(%s)",
            "pages": "SELECT source, page, text, ocr FROM {s}.pages WHERE source = %s ORDER BY seq",
            "document": f"SELECT {_PASSAGE_COLUMNS} FROM {{s}}.passages WHERE source = %s ORDER BY id",
            "words": "SELECT word FROM {s}.words",
        }.items()}
        self._terms: dict[str, _Term | None] = {}
        self._terms_lock = threading.Lock()
        self._analyser: Analyser | None = None
        self._analyser_lock = threading.Lock()
        self._local = threading.local()
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_bytes = 0
        self._cache_lock = threading.Lock()
        self._views = AudienceViews(self, lambda audiences: _AudienceView(self, audiences))

    # ------------------------------------------------------------ basics

    def close(self) -> None:
        """Nothing to release: connections belong to the process's pool."""

    def for_audiences(self, audiences: frozenset[str]) -> IndexReader:
        return self._views.get(audiences)

    def hidden_from(self, audiences: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the passages and sentences an asker in ``audiences`` may see, from the passages' records."""
        hidden = [r[0] for r in self._db.rows(self._sql["hidden"], (groups_of(audiences),))]
        visible = np.ones(self.passage_count, dtype=bool)
        visible[hidden] = False
        sentences = np.ones(self._manifest.sentence_count, dtype=bool)
        if hidden:
            sentences[[r[0] for r in self._db.rows(self._sql["hidden_sentences"], (hidden,))]] = False
        return visible, sentences

    # ------------------------------------------------------------ dense

    def dense_search(self, query: np.ndarray, k: int, groups: list[str] | None = None, n: int | None = None,
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by cosine; with ``groups`` (an audience view's) among the ``n`` passages whose audience
        overlaps them, filtered in the same query."""
        from pgvector import Vector

        n = self.passage_count if n is None else n
        if n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = Vector(np.asarray(query, dtype=np.float32))
        k = min(k, n)

        # A setting for this query only: the version's own IVFFlat probes (the session's setting is shared by
        # all versions), or, for a version with HNSW, an ef_search of at least k (a scan returns at most that).
        settings: list[tuple[str, object]] = [("ivfflat.probes", self._probes)] if self._probes else \
            [("hnsw.ef_search", k)] if k > HNSW_EF_SEARCH else []
        if groups is not None and self._manifest.vector_index != "flat":
            # pgvector >= 0.8: an approximate index scan goes on until k rows passed the audience filter
            settings += [("ivfflat.iterative_scan", "relaxed_order"), ("hnsw.iterative_scan", "relaxed_order")]
        query_sql, params = (self._sql["dense"], (q, q, k)) if groups is None else \
            (self._sql["dense_for"], (q, groups, q, k))

        def work(conn: Any) -> list[tuple[Any, ...]]:
            if not settings:
                return conn.execute(query_sql, params).fetchall()  # type: ignore[no-any-return]
            with conn.transaction():
                for name, value in settings:
                    conn.execute("SELECT set_config(%s, %s, true)", (name, str(value)))
                return conn.execute(query_sql, params).fetchall()  # type: ignore[no-any-return]

        rows = sorted(self._db.run(work), key=lambda r: -r[1])  # an iterative scan's order is relaxed
        return (np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], dtype=np.float32))

    def search_both(self, query: np.ndarray, terms: Sequence[str], k: int,
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Side by side: each is a round trip to the server, which works on them in two backends at once
        (a question waits for the slower one instead of both; at 1M passages each takes 10-25 ms)."""
        dense = _side_pool().submit(self.dense_search, query, k)
        lexical = self.lexical_search(terms, k)
        return dense.result(), lexical

    def passage_vectors(self, ids: Sequence[int]) -> np.ndarray:
        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros((0, self._manifest.model.dim), dtype=np.float32)
        by_id = dict(self._db.rows(self._sql["vectors"], (ids,), binary=True))
        return np.vstack([by_id[i] for i in ids]).astype(np.float32)

    def dense_scores(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        from pgvector import Vector

        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros(0, dtype=np.float32)
        by_id = dict(self._db.rows(self._sql["cosines"], (Vector(np.asarray(query, dtype=np.float32)), ids)))
        return np.array([by_id[i] for i in ids], dtype=np.float32)

    # ------------------------------------------------------------ lexical

    def analyser(self) -> Analyser:
        if self._analyser is None:
            with self._analyser_lock:
                if self._analyser is None:
                    words = [r[0] for r in self._db.rows(self._sql["words"])]
                    self._analyser = Analyser(self._manifest.analyzer, words)
        return self._analyser

    def query_terms(self, question: str) -> list[str]:
        return self.analyser().query_terms(question)

    def _term_info(self, terms: Sequence[str]) -> list[_Term]:
        """Known terms (unknown ones left out), deduplicated, in the order given; cached per version."""
        wanted = [term for term in dict.fromkeys(terms) if term]
        missing = [term for term in wanted if term not in self._terms]
        if missing:
            rows = self._db.rows(self._sql["terms"], (SHORT_LIST, SHORT_LIST, missing), binary=True)
            found = {r[0]: _Term(r[0], r[1], r[2], float(r[3])) for r in rows}
            self._remember({int(r[1]): (np.frombuffer(r[4], dtype="<i4"), np.frombuffer(r[5], dtype="<f4"))
                            for r in rows if r[4] is not None})
            with self._terms_lock:
                if len(self._terms) > 100_000:
                    self._terms.clear()
                for term in missing:
                    self._terms[term] = found.get(term)
        return [info for info in (self._terms.get(term) for term in wanted) if info is not None]

    def _query_vector(self, infos: Sequence[_Term]) -> Any:
        idx = np.array(sorted({i.id for i in infos}), dtype=np.int64)
        return RawSparse(sparse_bytes(self._dim, idx, np.ones(len(idx), dtype=np.float32)))

    def _rescore(self, infos: Sequence[_Term], ids: Sequence[int]) -> dict[int, float]:
        if not infos or not len(ids):
            return {}
        rows = self._db.rows(self._sql["rescore"], (self._query_vector(infos), [int(i) for i in ids]), binary=True)
        return {int(r[0]): float(r[1]) for r in rows}

    def _postings(self, terms: Sequence[_Term]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Posting lists (passage ids, weights) by term id; hot lists come from this process's cache."""
        out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        with self._cache_lock:
            for term in terms:
                hit = self._cache.get(term.id)
                if hit is not None:
                    self._cache.move_to_end(term.id)
                    out[term.id] = hit
        missing = [term.id for term in terms if term.id not in out]
        if missing:
            rows = self._db.rows(self._sql["postings"], (missing,), binary=True)
            fetched = {int(r[0]): (np.frombuffer(r[1], dtype="<i4"), np.frombuffer(r[2], dtype="<f4")) for r in rows}
            out.update(fetched)
            self._remember(fetched)
        return out

    def _cached(self, term_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        with self._cache_lock:
            return self._cache.get(term_id)

    def _remember(self, lists: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
        with self._cache_lock:
            for tid, (ids, weights) in lists.items():
                if tid not in self._cache:
                    self._cache[tid] = (ids, weights)
                    self._cache_bytes += ids.nbytes + weights.nbytes
            while self._cache_bytes > POSTING_CACHE_BYTES and self._cache:
                _, (ids, weights) = self._cache.popitem(last=False)
                self._cache_bytes -= ids.nbytes + weights.nbytes

    def lexical_search(self, terms: Sequence[str], k: int, visible: np.ndarray | None = None,
                       scope: frozenset[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """BM25 top-k by MaxScore: posting lists of the rarest terms, exact rescoring of the open cases.

        Exact while the question's posting lists fit ``POSTINGS_BUDGET``; past it, the lists of the most common
        terms are left out and the ``RESCORE_CAP`` best partial scores are rescored exactly. With ``visible`` (an
        audience view's mask, ``scope`` its audiences) hidden passages are dropped from every posting list before
        it is applied, so the top-k is taken among visible passages only."""
        empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        infos = sorted(self._term_info(terms), key=lambda i: (-i.max_weight, i.df))
        n = self.passage_count
        shown = n if visible is None else int(visible.sum())
        if not infos or shown == 0 or k <= 0:
            return empty
        k = min(k, shown)
        acc = np.zeros(n, dtype=np.float32)
        seen = np.zeros(n, dtype=bool)
        remaining = float(sum(i.max_weight for i in infos))
        fetched = applied = 0
        capped = False
        # The short lists together cost one round trip; long lists come one at a time, while they still matter.
        first = 0
        budget = FIRST_POSTINGS
        while first < len(infos) and (first == 0 or infos[first].df <= budget):
            budget -= infos[first].df
            first += 1
        lists = self._postings(infos[:first])
        theta = 0.0
        for info in infos:
            if fetched and info.id not in lists:  # a list in hand costs nothing more; another one may not be needed
                cached = self._cached(info.id)
                if cached is not None and len(cached[0]) <= CACHED_APPLY:
                    lists[info.id] = cached
                    # fall through: applied below like any list in hand
            if fetched and info.id not in lists:
                touched = np.flatnonzero(seen)
                theta = float(np.partition(acc[touched], len(touched) - k)[len(touched) - k]) \
                    if len(touched) >= k else 0.0
                if remaining <= theta and np.count_nonzero(acc[touched] + remaining > theta) <= RESCORE_LIMIT:
                    break  # nobody unseen can reach the k-th score, and few seen ones are still open
                if applied + info.df > POSTINGS_BUDGET:
                    capped = True
                    break  # the rest are lists of common terms: bounded work instead of an exact answer
            ids, weights = lists.pop(info.id) if info.id in lists else self._postings([info])[info.id]
            if visible is not None:
                keep = visible[ids]
                ids, weights = ids[keep], weights[keep]
            acc[ids] += weights  # ids are unique within one list
            seen[ids] = True
            remaining -= info.max_weight
            fetched += 1
            applied += len(ids)
        rest = infos[fetched:]
        touched = np.flatnonzero(seen)
        if rest:
            upper = sum(i.max_weight for i in rest)
            open_ = touched[acc[touched] + upper > theta]
            if capped and len(open_) > RESCORE_CAP:
                open_ = open_[np.argpartition(-acc[open_], RESCORE_CAP - 1)[:RESCORE_CAP]]
            exact = self._rescore(infos, open_.tolist())
            ids_arr = np.fromiter(exact.keys(), dtype=np.int64, count=len(exact))
            vals = np.fromiter(exact.values(), dtype=np.float32, count=len(exact))
        else:
            ids_arr, vals = touched.astype(np.int64), acc[touched]
            # every posting list was applied: acc holds the exact score of every (visible) passage
            self._local.lexical = (scope, frozenset(i.id for i in infos), acc)
        keep = vals > 0
        ids_arr, vals = ids_arr[keep], vals[keep]
        if len(vals) > k:
            top = np.argpartition(-vals, k - 1)[:k]
            ids_arr, vals = ids_arr[top], vals[top]
        order = np.lexsort((ids_arr, -vals))
        return ids_arr[order], vals[order]

    def lexical_scores(self, terms: Sequence[str], ids: Sequence[int], scope: frozenset[str] | None = None,
                       ) -> np.ndarray:
        ids = [int(i) for i in ids]
        infos = self._term_info(terms)
        last = getattr(self._local, "lexical", None)
        # a view's search leaves its hidden passages at 0: its scores are reused by that view alone
        if last is not None and last[0] in (None, scope) and last[1] == frozenset(i.id for i in infos):
            # the search for these terms just applied every posting list (retrieval asks for its candidates)
            return last[2][np.asarray(ids, dtype=np.int64)]  # type: ignore[no-any-return]
        exact = self._rescore(infos, ids)
        return np.array([exact.get(i, 0.0) for i in ids], dtype=np.float32)

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        n = self.passage_count
        return {info.term: idf(info.df, n) for info in self._term_info(terms)}

    @property
    def max_idf(self) -> float:
        return idf(1, max(1, self.passage_count))

    # ------------------------------------------------------------ passages and sentences

    def passages(self, ids: Sequence[int]) -> list[Passage]:
        ids = [int(i) for i in ids]
        if not ids:
            return []
        rows = self._db.rows(self._sql["passages"], (ids,))
        by_id = {r[0]: _passage(r) for r in rows}
        # Retrieval asks for the terms of the passages it just read: keep them, saving a round trip.
        self._local.terms = {r[0]: r[9] for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def passage_terms(self, ids: Sequence[int]) -> list[frozenset[str]]:
        ids = [int(i) for i in ids]
        if not ids:
            return []
        known: dict[int, str] = getattr(self._local, "terms", {})
        if not all(i in known for i in ids):
            known = dict(self._db.rows(self._sql["passage_terms"], (ids,)))
        return [frozenset(known[i].split()) if i in known else frozenset() for i in ids]

    def sentences(self, passage_ids: Sequence[int]) -> list[SentenceRecord]:
        ids = [int(i) for i in passage_ids]
        if not ids:
            return []
        order = {pid: i for i, pid in enumerate(ids)}
        rows = self._db.rows(self._sql["sentences"], (ids,))
        return sorted((_sentence(r) for r in rows), key=lambda s: (order[s.passage_id], s.id))

    def sentence_vectors(self, ids: Sequence[int]) -> np.ndarray:
        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros((0, self._manifest.model.dim), dtype=np.float32)
        by_id = dict(self._db.rows(self._sql["sentence_vectors"], (ids,), binary=True))
        return np.vstack([by_id[i] for i in ids]).astype(np.float32)

    def document(self, source: str) -> tuple[list[Page], list[Passage]] | None:
        if self._manifest.document(source) is None:
            return None

        def work(conn: Any) -> tuple[list[Page], list[Passage]]:
            pages = [Page(source=r[0], page=r[1], text=r[2], ocr=bool(r[3]))
                     for r in conn.execute(self._sql["pages"], (source,))]
            passages = [_passage(r) for r in conn.execute(self._sql["document"], (source,))]
            return pages, passages

        return self._db.run(work)


class _AudienceView(AudienceView):
    """A version as one set of audiences may see it (assistant/index/audience.py): dense search filters with
    ``WHERE audience && $groups`` in the query itself; lexical search drops hidden passages from each posting
    list before MaxScore applies it."""

    def __init__(self, base: PostgresIndexReader, audiences: frozenset[str]) -> None:
        super().__init__(base, audiences, *base.hidden_from(audiences))
        self._pg = base
        self._groups = groups_of(audiences)

    def dense_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._pg.dense_search(query, k, groups=self._groups, n=self.passage_count)

    def lexical_search(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._pg.lexical_search(terms, k, visible=self._visible, scope=self._audiences)

    def search_both(self, query: np.ndarray, terms: Sequence[str], k: int,
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        dense = _side_pool().submit(self.dense_search, query, k)  # two round trips side by side, as the reader
        lexical = self.lexical_search(terms, k)
        return dense.result(), lexical

    def lexical_scores(self, terms: Sequence[str], ids: Sequence[int]) -> np.ndarray:
        shown = self._mask(ids, self._visible)
        scores = np.zeros(len(shown), dtype=np.float32)
        if shown.any():
            scores[shown] = self._pg.lexical_scores(terms, [int(i) for i, s in zip(ids, shown, strict=True) if s],
                                                    scope=self._audiences)
        return scores

    def visible_df(self, terms: Sequence[str]) -> dict[str, int]:
        infos = self._pg._term_info(terms)
        lists = self._pg._postings(infos)
        return {info.term: int(self._visible[lists[info.id][0]].sum()) for info in infos if info.id in lists}
