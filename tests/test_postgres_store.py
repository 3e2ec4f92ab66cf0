"""The PostgreSQL store against the file store: the same version read through both gives the same numbers.

Both are filled by a real ingest of the shipped corpus (fake embedder); every reader method is compared,
and so are the answers. The BM25 search (MaxScore over posting lists + sparsevec rescoring) is also
checked against a brute-force reference on a larger random corpus, where it must prune to be fast.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from assistant import Assistant
from assistant import index as idx
from assistant.config import Settings
from assistant.errors import DatabaseError, IngestBusyError
from assistant.index.lexical import bm25_matrix, bm25_weights
from assistant.index.postgres import PostgresIndexStore
from assistant.stores.pg import HNSW_EF_SEARCH, database
from assistant.types import Page, Passage
from ingest.build import ingest

from .fakes import FakeEmbedder

QUESTIONS = [
    "Wat zijn pleinmakers?",
    "Hoe betrek je nieuwkomers bij het lokaal integratiebeleid?",
    "Wat vraagt de VVSG aan de Vlaamse overheid over inburgering?",
    "Welke rol spelen vrijwilligers bij het onthaal van nieuwkomers?",
    "Wie geeft de presentatie over multilevel governance?",
    "What is the role of volunteers?",
    "leefloon kinderopvang",  # words the corpus barely or never uses
]


@pytest.fixture
def both(settings: Settings, pg_url: str) -> tuple[idx.IndexReader, idx.IndexReader, Settings, Settings]:
    emb = FakeEmbedder()
    file_settings = settings
    pg_settings = settings.with_(database_url=pg_url)
    ingest(file_settings, embedder=emb)
    ingest(pg_settings, embedder=emb)
    return (idx.open_store(file_settings).open(), idx.open_store(pg_settings).open(), file_settings, pg_settings)


def test_the_setting_selects_the_backend(settings: Settings, pg_url: str) -> None:
    assert isinstance(idx.open_store(settings), idx.FileIndexStore)
    store = idx.open_store(settings.with_(database_url=pg_url))
    assert isinstance(store, PostgresIndexStore)
    assert "@" in store.describe() and ":" not in store.describe().split("@")[0].split("//")[1]  # no password


def test_reader_parity_with_the_file_backend(both) -> None:  # type: ignore[no-untyped-def]
    f, p, _, _ = both
    assert p.passage_count == f.passage_count > 0
    assert p.manifest.documents == f.manifest.documents
    assert p.manifest.sentence_count == f.manifest.sentence_count
    ids = list(range(f.passage_count))
    assert p.passages(ids) == f.passages(ids)
    assert p.passage_terms(ids) == f.passage_terms(ids)
    assert p.sentences(ids) == f.sentences(ids)
    sids = list(range(f.manifest.sentence_count))
    assert np.array_equal(p.sentence_vectors(sids), f.sentence_vectors(sids))  # both float16 on disk
    assert np.array_equal(p.passage_vectors(ids[::-1]), f.passage_vectors(ids[::-1]))
    for d in f.manifest.documents:
        assert p.document(d.source) == f.document(d.source)
    assert p.document("nope.pdf") is None
    assert p.max_idf == pytest.approx(f.max_idf)
    emb = FakeEmbedder()
    for question in QUESTIONS:
        terms = f.query_terms(question)
        assert p.query_terms(question) == terms
        assert p.idf(terms) == pytest.approx(f.idf(terms))
        fid, fsc = f.lexical_search(terms, 100)
        pid, psc = p.lexical_search(terms, 100)
        assert np.allclose(psc, fsc, atol=1e-5)  # same scores in the same order (ties may swap ids)
        assert dict(zip(pid.tolist(), psc.tolist(), strict=True)) == pytest.approx(
            dict(zip(fid.tolist(), fsc.tolist(), strict=True)), abs=1e-5)
        some = random.Random(1).sample(ids, 20)
        assert np.allclose(p.lexical_scores(terms, some), f.lexical_scores(terms, some), atol=1e-5)
        with ThreadPoolExecutor(1) as pool:  # another thread has no search in hand: the database rescores
            fresh = pool.submit(p.lexical_scores, terms, some).result()
        assert np.allclose(fresh, f.lexical_scores(terms, some), atol=1e-5)
        q = emb.embed_queries([question])[0]
        fd, fs = f.dense_search(q, 30)
        pd, ps = p.dense_search(q, 30)
        assert pd.tolist() == fd.tolist() and np.allclose(ps, fs, atol=1e-5)
        assert np.allclose(p.dense_scores(q, some), f.dense_scores(q, some), atol=1e-6)


def test_answers_are_the_same(both) -> None:  # type: ignore[no-untyped-def]
    _, _, fs, ps = both
    emb = FakeEmbedder()
    a = Assistant.load(settings=fs, embedder=emb, follow=False)
    b = Assistant.load(settings=ps, embedder=emb, follow=False)
    for question in QUESTIONS:
        x, y = a.ask(question), b.ask(question)
        assert (y.found, y.text) == (x.found, x.text)
        assert [(c.passage_id, c.n) for c in y.citations + y.related] == \
            [(c.passage_id, c.n) for c in x.citations + x.related]


def test_bm25_matrix_equals_the_reference() -> None:
    rnd = random.Random(3)
    words = [f"w{i}" for i in range(300)]
    docs = [[rnd.choice(words[: rnd.randint(5, 300)]) for _ in range(rnd.randint(0, 60))] for _ in range(400)]
    weights, df = bm25_weights(docs)
    for block in (50_000, 37):  # one block, and many (how a million passages are computed)
        m = bm25_matrix(docs, block=block)
        assert dict(zip(m.vocabulary, m.df.tolist(), strict=True)) == df
        for d, ref in enumerate(weights):
            a, b = m.indptr[d], m.indptr[d + 1]
            got = {m.vocabulary[i]: float(w) for i, w in zip(m.indices[a:b], m.weights[a:b], strict=True)}
            assert got == pytest.approx(ref, rel=1e-6)


def _random_content(n: int, dim: int = 8, seed: int = 5) -> idx.VersionContent:
    """Passages of Zipf-distributed words: common words in most passages, rare ones in a few."""
    rnd = random.Random(seed)
    vocab = [f"woord{i}" for i in range(3000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    passages, pages = [], []
    for i in range(n):
        text = " ".join(rnd.choices(vocab, weights=weights, k=rnd.randint(20, 120)))
        passages.append(Passage(id=i, source=f"d{i // 50}.md", title="T", page=None, section="", start=0,
                                end=len(text), text=text))
    for src in sorted({p.source for p in passages}):
        pages.append(Page(source=src, page=None, text="x"))
    vecs = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return idx.VersionContent(model=idx.ModelInfo("m", "f", dim), chunker={}, documents=[], passages=passages,
                              pages=pages, vectors=vecs, sentences=[], sentence_vectors=np.zeros((0, dim)))


@pytest.mark.parametrize("cached_apply", [0, 10_000])
def test_lexical_search_is_exact_where_it_prunes(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 cached_apply: int) -> None:
    """MaxScore stops early and rescores few passages, or applies lists it holds in its cache; its top k must
    still be the exhaustive top k, and the scores of other passages asked afterwards must be exact."""
    from assistant.index.postgres import reader as postgres

    # small budgets, so that 3,000 passages take every path a million do
    monkeypatch.setattr(postgres, "FIRST_POSTINGS", 300)
    monkeypatch.setattr(postgres, "RESCORE_LIMIT", 50)
    monkeypatch.setattr(postgres, "SHORT_LIST", 100)
    monkeypatch.setattr(postgres, "CACHED_APPLY", cached_apply)
    content = _random_content(3000)
    pstore = PostgresIndexStore(pg_url)
    fstore = idx.FileIndexStore(tmp_path / "index")
    pv, fv = pstore.write(content), fstore.write(content)
    p, f = pstore.open(pv), fstore.open(fv)
    rnd = random.Random(9)
    paths = set()
    for _round in range(2):  # the second round finds the common words' lists in the cache
        rnd.seed(9)
        for _ in range(40):
            # a mix of rare and common words, as questions are
            terms = sorted({f"woord{rnd.choice([rnd.randint(0, 20), rnd.randint(20, 2999)])}" for _ in range(5)})
            for k in (10, 100):
                with mock.patch.object(p, "_rescore", wraps=p._rescore) as rescore:
                    pid, psc = p.lexical_search(terms, k)
                paths.add("rescored" if rescore.called else "complete")
                fid, fsc = f.lexical_search(terms, k)
                assert np.allclose(psc, fsc, atol=1e-4), terms
                kth = fsc[-1]
                clear = fsc > kth + 1e-4  # above the k-th score (ties at the border may pick either passage)
                assert set(fid[clear].tolist()) <= set(pid.tolist())
                some = rnd.sample(range(3000), 30) + pid[:5].tolist()
                assert np.allclose(p.lexical_scores(terms, some), f.lexical_scores(terms, some), atol=1e-4)
    assert paths == {"rescored", "complete"}


def test_past_its_budget_lexical_search_bounds_its_work_and_keeps_the_top(pg_url: str, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A question of very common words would fetch most of the index's postings; past the budget the common
    words' lists are left out and the best partial scores rescored: the scores it returns are exact and its
    top 10 is nearly the exhaustive one."""
    from assistant.index.postgres import reader as postgres

    monkeypatch.setattr(postgres, "FIRST_POSTINGS", 300)
    monkeypatch.setattr(postgres, "SHORT_LIST", 100)
    monkeypatch.setattr(postgres, "CACHED_APPLY", 0)
    monkeypatch.setattr(postgres, "POSTINGS_BUDGET", 3_000)
    monkeypatch.setattr(postgres, "RESCORE_CAP", 300)
    content = _random_content(3000)
    pstore, fstore = PostgresIndexStore(pg_url), idx.FileIndexStore(tmp_path / "index")
    p, f = pstore.open(pstore.write(content)), fstore.open(fstore.write(content))
    rnd = random.Random(4)
    recalls, capped = [], 0
    for _ in range(40):
        # one rarer word and four of the commonest: together far more postings than the budget
        terms = sorted({f"woord{rnd.randint(30, 400)}", *(f"woord{rnd.randint(0, 8)}" for _ in range(4))})
        total = sum(info.df for info in p._term_info(terms))
        with mock.patch.object(p, "_postings", wraps=p._postings) as postings:
            pid, psc = p.lexical_search(terms, 10)
        applied = sum(len(ids) for call in postings.call_args_list for ids, _ in
                      p._postings(call.args[0]).values())
        capped += total > postgres.POSTINGS_BUDGET
        assert applied <= max(postgres.POSTINGS_BUDGET, 300) + 300  # the first round trip may take the rarest
        assert np.allclose(psc, f.lexical_scores(terms, pid.tolist()), atol=1e-4)  # what it returns is exact
        fid, _ = f.lexical_search(terms, 10)
        recalls.append(len(set(pid.tolist()) & set(fid.tolist())) / len(fid))
    assert capped >= 30  # the budget was the binding limit for most questions
    assert np.mean(recalls) >= 0.9


