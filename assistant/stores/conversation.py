"""Conversations: the earlier turns a follow-up question is read with, kept in the data directory.

A conversation is a short list of turns (what was asked, what was searched, which passages the answer
cited). It lives in a small store behind the :class:`ConversationStore` protocol, so that every worker
process and the bot see the same conversation and it survives a restart. The default store is one SQLite
file in the data directory (``conversations.sqlite3``); a PostgreSQL store can implement the same five
methods. Conversations are bounded three ways (settings): they expire after a period without questions
(``WEGWIJZER_CONVERSATION_TTL_MIN``), keep only their last turns (``WEGWIJZER_CONVERSATION_MAX_TURNS``),
and expired ones are deleted by a cleanup that runs at most every ``WEGWIJZER_CONVERSATION_CLEANUP_MIN``
minutes, from whichever process writes a turn.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.config import Settings
from assistant.stores.sqlitefile import open_migrated

log = logging.getLogger(__name__)

# Ids are opaque: 32 hex characters when Wegwijzer makes them; front ends may use their own stable ids
# ("telegram-<hash>") as long as they fit this shape.
ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{8,64}")


def new_conversation_id() -> str:
    """A fresh, unguessable conversation id (it is all a web client needs to continue one)."""
    return secrets.token_hex(16)


def valid_conversation_id(value: str) -> bool:
    return bool(ID_SHAPE.fullmatch(value))


@dataclass(frozen=True)
class Turn:
    """One question and what it led to: enough to read the next question in its context.

    ``query`` is the text that was searched (the question itself, or the question completed with the
    earlier turn); ``how`` says which: ``alone``, ``context``, ``rewritten`` (by the language model),
    ``summary`` (the previous answer's passages, summarised) or ``ordinal`` (an item asked for by its place in
    a numbered list the previous answer came from). ``cited`` and ``related`` are passage ids.
    """

    question: str
    query: str
    how: str = "alone"
    found: bool = False
    text: str = ""
    cited: tuple[int, ...] = ()
    related: tuple[int, ...] = ()
    index_version: str = ""
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        return cls(question=str(data["question"]), query=str(data.get("query") or data["question"]),
                   how=str(data.get("how", "alone")), found=bool(data.get("found", False)),
                   text=str(data.get("text", "")), cited=tuple(int(i) for i in data.get("cited", ())),
                   related=tuple(int(i) for i in data.get("related", ())),
                   index_version=str(data.get("index_version", "")), at=float(data.get("at", 0.0)))


@dataclass(frozen=True)
class Conversation:
    """A conversation's id and its turns, oldest first (at most the configured number)."""

    id: str
    turns: tuple[Turn, ...] = ()
    updated_at: float = 0.0

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None


class ConversationStore(Protocol):
    """Where conversations live; every worker process and the bot share one."""

    def load(self, conversation_id: str) -> Conversation | None:
        """The conversation, or None when it is unknown or expired."""
        ...

    def append(self, conversation_id: str, turn: Turn) -> Conversation:
        """Add a turn (starting the conversation if it is unknown or expired); returns it as stored."""
        ...

    def clear(self, conversation_id: str) -> None:
        """Forget a conversation ("Nieuw gesprek", /nieuw)."""
        ...

    def purge(self, now: float | None = None) -> int:
        """Delete expired conversations; returns how many."""
        ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id          TEXT PRIMARY KEY,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    turns       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated_at);
