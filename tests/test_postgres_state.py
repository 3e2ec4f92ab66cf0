"""Shared state in PostgreSQL: feedback and the question log, rate limits, re-index jobs, the client salt.

With WEGWIJZER_DATABASE_URL nothing of this touches the data directory, so replicas keep no state.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from assistant import index as idx
from assistant.config import Settings
from assistant.stores.feedback import _PG_MIGRATIONS, PostgresFeedbackStore, Shown, client_salt, open_feedback
from assistant.stores.jobs import PostgresJobStateStore
from assistant.stores.ratelimits import PostgresRateLimitStore
from bots.ratelimit import Limit, PostgresLimiter, open_limiter
from bots.texts import t
from ingest.build import ingest
from ingest.jobs import Reindexer, pid_alive
from ingest.jobstate import DONE, FAILED, RUNNING, PostgresJobStore, open_jobs

from .fakes import FakeEmbedder, GatedFakeEmbedder
from .jobs_support import WAIT_S, add_document, wait_for_job

pytestmark = pytest.mark.timeout(180)
LIMIT = Limit("ask", 3, 60.0)


# ---------------------------------------------------------------- feedback


def test_feedback_and_questions_live_in_the_database(pg_settings: Settings) -> None:
    store = open_feedback(pg_settings)
    assert isinstance(store, PostgresFeedbackStore)
    store.record_answer("a1", "web", "Wat zijn pleinmakers?", True, [{"source": "x.txt", "page": None}])
    assert store.lookup_answer("a1") == ("Wat zijn pleinmakers?", [{"source": "x.txt", "page": None}])
    assert store.add_feedback("a1", "web", True, comment="Goed", user_ref="u") == "new"
    assert store.add_feedback("a1", "web", True, comment="Goed", user_ref="u") == "same"
    assert store.add_feedback("a1", "web", False, user_ref="u") == "changed"  # one vote per answer and person
    assert store.add_feedback("a1", "telegram", True, user_ref="v") == "new"
    assert store.add_feedback("onbekend", "web", False) is None
    other = PostgresFeedbackStore(pg_settings.database_url)  # another replica sees the same rows
    rows = other.feedback()
    assert [(r.answer_id, r.helpful, r.user_ref, r.question) for r in rows] == [
        ("a1", False, "u", "Wat zijn pleinmakers?"), ("a1", True, "v", "Wat zijn pleinmakers?")]
    assert other.counts() == {"helpful": 1, "not_helpful": 1}
    assert not pg_settings.feedback_db.exists()


def test_concurrent_replicas_lose_no_feedback(pg_settings: Settings) -> None:
    stores = [PostgresFeedbackStore(pg_settings.database_url) for _ in range(3)]

    def work(s: PostgresFeedbackStore, prefix: str) -> None:
        for i in range(30):
            s.record_answer(f"{prefix}{i}", "web", "v", False, [])
            s.add_feedback(f"{prefix}{i}", "web", i % 2 == 0)
            s.add_feedback(f"{prefix}{i}", "web", i % 2 == 1)

    threads = [threading.Thread(target=work, args=(s, p)) for s, p in zip(stores, "abc", strict=True)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(stores[0].feedback()) == 90


def test_old_questions_are_removed(pg_settings: Settings) -> None:
    store = PostgresFeedbackStore(pg_settings.database_url, retention_days=90)
    store.record_answer("oud", "web", "Een oude vraag", False, [])
    store.add_feedback("oud", "web", False, comment="persoonlijk", user_ref="u1")
    store.record_answer("nieuw", "web", "Een nieuwe vraag", True, [])
    store.db.execute("UPDATE wegwijzer.answers SET created_at = created_at - 91 * 86400 WHERE answer_id = 'oud'")
    store.db.execute("UPDATE wegwijzer.feedback SET created_at = created_at - 91 * 86400")
    assert store.purge() == 1
    assert store.lookup_answer("oud") is None and store.lookup_answer("nieuw") is not None
    (row,) = store.feedback()
    assert (row.helpful, row.question, row.comment) == (False, "", "")


SHOWN = Shown(text="Deelname kost 25 euro per persoon [1].", mode="generated", passage_ids=(41, 7),
              index_version="20240312T101500-ab12")


def test_each_vote_keeps_the_answer_that_was_shown(pg_settings: Settings) -> None:
    store = PostgresFeedbackStore(pg_settings.database_url, retention_days=90)
    store.record_answer("a1", "web", "Wat kost de studiedag?", True, [{"source": "a.md"}], shown=SHOWN)
    store.record_answer("a2", "web", "wat kost de studiedag", True, [{"source": "a.md"}], shown=SHOWN)
    store.record_answer("a3", "web", "Wie is de schepen van sport?", False, [])
    store.add_feedback("a1", "web", False, comment="Het is 30 euro", user_ref="u")
    store.add_feedback("a2", "telegram", False, user_ref="v")
    store.add_feedback("a3", "web", False, user_ref="u")  # a refusal: not an answer marked wrong
    voted = store.recent_feedback(helpful=False)[1]  # on a2 (newest first: a3, a2, a1)
    assert (voted.found, voted.shown, voted.sources) == (True, SHOWN, [{"source": "a.md"}])
    (wrong,) = store.wrong_answers()
    assert (wrong.shown, wrong.count, wrong.comments, wrong.channels) == (SHOWN, 2, ["Het is 30 euro"],
                                                                          ["telegram", "web"])
    store.db.execute("UPDATE wegwijzer.answers SET created_at = created_at - 91 * 86400")
    store.db.execute("UPDATE wegwijzer.feedback SET created_at = created_at - 91 * 86400")
    assert store.purge() == 3
    assert [r.shown for r in store.feedback()] == [Shown()] * 3 and store.wrong_answers() == []


def test_a_database_of_the_previous_release_keeps_its_rows(pg_settings: Settings) -> None:
    from assistant.stores.pg import Database

    url = pg_settings.database_url
    old = Database(url)  # the previous release: the first schema step only
    old.migrate("feedback", _PG_MIGRATIONS[:1])
    old.execute("""INSERT INTO wegwijzer.answers VALUES ('oud', 1.0, 'web', 'Wat zijn pleinmakers?', true, '[]')""")
    old.execute("INSERT INTO wegwijzer.feedback (created_at, answer_id, channel, helpful, comment, question, sources, "
                "user_ref) VALUES (2.0, 'oud', 'web', false, 'Klopt niet', 'Wat zijn pleinmakers?', '[]', 'u')")
    old.close()
    store = PostgresFeedbackStore(url)
    (row,) = store.recent_feedback()
    assert (row.comment, row.question, row.found, row.shown) == ("Klopt niet", "Wat zijn pleinmakers?", None, Shown())
    newest = [(len(_PG_MIGRATIONS),)]
    assert store.db.rows("SELECT version FROM wegwijzer.migrations WHERE component = 'feedback'") == newest
    assert store.add_feedback("oud", "web", True, user_ref="u") == "changed"
    store.record_answer("nieuw", "web", "Wat kost de studiedag?", True, [], shown=SHOWN)
    store.add_feedback("nieuw", "web", False, user_ref="u")
    assert [r.shown for r in store.feedback()] == [Shown(), SHOWN]


def test_the_client_salt_is_shared_by_replicas(pg_settings: Settings, tmp_path: Path) -> None:
    elsewhere = pg_settings.with_(data_dir=tmp_path / "other-replica")
    assert client_salt(pg_settings) == client_salt(elsewhere) != ""
    assert not (pg_settings.data_dir / "feedback.salt").exists()


# ---------------------------------------------------------------- rate limits


def test_replicas_share_one_rate_limit(pg_settings: Settings) -> None:
    one = open_limiter(pg_settings)
    two = PostgresLimiter(pg_settings.database_url)
    assert isinstance(one.store, PostgresRateLimitStore)  # the state layer's choice for these settings
    now = 1_000_000.0
    results = [(one if i % 2 else two).hit(LIMIT, "a", now=now).allowed for i in range(6)]
    assert results.count(True) == 3
    refused = one.hit(LIMIT, "a", now=now)
    assert not refused.allowed and refused.retry_after == pytest.approx(20.0)
    assert one.hit(LIMIT, "b", now=now).allowed
    assert one.hit(LIMIT, "a", now=now + 20.0).allowed


def test_an_unreachable_database_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    from bots.localdb import free_port

    limiter = PostgresLimiter(f"postgresql://x:y@127.0.0.1:{free_port()}/nope")
    assert all(limiter.hit(LIMIT, "a").allowed for _ in range(5))
    assert len([r for r in caplog.records if "rate-limit check" in r.getMessage()]) == 1


# ---------------------------------------------------------------- re-index jobs


@pytest.fixture
def pg_index(pg_settings: Settings) -> Settings:
    ingest(pg_settings, embedder=FakeEmbedder())
    return pg_settings


def test_jobs_run_in_their_own_process_with_state_in_the_database(pg_index: Settings, tmp_path: Path) -> None:
    assert isinstance(open_jobs(pg_index).store, PostgresJobStateStore)
    add_document(pg_index, "buurthuis-een.md")
    reindexer = Reindexer(pg_index, embedder_factory=FakeEmbedder)
    ticket = reindexer.request("web")
    job = wait_for_job(reindexer, ticket.job.id)
    assert job.state == DONE and job.pid != os.getpid(), job
    assert job.report is not None and job.report["documents_embedded"] == 1
    assert idx.open_store(pg_index).current_version() == job.report["version_id"]
    # another replica, with its own (empty) data directory, reports the same job
    elsewhere = Reindexer(pg_index.with_(data_dir=tmp_path / "replica"))
    assert elsewhere.status().current == job
    assert not (pg_index.index_dir / "job.json").exists()


def test_kill_9_of_a_job_process_is_noticed_by_every_replica(pg_index: Settings, tmp_path: Path) -> None:
    before = idx.open_store(pg_index).current_version()
    gate = tmp_path / "gate"
    gate.mkdir()
    reindexer = Reindexer(pg_index, embedder_factory=functools.partial(GatedFakeEmbedder, str(gate)))
    add_document(pg_index, "onderbroken.md")
    ticket = reindexer.request("web")
    deadline = time.monotonic() + WAIT_S
    while not (gate / "embedding").exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    running = reindexer.status().current
    assert running is not None and running.state == RUNNING
    assert PostgresJobStore(pg_index.database_url).runner_active()  # the advisory lock of the job process
    os.kill(running.pid, signal.SIGKILL)  # type: ignore[arg-type]
    job = wait_for_job(Reindexer(pg_index.with_(data_dir=tmp_path / "replica")), ticket.job.id, timeout=15)
    assert job.state == FAILED and job.error == t("job.interrupted")
    assert not pid_alive(running.pid)  # type: ignore[arg-type]
    assert idx.open_store(pg_index).current_version() == before

    (gate / "release").touch()
    again = reindexer.request("web")
    done = wait_for_job(reindexer, again.job.id)
    assert done.state == DONE and done.report is not None and done.report["documents_embedded"] == 1
    assert idx.open_store(pg_index).current_version() == done.report["version_id"] != before


def test_one_watcher_per_database(pg_settings: Settings, tmp_path: Path) -> None:
    from ingest.watch import CorpusWatcher

    one = CorpusWatcher(pg_settings, Reindexer(pg_settings))
    two = CorpusWatcher(pg_settings.with_(data_dir=tmp_path / "replica"), Reindexer(pg_settings))
    assert one._claim() and not two._claim()
    one._lock.release()
    one._lock = None
    assert two._claim()
    two._lock.release()


def test_serve_does_not_watch_by_default_with_a_database() -> None:
    assert Settings.from_env({}).watch
    assert not Settings.from_env({"WEGWIJZER_DATABASE_URL": "postgresql://u@h/db"}).watch
    assert Settings.from_env({"WEGWIJZER_DATABASE_URL": "postgresql://u@h/db", "WEGWIJZER_WATCH": "1"}).watch


def test_a_database_restart_is_survived(pg_server, pg_index: Settings) -> None:  # type: ignore[no-untyped-def]
    """The watcher outlives an outage, pooled connections are renewed, and the next version is followed."""
    from assistant import Assistant

    server, _ = pg_server
    assistant = Assistant.load(settings=pg_index, embedder=FakeEmbedder(), follow=True)
    try:
        before = assistant.version
        server.stop()
        time.sleep(1.5)  # the watcher fails a few times meanwhile
        assert assistant._watcher is not None and assistant._watcher.is_alive()
        server.start()
        answer = assistant.ask("Wat zijn pleinmakers?")  # the pool's dead connections are replaced
        assert answer.citations + answer.related
        add_document(pg_index, "na-herstart.md")
        report = ingest(pg_index, embedder=FakeEmbedder())
        deadline = time.monotonic() + 5
        while assistant.version != report.version_id:
            assert time.monotonic() < deadline, "the new version was not followed after the restart"
            time.sleep(0.05)
        assert assistant.version != before
    finally:
        assistant.close()


# ---------------------------------------------------------------- conversations


def test_conversations_live_in_the_database_and_replicas_share_them(pg_settings: Settings) -> None:
    from assistant.stores.conversation import PostgresConversationStore, Turn, new_conversation_id, open_conversations

    store = open_conversations(pg_settings.with_(conversation_max_turns=3))
    assert isinstance(store, PostgresConversationStore)
    other = PostgresConversationStore(pg_settings.database_url, max_turns=3)  # another replica
    cid = new_conversation_id()
    store.append(cid, Turn("Welke werksessie gaat over sport?", "q1", found=True, cited=(4, 7)))
    seen = other.load(cid)
    assert seen is not None and seen.last is not None and seen.last.cited == (4, 7)
    for i in range(4):
        other.append(cid, Turn(f"vraag {i}", f"q{i}"))
    assert [t.question for t in store.load(cid).turns] == ["vraag 1", "vraag 2", "vraag 3"]  # type: ignore[union-attr]
    store.clear(cid)
    assert other.load(cid) is None
    assert not pg_settings.conversations_db.exists()


def test_concurrent_appends_to_one_conversation_lose_no_turn(pg_settings: Settings) -> None:
    from assistant.stores.conversation import PostgresConversationStore, Turn, new_conversation_id

    cid = new_conversation_id()
    stores = [PostgresConversationStore(pg_settings.database_url, max_turns=100) for _ in range(3)]

    def work(s: PostgresConversationStore, prefix: str) -> None:
        for i in range(10):
            s.append(cid, Turn(f"{prefix}{i}", "q"))

    threads = [threading.Thread(target=work, args=(s, p)) for s, p in zip(stores, "abc", strict=True)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=WAIT_S)
    loaded = stores[0].load(cid)
    assert loaded is not None and len(loaded.turns) == 30


def test_an_expired_conversation_starts_afresh_and_is_purged(pg_settings: Settings) -> None:
    from assistant.stores.conversation import PostgresConversationStore, Turn, new_conversation_id

    store = PostgresConversationStore(pg_settings.database_url, ttl_s=60.0)
    cid = new_conversation_id()
    store.append(cid, Turn("oud", "q"))
    assert store.load(cid) is not None
    assert store.purge(now=time.time() + 120) == 1
    assert store.load(cid) is None and store.count() == 0
    store.append(cid, Turn("nieuw", "q"))
    assert [t.question for t in store.load(cid).turns] == ["nieuw"]  # type: ignore[union-attr]
