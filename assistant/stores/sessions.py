"""Admin sessions: who is signed in, until when, and the key that signs their cookies; in the configured store.

A session is a record (:class:`SessionRecord`: its id, the subject and display name of whoever signed in, their
roles and groups, when it ends and when it began). The cookie carries only the signed session id
(``bots/web/session.py``); whoever checks it reads the record. Signing out ends the record, so with PostgreSQL a
session made on one replica is valid on every other one, and a sign-out ends it on all of them. The random
signing secret lives in the same store (created once; racing processes all read the winner's).

- :class:`SqliteSessionStore`  ``admin_sessions.sqlite3`` in the data directory (shared by the workers)
- :class:`PostgresSessionStore` ``wegwijzer.sessions`` and the secret in ``wegwijzer.meta``

A record that cannot be read counts as no session (fail closed).
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.errors import WegwijzerError
from assistant.stores.sqlitefile import open_migrated

log = logging.getLogger(__name__)

ADMIN_TOKEN_SUBJECT = "beheertoken"  # who signed in with the admin token
ADMIN_ROLE = "beheerder"
LEGACY_SECRET_FILE = "admin_session.key"  # where releases before the state layer kept the secret
ENDED_KEPT_S = 7 * 86400.0  # an ended or expired record is removed after this


@dataclass(frozen=True)
class SessionRecord:
    sid: str
    subject: str
    display_name: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    expires_at: float
    created_at: float

    def valid_at(self, now: float) -> bool:
        return now < self.expires_at


class SessionStore(Protocol):
    """Where admin sessions and their signing secret live."""

    def secret(self) -> bytes:
        """32 random bytes, created once per store and the same for every process that uses it."""
        ...

    def create(self, record: SessionRecord) -> None: ...

    def get(self, sid: str, now: float | None = None) -> SessionRecord | None:
        """The live session ``sid`` (not ended, not expired), or None; None too when the store cannot answer."""
        ...

    def end(self, sid: str) -> None:
        """Sign-out: the session is no longer valid anywhere."""
        ...

    def purge(self, now: float | None = None) -> int:
        """Remove records that ended or expired more than a week ago; returns how many."""
        ...

    def close(self) -> None: ...


def _record(row: tuple[Any, ...]) -> SessionRecord:
    sid, subject, name, roles, groups, expires_at, created_at = row
    if isinstance(roles, str):
        roles = json.loads(roles)
    if isinstance(groups, str):
        groups = json.loads(groups)
    return SessionRecord(str(sid), str(subject), str(name), tuple(roles), tuple(groups), float(expires_at),
                         float(created_at))


# ---------------------------------------------------------------- SQLite

_SQLITE_MIGRATIONS = (
    # the sign-out list of releases before the state layer (sessions were then stored nowhere)
    ("signed_out", "CREATE TABLE IF NOT EXISTS signed_out (sid TEXT PRIMARY KEY, expires_at REAL NOT NULL)"),
    ("session_records", """
        CREATE TABLE sessions (
            sid TEXT PRIMARY KEY, subject TEXT NOT NULL, display_name TEXT NOT NULL,
            roles TEXT NOT NULL, group_names TEXT NOT NULL, expires_at REAL NOT NULL, created_at REAL NOT NULL,
            ended_at REAL
        );
        CREATE INDEX sessions_expires ON sessions (expires_at);
        CREATE TABLE secret (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), value TEXT NOT NULL);
        DROP TABLE signed_out;
    """),
)

_COLUMNS = "sid, subject, display_name, roles, group_names, expires_at, created_at"


class SqliteSessionStore:
    """Sessions in one SQLite file every worker process shares."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None
        self._secret: bytes | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._con is None:
            self._con = open_migrated(self.path, "admin_sessions", _SQLITE_MIGRATIONS, synchronous=None)
        return self._con

    def secret(self) -> bytes:
        if self._secret is None:
            with self._lock:
                con = self._connect()
                legacy = self.path.parent / LEGACY_SECRET_FILE
                candidate = secrets.token_hex(32)
                try:  # the key of an earlier release, so that an upgrade signs nobody out who need not be
                    text = legacy.read_text(encoding="ascii").strip()
                    bytes.fromhex(text)
                    candidate = text
                except (OSError, ValueError):
                    pass
                con.execute("INSERT OR IGNORE INTO secret VALUES (1, ?)", (candidate,))
                self._secret = bytes.fromhex(con.execute("SELECT value FROM secret").fetchone()[0])
        return self._secret

    def create(self, record: SessionRecord) -> None:
        with self._lock:
            self._connect().execute(
                f"INSERT INTO sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.sid, record.subject, record.display_name, json.dumps(list(record.roles)),
                 json.dumps(list(record.groups)), record.expires_at, record.created_at))

    def get(self, sid: str, now: float | None = None) -> SessionRecord | None:
        now = time.time() if now is None else now
        with self._lock:
            try:
                row = self._connect().execute(
                    f"SELECT {_COLUMNS} FROM sessions WHERE sid = ? AND ended_at IS NULL AND expires_at > ?",
                    (sid, now)).fetchone()
            except (sqlite3.Error, WegwijzerError) as exc:  # fail closed
                log.warning("cannot read the admin sessions (%s): %s", self.path, exc)
                return None
        return _record(row) if row else None

    def end(self, sid: str) -> None:
        with self._lock:
            con = self._connect()
            con.execute("UPDATE sessions SET ended_at = ? WHERE sid = ? AND ended_at IS NULL", (time.time(), sid))
        self.purge()

    def purge(self, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - ENDED_KEPT_S
        with self._lock:
            cur = self._connect().execute("DELETE FROM sessions WHERE expires_at < ? OR ended_at < ?",
                                          (cutoff, cutoff))
            return cur.rowcount

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


# ---------------------------------------------------------------- PostgreSQL

_PG_MIGRATIONS = (
    """
    CREATE TABLE wegwijzer.sessions (
        sid text PRIMARY KEY,
        subject text NOT NULL,
        display_name text NOT NULL,
        roles text[] NOT NULL,
        group_names text[] NOT NULL,
        expires_at double precision NOT NULL,
        created_at double precision NOT NULL,
        ended_at double precision
    );
    CREATE INDEX sessions_expires ON wegwijzer.sessions (expires_at);
    """,
)


class PostgresSessionStore:
    """Sessions in the shared database: every replica sees every sign-in and every sign-out."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self._secret: bytes | None = None

    def _tables(self) -> None:
        self.db.migrate("sessions", _PG_MIGRATIONS)

    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = bytes.fromhex(str(self.db.add_meta("admin_session_key", secrets.token_hex(32))))
        return self._secret

    def create(self, record: SessionRecord) -> None:
        self._tables()
        self.db.execute(f"INSERT INTO wegwijzer.sessions ({_COLUMNS}) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        (record.sid, record.subject, record.display_name, list(record.roles), list(record.groups),
                         record.expires_at, record.created_at))

    def get(self, sid: str, now: float | None = None) -> SessionRecord | None:
        now = time.time() if now is None else now
        try:
            self._tables()
            rows = self.db.rows(f"SELECT {_COLUMNS} FROM wegwijzer.sessions "
                                "WHERE sid = %s AND ended_at IS NULL AND expires_at > %s", (sid, now))
        except WegwijzerError as exc:  # fail closed
            log.warning("cannot read the admin sessions (%s): %s", self.db.describe(), exc)
            return None
        return _record(rows[0]) if rows else None

    def end(self, sid: str) -> None:
        self._tables()
        self.db.execute("UPDATE wegwijzer.sessions SET ended_at = %s WHERE sid = %s AND ended_at IS NULL",
                        (time.time(), sid))
        self.purge()

    def purge(self, now: float | None = None) -> int:
        self._tables()
        cutoff = (time.time() if now is None else now) - ENDED_KEPT_S
        return int(self.db.execute("DELETE FROM wegwijzer.sessions WHERE expires_at < %s OR ended_at < %s",
                                   (cutoff, cutoff)))

    def close(self) -> None:
        """Connections belong to the process's pool."""