def test_versions_publish_and_prune(pg_url: str) -> None:
    store = PostgresIndexStore(pg_url)
    assert store.current_version() is None
    written = [store.write(_random_content(30, seed=i)) for i in range(5)]
    assert store.current_version() is None  # written is not published
    store.publish(written[1])
    assert store.current_version() == written[1]
    removed = store.prune(keep=2)
    assert written[1] in store.versions() and store.versions()[-2:] == written[-2:]
    assert written[0] in removed and written[2] in removed
    assert store.open().version_id == written[1]
    schemas = database(pg_url).rows("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'wv\\_%'")[0][0]
    assert schemas == 3


def test_the_ingest_lock_is_one_per_database(pg_settings: Settings) -> None:
    store = idx.open_store(pg_settings)
    other = PostgresIndexStore(pg_settings.database_url)
    with store.lock():
        with pytest.raises(IngestBusyError, match="Er loopt al een indexering"):
            with other.lock():
                pass
        with pytest.raises(IngestBusyError):
            ingest(pg_settings, embedder=FakeEmbedder())
    with other.lock():  # released
        pass


def test_last_ingest_report_lives_in_the_database(pg_settings: Settings) -> None:
    report = ingest(pg_settings, embedder=FakeEmbedder())
    store = PostgresIndexStore(pg_settings.database_url)
    assert store.read_last_ingest()["version_id"] == report.version_id  # type: ignore[index]
    assert not (pg_settings.index_dir).exists()  # nothing went to the data directory


