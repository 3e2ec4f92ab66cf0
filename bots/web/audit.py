"""The audit trail: who did what, when, from where, kept ``audit_retention_days`` (default a year).

Recorded: sign-in, failed sign-in, sign-out, role change, upload, delete, metadata change, re-index, and
admin requests refused for want of a role. Append-only: the table refuses UPDATE; rows only leave it
when they pass their retention period.

``AuditStore`` is the seam. ``SQLiteAuditStore`` below is a stand-in until the state layer
(``assistant/stores``, issue 20) ships its own AuditStore with SQLite and PostgreSQL classes; then
``open_audit`` is the one function to point at its factory.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.config import Settings
from assistant.stores.sqlitefile import open_shared

from .identity import Caller

log = logging.getLogger(__name__)

SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, ROLE_CHANGE = "sign_in", "sign_in_failed", "sign_out", "role_change"
UPLOAD, DELETE, METADATA, REINDEX, FORBIDDEN = "upload", "delete", "metadata", "reindex", "forbidden"
ACTIONS = (SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, ROLE_CHANGE, UPLOAD, DELETE, METADATA, REINDEX, FORBIDDEN)
PURGE_EVERY_S = 3600.0


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened. ``subject`` is the identity provider's stable id (or ``beheertoken``),
    ``name`` what people read; ``target`` what it happened to (a document, a job); ``detail`` the rest."""

    at: float
    action: str
    subject: str
    name: str = ""
    role: str = ""
    via: str = ""
    address: str = ""
    target: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def event(caller: Caller, action: str, target: str = "", **detail: Any) -> AuditEvent:
    p = caller.principal
    return AuditEvent(time.time(), action, p.subject, p.name, p.role, p.via, caller.address, target, detail)


class AuditStore(Protocol):
    """Append-only; newest first when read."""

    def record(self, event: AuditEvent) -> None: ...

    def recent(self, limit: int = 1000, subject: str | None = None) -> list[AuditEvent]: ...

    def close(self) -> None: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,
    via TEXT NOT NULL, address TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject, at);
CREATE TRIGGER IF NOT EXISTS audit_append_only BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


class SQLiteAuditStore:
    """The audit trail in one SQLite file of the data directory, shared by every worker."""

    def __init__(self, path: Path, retention_days: int) -> None:
        self.path = Path(path)
        self.retention_s = retention_days * 86400.0
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None
        self._purged_at = 0.0

    def _connect(self) -> sqlite3.Connection:
        if self._con is None:
            con = open_shared(self.path)
            con.executescript(SCHEMA)
            self._con = con
        return self._con

    def record(self, event: AuditEvent) -> None:
        with self._lock:
            con = self._connect()
            con.execute("INSERT INTO audit (at, action, subject, name, role, via, address, target, detail) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (event.at, event.action, event.subject, event.name, event.role, event.via, event.address,
                         event.target, json.dumps(event.detail, ensure_ascii=False, sort_keys=True)))
            if event.at - self._purged_at > PURGE_EVERY_S:
                self._purged_at = event.at
                con.execute("DELETE FROM audit WHERE at < ?", (event.at - self.retention_s,))

    def recent(self, limit: int = 1000, subject: str | None = None) -> list[AuditEvent]:
        query = "SELECT at, action, subject, name, role, via, address, target, detail FROM audit"
        args: tuple[Any, ...] = ()
        if subject is not None:
            query, args = query + " WHERE subject = ?", (subject,)
        with self._lock:
            rows = self._connect().execute(query + " ORDER BY at DESC, id DESC LIMIT ?", (*args, limit)).fetchall()
        return [AuditEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8])) for r in rows]

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


def open_audit(settings: Settings) -> AuditStore:
    """The configured audit store. TODO(state layer): with WEGWIJZER_DATABASE_URL this should be the
    PostgreSQL AuditStore of ``assistant/stores``; until it exists every replica keeps its own file."""
    return SQLiteAuditStore(settings.audit_db, settings.audit_retention_days)


def record(store: AuditStore, event: AuditEvent) -> None:
    """Record, and never let a broken audit file turn a done change into an error: log it loudly instead."""
    try:
        store.record(event)
    except (sqlite3.Error, OSError) as exc:
        log.error("AUDIT NOT RECORDED (%s): %s", exc, json.dumps(event.to_dict(), ensure_ascii=False))
