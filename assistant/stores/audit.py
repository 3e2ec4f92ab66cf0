"""The audit trail: who did what, when, from where. Append-only, in the configured store.

Each record (:class:`AuditRecord`) says when (``at``, epoch seconds), who (``actor``, ``role``), what
(``action``, its ``target`` and a JSON ``detail``) and from where (``address``: the client address as
seen, unhashed, because this is a security record). Records are never changed: the stores offer no update
or delete besides :meth:`AuditStore.purge`, which removes what is older than the retention period
(``WEGWIJZER_AUDIT_RETENTION_DAYS``, default a year; kept longer than questions), and the tables refuse
UPDATE themselves (a trigger in both engines).

- :class:`SqliteAuditStore`    ``audit.sqlite3`` in the data directory
- :class:`PostgresAuditStore`  ``wegwijzer.audit``
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.stores.sqlitefile import open_migrated
from assistant.stores.text import storable

DAY_S = 86400.0
MAX_LIMIT = 1000


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: float
    actor: str
    role: str
    action: str
    target: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    address: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "actor": self.actor, "role": self.role, "action": self.action,
                "target": self.target, "detail": dict(self.detail), "address": self.address}


@dataclass(frozen=True)
class AuditFilter:
    """Which records to list: every field that is set must match (``since``/``until``: ``at`` bounds)."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: float | None = None
    until: float | None = None


class AuditStore(Protocol):
    """Append-only records of what people did."""

    retention_days: int | None

    def record(self, actor: str, role: str, action: str, target: str = "", detail: Mapping[str, Any] | None = None,
               address: str = "", at: float | None = None) -> AuditRecord: ...

    def list(self, limit: int = 100, offset: int = 0, where: AuditFilter | None = None) -> list[AuditRecord]:
        """Newest first."""
        ...

    def count(self, where: AuditFilter | None = None) -> int: ...

    def purge(self, now: float | None = None) -> int:
        """Remove records older than the retention period; returns how many."""
        ...

    def close(self) -> None: ...


def _clean(actor: str, role: str, action: str, target: str, detail: Mapping[str, Any] | None,
           address: str) -> tuple[str, str, str, str, str, str]:
    text = json.dumps(dict(detail or {}), ensure_ascii=False, default=str, sort_keys=True)
    return (storable(actor), storable(role), storable(action), storable(target), storable(text),
            storable(address))


def _conditions(where: AuditFilter | None, mark: str) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if where is not None:
        for column in ("actor", "action", "target"):
            value = getattr(where, column)
            if value is not None:
                clauses.append(f"{column} = {mark}")
                params.append(value)
        if where.since is not None:
            clauses.append(f"at >= {mark}")
            params.append(where.since)
        if where.until is not None:
            clauses.append(f"at < {mark}")
            params.append(where.until)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _page(limit: int, offset: int) -> tuple[int, int]:
    return max(0, min(int(limit), MAX_LIMIT)), max(0, int(offset))


def _row(row: tuple[Any, ...]) -> AuditRecord:
    detail = row[6]
    if isinstance(detail, str):
        detail = json.loads(detail) if detail else {}
    return AuditRecord(int(row[0]), float(row[1]), row[2], row[3], row[4], row[5], dict(detail or {}), row[7])


_COLUMNS = "id, at, actor, role, action, target, detail, address"

# ---------------------------------------------------------------- SQLite

_SQLITE_MIGRATIONS = (
    ("audit", """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
            action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, address TEXT NOT NULL
        );
        CREATE INDEX audit_at ON audit (at);
        CREATE INDEX audit_actor ON audit (actor, at);
        CREATE INDEX audit_action ON audit (action, at);
        CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    """),
)