def test_migrations_are_idempotent_and_concurrent(pg_url: str) -> None:
    from assistant.stores import pg as postgres

    steps = ("CREATE TABLE wegwijzer.t1 (x int)", "ALTER TABLE wegwijzer.t1 ADD COLUMN y int")
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            postgres.Database(pg_url).migrate("demo", steps)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    db = postgres.Database(pg_url)
    assert db.rows("SELECT version FROM wegwijzer.migrations WHERE component = 'demo'") == [(2,)]
    db.migrate("demo", steps)  # nothing left to do
    db.close()
    with pytest.raises(DatabaseError, match="nieuwere versie"):
        postgres.Database(pg_url).migrate("demo", steps[:1])


def test_unreachable_server_is_a_dutch_message(settings: Settings) -> None:
    from bots.localdb import free_port

    url = f"postgresql://wegwijzer:x@127.0.0.1:{free_port()}/wegwijzer"
    store = idx.open_store(settings.with_(database_url=url))
    with pytest.raises(DatabaseError, match="niet bereikbaar") as err:
        store.current_version()
    assert "x@" not in str(err.value)  # the password is never shown
    with pytest.raises(DatabaseError, match="niet bereikbaar"):
        ingest(settings.with_(database_url=url), embedder=FakeEmbedder())


