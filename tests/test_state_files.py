"""State files are the service user's alone, and rate limits store no client address (issue 21).

Modes are read with ``os.stat`` after each store has written (so SQLite's -wal and -shm files exist), under
a permissive umask, since the modes must not depend on it. The rate-limit files are read as raw bytes:
no address may be anywhere in them, not in a page SQLite freed either.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.stores.audit import SqliteAuditStore
from assistant.stores.conversation import SQLiteConversationStore, Turn
from assistant.stores.feedback import FeedbackStore, hash_user, local_salt
from assistant.stores.sessions import SessionRecord, SqliteSessionStore
from bots.ratelimit import Limit, PostgresLimiter, SQLiteLimiter
from ingest.jobstate import FileJobStore, JobQueue, new_job

ADDRESS = "203.0.113.77"
LIMIT = Limit("ask", 3, 60.0)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave new files 0666 and folders 0777: our modes must not depend on it."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _side_files(path: Path) -> list[Path]:
    return [p for p in (path.with_name(path.name + s) for s in ("-wal", "-shm")) if p.exists()]


def test_every_state_file_is_0600_in_a_0700_folder(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "nieuw" / "data"  # neither exists yet: both are created by the stores
    feedback = FeedbackStore(data / "feedback.sqlite3")
    feedback.record_answer("a1", "web", "Wat zijn pleinmakers?", True, [])
    conversations = SQLiteConversationStore(data / "conversations.sqlite3")
    conversations.append("gesprek-12345678", Turn(question="Wat zijn pleinmakers?", query="pleinmakers"))
    sessions = SqliteSessionStore(data / "admin_sessions.sqlite3")
    sessions.create(SessionRecord("sessie-1", "beheertoken", "beheertoken", ("beheerder",), (), 4e9, 1e9))
    sessions.secret()
    audit = SqliteAuditStore(data / "audit.sqlite3")
    audit.record("beheertoken", "beheerder", "upload", "nota.pdf", address=ADDRESS)
    limiter = SQLiteLimiter(data / "ratelimit.sqlite3")
    assert limiter.hit(LIMIT, ADDRESS).allowed
    local_salt(data)
    jobs = FileJobStore(data / "index")
    jobs.update(lambda q: JobQueue(current=new_job("web")))
    jobs.update(lambda q: JobQueue(current=new_job("watch")))  # a second write replaces the file: still 0600

    databases = [data / n for n in ("feedback.sqlite3", "conversations.sqlite3", "admin_sessions.sqlite3",
                                    "ratelimit.sqlite3", "audit.sqlite3")]
    files = [*databases, data / "feedback.salt", data / "index" / "job.json"]
    for db in databases:
        side = _side_files(db)
        assert side, f"{db.name}: WAL mode should have made -wal/-shm files"
        files += side
    for path in files:
        assert mode(path) == 0o600, f"{path.name}: {mode(path):o}"
    assert mode(data) == 0o700 and mode(data.parent) == 0o700 and mode(data / "index") == 0o700
    for store in (feedback, conversations, sessions, limiter, audit):
        store.close()


def test_files_an_older_version_left_world_readable_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    old = data / "feedback.sqlite3"
    with sqlite3.connect(old) as con:  # as SQLite made it before: 0644, with its WAL files
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE x (a)")
    salt = data / "feedback.salt"
    salt.write_text("ab" * 32)
    for path in (old, salt):
        path.chmod(0o644)
    held = sqlite3.connect(old)  # keeps the -wal/-shm files in place
    held.execute("PRAGMA journal_mode=WAL")
    held.execute("INSERT INTO x VALUES (1)")
    held.commit()
    for side in _side_files(old):
        side.chmod(0o644)
    store = FeedbackStore(old)
    assert local_salt(data) == "ab" * 32
    for path in (old, salt, *_side_files(old)):
        assert mode(path) == 0o600, path.name
    # the existing folder loses read and write for others, keeps traversal (a PostgreSQL user may need it)
    assert mode(data) == 0o711
    store.close()
    held.close()


def test_rate_limit_files_hold_no_client_address(tmp_path: Path) -> None:
    path = tmp_path / "ratelimit.sqlite3"
    limiter = SQLiteLimiter(path)
    for _ in range(5):
        limiter.hit(LIMIT, ADDRESS)
    assert not limiter.hit(LIMIT, ADDRESS).allowed  # still a working limit
    assert limiter.hit(LIMIT, "198.51.100.1").allowed
    keys = [k for (k,) in sqlite3.connect(path).execute("SELECT key FROM buckets")]
    assert keys and all(k.startswith("ask:") and ADDRESS not in k for k in keys)
    assert f"ask:{hash_user(ADDRESS, local_salt(tmp_path))}" in keys
    limiter.close()
    for file in (path, *_side_files(path)):
        assert ADDRESS.encode() not in file.read_bytes(), file.name


def test_raw_addresses_of_an_older_version_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "ratelimit.sqlite3"
    with sqlite3.connect(path) as con:  # the old layout: the address in the key
        con.execute("CREATE TABLE buckets (key TEXT PRIMARY KEY, tat REAL NOT NULL) WITHOUT ROWID")
        con.executemany("INSERT INTO buckets VALUES (?, ?)",
                        [(f"ask:{ADDRESS}", 4e9), *((f"ask:10.0.{i}.{i}", 4e9) for i in range(200))])
    assert ADDRESS.encode() in path.read_bytes()
    limiter = SQLiteLimiter(path)
    assert limiter.hit(LIMIT, ADDRESS).allowed  # the old (full) bucket is gone with its address
    limiter.close()
    rows = sqlite3.connect(path).execute("SELECT key FROM buckets").fetchall()
    assert len(rows) == 1 and ADDRESS not in rows[0][0]
    for file in (path, *_side_files(path)):
        assert ADDRESS.encode() not in file.read_bytes(), file.name
        assert b"10.0.7.7" not in file.read_bytes(), file.name


def test_postgres_rate_limits_hold_no_client_address(pg_settings: Settings) -> None:
    from assistant.stores.pg import database

    db = database(pg_settings.database_url)
    # an older version's table with a raw address in it
    db.migrate("ratelimit", ("CREATE UNLOGGED TABLE wegwijzer.ratelimit (key text PRIMARY KEY, "
                             "tat double precision NOT NULL)",))
    db.execute("INSERT INTO wegwijzer.ratelimit VALUES (%s, %s)", (f"ask:{ADDRESS}", 4e9))
    db._migrated.discard("ratelimit")  # as a process of the new version would meet it: not migrated yet
    limiter = PostgresLimiter(pg_settings.database_url)
    for _ in range(3):
        assert limiter.hit(LIMIT, ADDRESS).allowed
    assert not limiter.hit(LIMIT, ADDRESS).allowed
    keys = [k for (k,) in db.rows("SELECT key FROM wegwijzer.ratelimit")]
    assert len(keys) == 1 and ADDRESS not in keys[0] and keys[0].startswith("ask:")


@pytest.mark.skipif(os.geteuid() != 0, reason="only under root does PostgreSQL run as another user")
@pytest.mark.timeout(240)
def test_a_local_postgresql_still_starts_after_the_data_directory_is_tightened(tmp_path: Path) -> None:
    """Under root `wegwijzer db` runs PostgreSQL as its own user, which must traverse the data directory."""
    import tempfile

    from bots.localdb import LocalServer, free_port

    base = Path(tempfile.mkdtemp(prefix="wegwijzer-test-modes-"))  # under /tmp: reachable by that user
    try:
        base.chmod(0o755)
        data = base / "data"
        data.mkdir(mode=0o755)
        data.chmod(0o755)  # as the model set-up leaves it
        server = LocalServer(data / "postgres")
        server.start(port=free_port())
        server.stop()
        FeedbackStore(data / "feedback.sqlite3").close()  # tightens the data directory
        assert mode(data) & 0o077 == mode(data) & 0o011  # nobody else may list or write it ...
        assert server.start().running  # ... but PostgreSQL's own user still reaches postgres/
        server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_workers_opening_a_new_state_file_together_all_get_it(tmp_path: Path) -> None:
    """Six connections switch a fresh file to write-ahead logging at once, a hundred times over: SQLite refuses
    all but one at once ("database is locked", no busy wait); each must wait and get it. Without the wait this
    failed in every run of it (5 of 5)."""
    import threading

    from assistant.stores.sqlitefile import open_shared

    failed: list[BaseException] = []

    def open_it(path: Path, start: threading.Barrier) -> None:
        try:
            start.wait()  # all six at the same moment, as workers forked together
            con = open_shared(path)
            assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            con.close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            failed.append(exc)

    for round_ in range(100):
        path, start = tmp_path / f"{round_}.sqlite3", threading.Barrier(6)
        threads = [threading.Thread(target=open_it, args=(path, start)) for _ in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert failed == []