"""
_MIGRATIONS = (("conversations", _SCHEMA),)  # named steps, each once per file (stores.migrations)


class _Expiring:
    """What both stores share: expired conversations are purged now and then by whichever process writes
    (no background thread). ``_RETRY_LATER`` are the errors that mean "busy or down: next time"."""

    _RETRY_LATER: tuple[type[BaseException], ...] = ()

    def __init__(self, ttl_s: float, max_turns: int, cleanup_s: float) -> None:
        if ttl_s <= 0 or max_turns < 1 or cleanup_s < 0:
            raise ValueError("ttl_s and cleanup_s must be positive and max_turns at least 1")
        self.ttl_s = ttl_s
        self.max_turns = max_turns
        self.cleanup_s = cleanup_s
        self._last_cleanup = 0.0

    def purge(self, now: float | None = None) -> int:
        raise NotImplementedError

    def _cleanup(self, now: float) -> None:
        if now - self._last_cleanup < self.cleanup_s:
            return
        self._last_cleanup = now
        try:
            self.purge(now)
        except self._RETRY_LATER as exc:
            log.warning("could not remove expired conversations: %s", exc)


class SQLiteConversationStore(_Expiring):
    """Conversations in one SQLite file (WAL), safe to share between threads and worker processes."""

    _RETRY_LATER = (sqlite3.Error,)

    def __init__(self, path: Path, ttl_s: float = 3600.0, max_turns: int = 20, cleanup_s: float = 600.0) -> None:
        super().__init__(ttl_s, max_turns, cleanup_s)
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con = open_migrated(self.path, "conversations", _MIGRATIONS, timeout=10)
        self._cleanup(time.time())

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so two processes appending to one conversation take turns."""
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            try:
                yield self._con
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise

    def _alive(self, updated_at: float, now: float) -> bool:
        return now - updated_at < self.ttl_s

    def load(self, conversation_id: str) -> Conversation | None:
        with self._lock:
            row = self._con.execute("SELECT updated_at, turns FROM conversations WHERE id = ?",
                                    (conversation_id,)).fetchone()
        if row is None or not self._alive(row[0], time.time()):
            return None
        return Conversation(conversation_id, tuple(Turn.from_dict(t) for t in json.loads(row[1])), row[0])

    def append(self, conversation_id: str, turn: Turn) -> Conversation:
        if not valid_conversation_id(conversation_id):
            raise ValueError(f"conversation id {conversation_id!r} is not of the shape {ID_SHAPE.pattern}")
        now = time.time()
        with self._transaction() as con:
            row = con.execute("SELECT updated_at, turns FROM conversations WHERE id = ?",
                              (conversation_id,)).fetchone()
            turns = json.loads(row[1]) if row is not None and self._alive(row[0], now) else []
            turns = (turns + [turn.to_dict()])[-self.max_turns:]
            con.execute("INSERT INTO conversations (id, created_at, updated_at, turns) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, turns = excluded.turns, "
                        "created_at = CASE WHEN conversations.updated_at < ? THEN excluded.created_at "
                        "ELSE conversations.created_at END",
                        (conversation_id, now, now, json.dumps(turns, ensure_ascii=False), now - self.ttl_s))
        self._cleanup(now)
        return Conversation(conversation_id, tuple(Turn.from_dict(t) for t in turns), now)

    def clear(self, conversation_id: str) -> None:
        with self._transaction() as con:
            con.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def purge(self, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - self.ttl_s
        with self._transaction() as con:
            removed = con.execute("DELETE FROM conversations WHERE updated_at < ?", (cutoff,)).rowcount
        if removed:
            log.info("removed %d expired conversations", removed)
        return int(removed)

    def count(self) -> int:
        """Stored conversations, expired ones not yet cleaned up included (tests, metrics)."""
        with self._lock:
            return int(self._con.execute("SELECT COUNT(*) FROM conversations").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._con.close()


_PG_MIGRATIONS = (
    """
    CREATE TABLE wegwijzer.conversations (
        id          text PRIMARY KEY,
        created_at  double precision NOT NULL,
        updated_at  double precision NOT NULL,
        turns       jsonb NOT NULL
    );
    CREATE INDEX conversations_updated ON wegwijzer.conversations (updated_at);
    """,
)


class PostgresConversationStore(_Expiring):
    """Conversations in the shared database, so a follow-up may reach any replica: same behaviour as SQLite.

    An append reads and writes the row under ``SELECT … FOR UPDATE`` (a new conversation under the primary
    key's conflict rule), so two replicas appending to one conversation take turns and lose no turn.
    """

    _RETRY_LATER = (Exception,)  # psycopg's errors and the Dutch DatabaseError alike: the database is busy or down

    def __init__(self, url: str, ttl_s: float = 3600.0, max_turns: int = 20, cleanup_s: float = 600.0) -> None:
        super().__init__(ttl_s, max_turns, cleanup_s)
        from assistant.stores.pg import database  # psycopg is imported by its one owner, and only when used

        self.db = database(url)

    def _tables(self) -> None:
        self.db.migrate("conversations", _PG_MIGRATIONS)  # once per process (cached)

    def load(self, conversation_id: str) -> Conversation | None:
        self._tables()
        rows = self.db.rows("SELECT updated_at, turns FROM wegwijzer.conversations WHERE id = %s",
                            (conversation_id,))
        if not rows or time.time() - float(rows[0][0]) >= self.ttl_s:
            return None
        return Conversation(conversation_id, tuple(Turn.from_dict(t) for t in rows[0][1]), float(rows[0][0]))

    def append(self, conversation_id: str, turn: Turn) -> Conversation:
        if not valid_conversation_id(conversation_id):
            raise ValueError(f"conversation id {conversation_id!r} is not of the shape {ID_SHAPE.pattern}")
        self._tables()
        now = time.time()
        with self.db.transaction() as con:
            con.execute("INSERT INTO wegwijzer.conversations (id, created_at, updated_at, turns) "
                        "VALUES (%s, %s, %s, '[]'::jsonb) ON CONFLICT (id) DO NOTHING",
                        (conversation_id, now, now))
            row = con.execute("SELECT updated_at, turns FROM wegwijzer.conversations WHERE id = %s FOR UPDATE",
                              (conversation_id,)).fetchone()
            alive = now - float(row[0]) < self.ttl_s
            turns = (list(row[1]) if alive else []) + [turn.to_dict()]
            turns = turns[-self.max_turns:]
            con.execute("UPDATE wegwijzer.conversations SET updated_at = %s, turns = %s, "
                        "created_at = CASE WHEN %s THEN created_at ELSE %s END WHERE id = %s",
                        (now, self.db.jsonb(turns), alive, now, conversation_id))
        self._cleanup(now)
        return Conversation(conversation_id, tuple(Turn.from_dict(t) for t in turns), now)

    def clear(self, conversation_id: str) -> None:
        self._tables()
        self.db.execute("DELETE FROM wegwijzer.conversations WHERE id = %s", (conversation_id,))

    def purge(self, now: float | None = None) -> int:
        self._tables()
        cutoff = (time.time() if now is None else now) - self.ttl_s
        removed = self.db.execute("DELETE FROM wegwijzer.conversations WHERE updated_at < %s", (cutoff,))
        if removed:
            log.info("removed %d expired conversations", removed)
        return int(removed)

    def count(self) -> int:
        self._tables()
        return int(self.db.rows("SELECT COUNT(*) FROM wegwijzer.conversations")[0][0])

    def close(self) -> None:
        pass  # the pool belongs to the database owner (one per URL and process)


def open_conversations(settings: Settings) -> ConversationStore:
    """The conversation store for these settings: the shared database when one is set, else SQLite."""
    from assistant.stores.factory import open_stores

    return open_stores(settings).conversations()