def test_a_database_without_pgvector_is_a_dutch_message(pg_server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    """A role that may not create the extension, on a database that lacks it."""
    import psycopg

    from .pg import with_database

    name = pg_url.rsplit("/", 1)[1]
    role = f"plain_{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'plain' NOSUPERUSER")
        conn.execute(f"REVOKE CREATE ON DATABASE {name} FROM PUBLIC")
    parts = pg_url.split("@", 1)[1]
    url = with_database(f"postgresql://{role}:plain@{parts}", name)
    with pytest.raises(DatabaseError, match="pgvector"):
        PostgresIndexStore(url).current_version()


def _vector_indexes(pg_url: str, schema: str) -> list[str]:
    return [d[0] for d in database(pg_url).rows(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'vectors'", (schema,))]


def _check_neighbours(reader: idx.IndexReader, content: idx.VersionContent, k_large: int) -> None:
    rng = np.random.default_rng(4)
    for _ in range(10):
        q = rng.standard_normal(content.vectors.shape[1]).astype(np.float32)
        q /= np.linalg.norm(q)
        exact = np.argsort(-(content.vectors @ q))
        ids, scores = reader.dense_search(q, 10)
        assert ids.tolist() == exact[:10].tolist()
        assert np.allclose(scores, content.vectors[ids] @ q, atol=1e-5)
    ids, _ = reader.dense_search(q, k_large)
    assert len(ids) == k_large and len(set(ids.tolist()) & set(exact[:k_large].tolist())) >= 0.95 * k_large


def test_ivfflat_above_the_threshold_probes_the_versions_own_lists(pg_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Past VECTOR_INDEX_THRESHOLD the vectors get an IVFFlat index with rows / IVF_ROWS_PER_LIST lists, and the
    reader probes by the lists the version recorded (not by today's rule): with every list probed it finds the
    exact top k. A k
    larger than the probed lists hold still gets k rows (the scan goes on to further lists)."""
    from assistant.index.postgres import store as postgres

    monkeypatch.setattr(postgres, "VECTOR_INDEX_THRESHOLD", 500)
    monkeypatch.setattr(postgres, "IVF_ROWS_PER_LIST", 100)
    content = _random_content(800, dim=16)
    store = PostgresIndexStore(pg_url)
    version = store.write(content)
    monkeypatch.setattr(postgres, "IVF_ROWS_PER_LIST", 1000)  # a later sizing rule: the version's record counts
    monkeypatch.setattr(postgres, "ivf_probes", lambda lists: lists)
    reader = store.open(version)
    assert reader.manifest.vector_index == "ivfflat"
    indexes = _vector_indexes(pg_url, postgres.schema_of(version))
    assert any("ivfflat" in d and "lists='8'" in d for d in indexes), indexes
    _check_neighbours(reader, content, 300)
    monkeypatch.setattr(postgres, "ivf_probes", lambda lists: 1)  # one list of eight: ~100 rows
    ids, _ = store.open(version).dense_search(content.vectors[0], 300)
    assert len(ids) == 300 and len(set(ids.tolist())) == 300


def test_the_ivfflat_build_gets_the_memory_it_needs_on_a_server_with_little(pg_url: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """pgvector refuses to build IVFFlat when its k-means sample does not fit in maintenance_work_mem
    (PostgreSQL's default 64 MB is too little from about 850k passages of 384 dimensions). The writer raises it
    for the build; here the database allows 1 MB and the sample needs more."""
    from assistant.index.postgres import store as postgres

    monkeypatch.setattr(postgres, "VECTOR_INDEX_THRESHOLD", 500)
    monkeypatch.setattr(postgres, "IVF_ROWS_PER_LIST", 20)  # 40 lists: all 800 rows sampled, 1.2 MB
    dbname = pg_url.rsplit("/", 1)[1].split("?")[0]
    database(pg_url).execute(f'ALTER DATABASE "{dbname}" SET maintenance_work_mem = \'1MB\'')
    database(pg_url).close()  # new connections get the database's setting
    content = _random_content(800, dim=384)
    store = PostgresIndexStore(pg_url)
    reader = store.open(store.write(content))
    assert reader.manifest.vector_index == "ivfflat"
    assert database(pg_url).rows("SHOW maintenance_work_mem")[0][0] == "1MB"  # raised for the build only
    ids, _ = reader.dense_search(content.vectors[3], 5)
    assert len(ids) == 5


def test_versions_written_with_hnsw_are_still_read(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A version written before IVFFlat has an HNSW index: the reader finds the exact neighbours on a small set,
    also when k exceeds ef_search (an HNSW scan returns at most ef_search rows unless the reader raises it)."""
    import dataclasses

    from assistant.index.postgres import store as postgres

    content = _random_content(800, dim=16)
    store = PostgresIndexStore(pg_url)
    version = store.write(content)
    schema = postgres.schema_of(version)
    database(pg_url).execute(f"CREATE INDEX ON {schema}.vectors USING hnsw (embedding vector_ip_ops) "
                             "WITH (m = 32, ef_construction = 80)")
    assert any("hnsw" in d for d in _vector_indexes(pg_url, schema))
    flat = store.open(version)
    reader = postgres.PostgresIndexReader(store.db, dataclasses.replace(flat.manifest, vector_index="hnsw"),
                                          schema, flat._dim)
    _check_neighbours(reader, content, HNSW_EF_SEARCH + 100)
