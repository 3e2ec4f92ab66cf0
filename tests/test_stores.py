"""The state layer (issue 20/21): sessions and the audit trail behave the same on SQLite and PostgreSQL, the
migration runner applies each named step once and refuses a newer file, and text PostgreSQL cannot hold (NUL,
lone surrogates) is stored like in file mode instead of failing a request."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.errors import DatabaseError
from assistant.stores.audit import AuditFilter, AuditStore
from assistant.stores.factory import open_stores
from assistant.stores.migrations import migrate_sqlite
from assistant.stores.sessions import SessionRecord, SessionStore, SqliteSessionStore
from assistant.stores.text import storable

from .fakes import FakeEmbedder


@pytest.fixture(params=["sqlite", "postgresql"])
def any_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "sqlite":
        return settings
    return request.getfixturevalue("pg_settings")  # type: ignore[no-any-return]


def _record(sid: str, now: float, life: float = 600.0) -> SessionRecord:
    return SessionRecord(sid, "an.peeters", "An Peeters", ("redacteur",), ("personeel", "dienst-burgerzaken"),
                         now + life, now)


# ---------------------------------------------------------------- sessions


def test_a_session_record_is_read_back_until_it_ends_or_expires(any_settings: Settings) -> None:
    stores = open_stores(any_settings)
    one: SessionStore = stores.sessions()
    other: SessionStore = open_stores(any_settings).sessions()  # another worker or replica
    now = time.time()
    one.create(_record("s-1", now))
    one.create(_record("s-2", now, life=1.0))
    got = other.get("s-1")
    assert got == _record("s-1", now)
    assert got is not None and got.roles == ("redacteur",) and got.groups == ("personeel", "dienst-burgerzaken")
    assert other.get("s-2", now=now + 2.0) is None  # expired
    assert other.get("onbekend") is None
    other.end("s-1")  # sign-out on the other one
    assert one.get("s-1") is None and other.get("s-1") is None
    assert one.secret() == other.secret() and len(one.secret()) == 32
    one.close()
    other.close()


def test_expired_and_ended_sessions_are_purged_after_a_week(any_settings: Settings) -> None:
    store = open_stores(any_settings).sessions()
    now = time.time()
    store.create(_record("oud", now - 30 * 86400, life=60))
    store.create(_record("vers", now))
    assert store.purge() == 1
    assert store.get("vers") is not None
    store.close()


def test_the_sqlite_session_store_adopts_the_key_of_an_earlier_release(tmp_path: Path) -> None:
    (tmp_path / "admin_session.key").write_text("ab" * 32)
    with sqlite3.connect(tmp_path / "admin_sessions.sqlite3") as con:  # the old sign-out list
        con.execute("CREATE TABLE IF NOT EXISTS signed_out (sid TEXT PRIMARY KEY, expires_at REAL NOT NULL)")
        con.execute("INSERT INTO signed_out VALUES ('x', 4e9)")
    store = SqliteSessionStore(tmp_path / "admin_sessions.sqlite3")
    assert store.secret() == bytes.fromhex("ab" * 32)
    store.create(_record("s", time.time()))
    assert store.get("s") is not None
    store.close()


# ---------------------------------------------------------------- audit


def test_the_audit_trail_lists_newest_first_with_filters_and_pages(any_settings: Settings) -> None:
    audit: AuditStore = open_stores(any_settings).audit()
    t0 = 1_800_000_000.0
    audit.record("an.peeters", "redacteur", "upload", "nota.pdf", {"bytes": 1234}, "203.0.113.9", at=t0)
    audit.record("beheertoken", "beheerder", "reindex", "", {}, "127.0.0.1", at=t0 + 1)
    audit.record("an.peeters", "redacteur", "delete", "nota.pdf", {"reden": "verouderd"}, "203.0.113.9", at=t0 + 2)
    audit.record("", "", "signin_failed", "", {"reden": "fout token"}, "198.51.100.7", at=t0 + 3)
    newest = audit.list(limit=10)
    assert [r.action for r in newest] == ["signin_failed", "delete", "reindex", "upload"]
    assert newest[1].detail == {"reden": "verouderd"} and newest[1].address == "203.0.113.9"  # kept as is
    assert [r.action for r in audit.list(limit=2, offset=1)] == ["delete", "reindex"]
    assert [r.action for r in audit.list(where=AuditFilter(actor="an.peeters"))] == ["delete", "upload"]
    assert [r.action for r in audit.list(where=AuditFilter(action="upload"))] == ["upload"]
    assert [r.action for r in audit.list(where=AuditFilter(since=t0 + 1, until=t0 + 3))] == ["delete", "reindex"]
    assert audit.count() == 4 and audit.count(AuditFilter(target="nota.pdf")) == 2
    assert not hasattr(audit, "update") and not hasattr(audit, "delete")
    audit.close()


def test_audit_records_cannot_be_changed_in_the_database_itself(any_settings: Settings) -> None:
    stores = open_stores(any_settings)
    audit = stores.audit()
    audit.record("an.peeters", "redacteur", "upload", "nota.pdf")
    if stores.database is not None:
        with pytest.raises(DatabaseError, match="append-only"):
            stores.database.execute("UPDATE wegwijzer.audit SET actor = 'iemand anders'")
    else:
        con = sqlite3.connect(any_settings.audit_db)
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("UPDATE audit SET actor = 'iemand anders'")
        con.close()
    assert audit.list()[0].actor == "an.peeters"
    audit.close()


def test_audit_records_past_the_retention_period_are_purged(any_settings: Settings) -> None:
    audit = open_stores(any_settings.with_(audit_retention_days=365)).audit()
    now = time.time()
    audit.record("a", "beheerder", "upload", "oud.pdf", at=now - 366 * 86400)
    audit.record("a", "beheerder", "upload", "recent.pdf", at=now - 364 * 86400)
    assert audit.purge(now) == 1
    assert [r.target for r in audit.list()] == ["recent.pdf"]
    audit.close()


def test_the_audit_retention_setting_defaults_to_a_year(tmp_path: Path) -> None:
    assert Settings.from_env({"WEGWIJZER_DATA_DIR": str(tmp_path)}).audit_retention_days == 365
    assert Settings.from_env({"WEGWIJZER_DATA_DIR": str(tmp_path),
                              "WEGWIJZER_AUDIT_RETENTION_DAYS": "730"}).audit_retention_days == 730


# ---------------------------------------------------------------- migrations


def _steps(log: list[str]) -> list[tuple[str, Any]]:
    def add_column(con: sqlite3.Connection) -> None:
        log.append("add_column")
        con.execute("ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT ''")

    return [("create", "CREATE TABLE IF NOT EXISTS t (a INTEGER);\nCREATE INDEX IF NOT EXISTS t_a ON t (a);"),
            ("add_column", add_column)]


def test_sqlite_migrations_run_once_each_also_when_processes_race(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    log: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        con = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            migrate_sqlite(con, "demo", _steps(log), path)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            con.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and log == ["add_column"]
    con = sqlite3.connect(path, isolation_level=None)
    assert [r[0] for r in con.execute("SELECT name FROM _migrations ORDER BY rowid")] == ["create", "add_column"]
    assert migrate_sqlite(con, "demo", _steps(log), path) == []
    with pytest.raises(DatabaseError, match="nieuwere versie"):
        migrate_sqlite(con, "demo", _steps(log)[:1], path)  # an older release meets the newer file


def test_a_file_that_counted_its_steps_in_user_version_continues_from_there(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("CREATE TABLE t (a INTEGER)")
    con.execute("PRAGMA user_version = 1")
    log: list[str] = []
    assert migrate_sqlite(con, "demo", _steps(log), path) == ["add_column"]
    assert [r[1] for r in con.execute("PRAGMA table_info(t)")] == ["a", "b"]


# ---------------------------------------------------------------- text PostgreSQL refuses


def test_storable_text() -> None:
    assert storable("a\x00b") == "ab"
    assert storable("kapot \ud800 teken") == "kapot ? teken"
    assert storable("gewoon €") == "gewoon €"


def test_nul_and_lone_surrogates_reach_postgresql_as_in_file_mode(pg_settings: Settings) -> None:
    from assistant.stores.conversation import Turn

    stores = open_stores(pg_settings)
    feedback = stores.feedback()
    feedback.record_answer("a1", "web", "Wat zijn \x00pleinmakers?", True, [])
    assert feedback.add_feedback("a1", "web", False, comment="fout\x00 \ud83d antwoord", user_ref="u1")
    assert feedback.recent_feedback()[0].comment == "fout ? antwoord"
    conversations = stores.conversations()
    conversations.append("gesprek-12345678", Turn(question="pleinmakers\x00?", query="pleinmakers"))
    assert conversations.load("gesprek-12345678").turns[0].question == "pleinmakers?"  # type: ignore[union-attr]


def test_a_question_with_nul_on_postgresql_is_answered_not_a_500(pg_settings: Settings) -> None:
    from bots.web.app import create_app
    from ingest.build import ingest

    ingest(pg_settings, embedder=FakeEmbedder())
    with TestClient(create_app(pg_settings, embedder=FakeEmbedder()), raise_server_exceptions=False) as client:
        r = client.post("/api/ask", json={"question": "Wat zijn plein\u0000makers?"})
        assert r.status_code == 200, r.text
        body = r.json()
        r2 = client.post("/api/ask", json={"question": "En \u0000 wanneer?",
                                           "conversation_id": body["conversation_id"]})
        assert r2.status_code == 200, r2.text
        r3 = client.post("/api/feedback", json={"answer_id": body["answer_id"], "helpful": False,
                                                "comment": "klopt\u0000 niet"})
        assert r3.status_code == 200, r3.text


def test_the_web_service_purges_expired_audit_records_when_it_opens_the_trail(settings: Settings) -> None:
    from bots.web.context import WebContext

    audit = open_stores(settings).audit()
    audit.record("a", "beheerder", "upload", "oud.pdf", at=time.time() - 400 * 86400)
    audit.record("a", "beheerder", "upload", "nieuw.pdf")
    audit.close()
    ctx = WebContext(settings)
    try:
        assert [r.target for r in ctx.audit.list()] == ["nieuw.pdf"]
    finally:
        ctx.close()