class SqliteAuditStore:
    def __init__(self, path: Path, retention_days: int | None = 365) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._con = open_migrated(self.path, "audit", _SQLITE_MIGRATIONS)

    def record(self, actor: str, role: str, action: str, target: str = "", detail: Mapping[str, Any] | None = None,
               address: str = "", at: float | None = None) -> AuditRecord:
        at = time.time() if at is None else at
        values = _clean(actor, role, action, target, detail, address)
        with self._lock:
            cur = self._con.execute("INSERT INTO audit (at, actor, role, action, target, detail, address) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?)", (at, *values))
            new_id = int(cur.lastrowid or 0)
        return _row((new_id, at, *values))

    def list(self, limit: int = 100, offset: int = 0, where: AuditFilter | None = None) -> list[AuditRecord]:
        limit, offset = _page(limit, offset)
        clause, params = _conditions(where, "?")
        with self._lock:
            rows = self._con.execute(f"SELECT {_COLUMNS} FROM audit{clause} ORDER BY at DESC, id DESC "
                                     "LIMIT ? OFFSET ?", (*params, limit, offset)).fetchall()
        return [_row(r) for r in rows]

    def count(self, where: AuditFilter | None = None) -> int:
        clause, params = _conditions(where, "?")
        with self._lock:
            return int(self._con.execute(f"SELECT COUNT(*) FROM audit{clause}", params).fetchone()[0])

    def purge(self, now: float | None = None) -> int:
        if not self.retention_days:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * DAY_S
        with self._lock:
            return int(self._con.execute("DELETE FROM audit WHERE at < ?", (cutoff,)).rowcount)

    def close(self) -> None:
        with self._lock:
            self._con.close()


# ---------------------------------------------------------------- PostgreSQL

_PG_MIGRATIONS = (
    """
    CREATE TABLE wegwijzer.audit (
        id bigserial PRIMARY KEY,
        at double precision NOT NULL,
        actor text NOT NULL,
        role text NOT NULL,
        action text NOT NULL,
        target text NOT NULL,
        detail jsonb NOT NULL,
        address text NOT NULL
    );
    CREATE INDEX audit_at ON wegwijzer.audit (at);
    CREATE INDEX audit_actor ON wegwijzer.audit (actor, at);
    CREATE INDEX audit_action ON wegwijzer.audit (action, at);
    CREATE FUNCTION wegwijzer.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail is append-only';
    END $$;
    CREATE TRIGGER audit_append_only BEFORE UPDATE ON wegwijzer.audit
        FOR EACH ROW EXECUTE FUNCTION wegwijzer.audit_append_only();
    """,
)


class PostgresAuditStore:
    def __init__(self, db: Any, retention_days: int | None = 365) -> None:
        self.db = db
        self.retention_days = retention_days

    def _tables(self) -> None:
        self.db.migrate("audit", _PG_MIGRATIONS)

    def record(self, actor: str, role: str, action: str, target: str = "", detail: Mapping[str, Any] | None = None,
               address: str = "", at: float | None = None) -> AuditRecord:
        self._tables()
        at = time.time() if at is None else at
        values = _clean(actor, role, action, target, detail, address)
        rows = self.db.rows("INSERT INTO wegwijzer.audit (at, actor, role, action, target, detail, address) "
                            "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s) RETURNING id", (at, *values))
        return _row((rows[0][0], at, *values))

    def list(self, limit: int = 100, offset: int = 0, where: AuditFilter | None = None) -> list[AuditRecord]:
        self._tables()
        limit, offset = _page(limit, offset)
        clause, params = _conditions(where, "%s")
        rows = self.db.rows(f"SELECT {_COLUMNS} FROM wegwijzer.audit{clause} ORDER BY at DESC, id DESC "
                            "LIMIT %s OFFSET %s", (*params, limit, offset))
        return [_row(r) for r in rows]

    def count(self, where: AuditFilter | None = None) -> int:
        self._tables()
        clause, params = _conditions(where, "%s")
        return int(self.db.rows(f"SELECT COUNT(*) FROM wegwijzer.audit{clause}", params)[0][0])

    def purge(self, now: float | None = None) -> int:
        if not self.retention_days:
            return 0
        self._tables()
        cutoff = (time.time() if now is None else now) - self.retention_days * DAY_S
        return int(self.db.execute("DELETE FROM wegwijzer.audit WHERE at < %s", (cutoff,)))

    def close(self) -> None:
        """Connections belong to the process's pool."""
