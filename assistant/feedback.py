"""Feedback on answers, stored in one SQLite file under the data directory.

Shared by the web service and the Telegram bot. People are never stored by name: the bot passes a
salted hash of the chat id as ``user_ref``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id   TEXT PRIMARY KEY,
    created_at  REAL NOT NULL,
    channel     TEXT NOT NULL,
    question    TEXT NOT NULL,
    found       INTEGER NOT NULL,
    sources     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  REAL NOT NULL,
    answer_id   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    helpful     INTEGER NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    question    TEXT NOT NULL,
    sources     TEXT NOT NULL,
    user_ref    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback(answer_id);
"""


@dataclass(frozen=True)
class FeedbackRow:
    answer_id: str
    channel: str
    helpful: bool
    comment: str
    question: str
    sources: list[dict[str, object]]
    user_ref: str


def hash_user(raw_id: int | str, salt: str) -> str:
    """A stable pseudonym for a chat or user id; the raw id is never stored."""
    return hashlib.sha256(f"{salt}:{raw_id}".encode()).hexdigest()[:32]


class FeedbackStore:
    """Thread-safe access to the feedback database.

    One connection per store, serialised by a lock: opening and closing a connection per write made
    SQLite flush the file every time (~20 ms per answer). WAL with synchronous=NORMAL stays crash-safe
    and lets several worker processes share the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        with self._connect() as con:
            con.executescript(_SCHEMA)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._con
                self._con.commit()
            except BaseException:
                self._con.rollback()
                raise

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def record_answer(self, answer_id: str, channel: str, question: str, found: bool,
                      sources: list[dict[str, object]]) -> None:
        """Remember what was asked and cited, so later feedback can refer to it."""
        with self._connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?)",
                (answer_id, time.time(), channel, question, int(found), json.dumps(sources, ensure_ascii=False)),
            )

    def lookup_answer(self, answer_id: str) -> tuple[str, list[dict[str, object]]] | None:
        """The question and cited sources of a recorded answer, or None if unknown."""
        with self._connect() as con:
            row = con.execute("SELECT question, sources FROM answers WHERE answer_id = ?",
                              (answer_id,)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def add_feedback(self, answer_id: str, channel: str, helpful: bool, comment: str = "",
                     user_ref: str = "") -> bool:
        """Store one vote; returns False when the answer id is unknown."""
        known = self.lookup_answer(answer_id)
        if known is None:
            return False
        question, sources = known
        with self._connect() as con:
            con.execute(
                "INSERT INTO feedback (created_at, answer_id, channel, helpful, comment, question, sources, "
                "user_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), answer_id, channel, int(helpful), comment, question,
                 json.dumps(sources, ensure_ascii=False), user_ref),
            )
        return True

    def feedback(self) -> list[FeedbackRow]:
        """All feedback rows, oldest first."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT answer_id, channel, helpful, comment, question, sources, user_ref FROM feedback ORDER BY id"
            ).fetchall()
        return [FeedbackRow(r[0], r[1], bool(r[2]), r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def counts(self) -> dict[str, int]:
        """Helpful / not helpful totals, for metrics."""
        with self._connect() as con:
            rows = con.execute("SELECT helpful, COUNT(*) FROM feedback GROUP BY helpful").fetchall()
        out = {"helpful": 0, "not_helpful": 0}
        for helpful, n in rows:
            out["helpful" if helpful else "not_helpful"] = n
        return out
