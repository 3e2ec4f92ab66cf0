"""Feedback on answers, stored in one SQLite file under the data directory.

Shared by the web service and the Telegram bot. People are never stored by name: front ends pass a
salted hash (of the Telegram user id, or of the web client's address) as ``user_ref``. Each person has
one vote per answer: a later vote replaces the earlier one. Questions are kept for a limited time
(``WEGWIJZER_QUESTION_RETENTION_DAYS``): :meth:`FeedbackStore.purge` removes older ones, at start-up
and then periodically (:meth:`FeedbackStore.start_purging`).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
DAY_S = 86400.0
PURGE_EVERY_S = 3600.0

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
CREATE INDEX IF NOT EXISTS answers_created ON answers(created_at);
"""
# Version 2: one vote per answer and person. Older duplicates keep their newest row.
_MIGRATE_2 = """
DELETE FROM feedback WHERE id NOT IN (SELECT max(id) FROM feedback GROUP BY answer_id, user_ref);
CREATE UNIQUE INDEX IF NOT EXISTS feedback_one_vote ON feedback(answer_id, user_ref);
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
    """A stable pseudonym for a user id or a client address; the raw value is never stored."""
    return hashlib.sha256(f"{salt}:{raw_id}".encode()).hexdigest()[:32]


def local_salt(data_dir: Path) -> str:
    """A random secret kept in the data directory (created once, shared by every worker process)."""
    path = Path(data_dir) / "feedback.salt"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".feedback.salt.{os.getpid()}")
    tmp.write_text(secrets.token_hex(32), encoding="ascii")
    try:
        os.link(tmp, path)  # atomic and exclusive: when two workers race, both read the winner's salt
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


class FeedbackStore:
    """Thread-safe access to the feedback database.

    One connection per store, serialised by a lock: opening and closing a connection per write made
    SQLite flush the file every time (~20 ms per answer). WAL with synchronous=NORMAL stays crash-safe
    and lets several worker processes share the file.
    """

    def __init__(self, path: Path, retention_days: int | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._purger: threading.Thread | None = None
        self._con = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        with self._connect() as con:
            con.executescript(_SCHEMA)
            if con.execute("PRAGMA user_version").fetchone()[0] < 2:
                con.executescript("BEGIN;" + _MIGRATE_2)  # executescript commits first; keep it one transaction
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if retention_days is not None:
            self.purge()

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
        self.stop_purging()
        with self._lock:
            self._con.close()

    # ------------------------------------------------------------------ retention

    def purge(self, now: float | None = None) -> int:
        """Remove questions older than the retention period; returns how many answers were removed.

        The answers go; feedback rows keep their vote (totals and metrics stay whole) but lose the
        question and the comment.
        """
        if self.retention_days is None:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * DAY_S
        with self._connect() as con:
            removed = con.execute("DELETE FROM answers WHERE created_at < ?", (cutoff,)).rowcount
            con.execute("UPDATE feedback SET question = '', comment = '' WHERE created_at < ? "
                        "AND (question != '' OR comment != '')", (cutoff,))
        if removed:
            log.info("removed %d questions older than %d days", removed, self.retention_days)
        return int(removed)

    def start_purging(self, every_s: float = PURGE_EVERY_S) -> None:
        """Purge every ``every_s`` seconds in a daemon thread until :meth:`close`."""
        if self._purger is not None:
            return
        stop = self._stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every_s):
                try:
                    self.purge()
                except sqlite3.Error as exc:  # a busy or read-only database: try again next time
                    log.warning("could not remove old questions from %s: %s", self.path, exc)

        self._purger = threading.Thread(target=loop, name="wegwijzer-retention", daemon=True)
        self._purger.start()

    def stop_purging(self) -> None:
        self._stop.set()
        if self._purger is not None and self._purger is not threading.current_thread():
            self._purger.join(timeout=5)
        self._purger = None

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
                     user_ref: str = "") -> str | None:
        """Store a vote, one per answer and ``user_ref``: a later vote replaces the earlier one.

        Returns ``"new"``, ``"changed"`` (an earlier vote was replaced), ``"same"`` (the same vote
        again), or None when the answer id is unknown (so ``if store.add_feedback(...)`` means stored).
        """
        with self._connect() as con:
            row = con.execute("SELECT question, sources FROM answers WHERE answer_id = ?", (answer_id,)).fetchone()
            if row is None:
                return None
            question, sources = row
            before = con.execute("SELECT helpful, comment FROM feedback WHERE answer_id = ? AND user_ref = ?",
                                 (answer_id, user_ref)).fetchone()
            con.execute(
                "INSERT INTO feedback (created_at, answer_id, channel, helpful, comment, question, sources, "
                "user_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (answer_id, user_ref) DO UPDATE SET created_at = excluded.created_at, "
                "channel = excluded.channel, helpful = excluded.helpful, comment = excluded.comment",
                (time.time(), answer_id, channel, int(helpful), comment, question, sources, user_ref),
            )
        if before is None:
            return "new"
        return "same" if (bool(before[0]), before[1]) == (helpful, comment) else "changed"

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

    # ------------------------------------------------------------------ reading for the admin page

    def recent_feedback(self, limit: int = 500, helpful: bool | None = None) -> list[FeedbackEntry]:
        """Feedback rows, newest first (at most ``limit``); only 👍 or only 👎 with ``helpful``."""
        where, params = ("WHERE helpful = ?", (int(helpful),)) if helpful is not None else ("", ())
        with self._connect() as con:
            rows = con.execute(
                f"SELECT created_at, channel, helpful, comment, question, sources FROM feedback {where} "
                "ORDER BY created_at DESC, id DESC LIMIT ?", (*params, limit)).fetchall()
        return [FeedbackEntry(r[0], r[1], bool(r[2]), r[3], r[4], json.loads(r[5])) for r in rows]

    def refused_questions(self, limit: int = 5000) -> list[tuple[float, str, str]]:
        """(asked at, channel, question) of the answers that found nothing, newest first."""
        with self._connect() as con:
            rows = con.execute("SELECT created_at, channel, question FROM answers WHERE found = 0 "
                               "ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        return [(float(r[0]), str(r[1]), str(r[2])) for r in rows]

    def unanswered(self, limit: int = 200, scan: int = 5000) -> list[QuestionGroup]:
        """Refused questions grouped (near-identical wording counts as one), newest group first."""
        return group_questions(self.refused_questions(scan))[:limit]


@dataclass(frozen=True)
class FeedbackEntry:
    """One vote as the admin page lists it."""

    created_at: float
    channel: str
    helpful: bool
    comment: str
    question: str
    sources: list[dict[str, object]]


@dataclass
class QuestionGroup:
    """Questions that got no answer and say the same thing: how often, when, and how they were put."""

    question: str  # the most recent wording
    count: int = 0
    last_asked: float = 0.0
    first_asked: float = 0.0
    channels: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)  # other wordings, most recent first (at most 5)
    key: str = ""


MAX_VARIANTS = 5
NEAR_IDENTICAL = 0.88  # difflib ratio of two normalised questions that count as one
_NON_WORD = re.compile(r"[^\w]+")


def normalise_question(text: str) -> str:
    """Lower case, without accents, punctuation or extra spaces: "Wat is X?" and "wat is x" are one."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text).split())


def group_questions(rows: Iterable[tuple[float, str, str]]) -> list[QuestionGroup]:
    """Group (asked at, channel, question) rows, given newest first, into counted groups, newest first.

    Two questions are one group when their normalised text is equal, has the same words in another
    order, or differs by a typo or two (difflib ratio >= NEAR_IDENTICAL and no content word without
    a near twin); "Wie is de schepen van onderwijs?" and "Wie is de schepen van sport?" stay apart,
    since their one differing word is most of what they ask. Only groups that share a content word
    are compared, so thousands of distinct questions do not cost a comparison each with each.
    """
    groups: list[QuestionGroup] = []
    by_key: dict[str, QuestionGroup] = {}
    by_words: dict[tuple[str, ...], QuestionGroup] = {}
    by_word: dict[str, list[QuestionGroup]] = {}
    for asked_at, channel, question in rows:
        key = normalise_question(question)
        if not key:
            continue
        words = tuple(sorted(key.split()))
        group = by_key.get(key) or by_words.get(words) or _similar(by_word, key)
        if group is None:
            group = QuestionGroup(question=question, first_asked=asked_at, last_asked=asked_at, key=key)
            groups.append(group)
            for word in {w for w in words if len(w) >= 4}:
                by_word.setdefault(word, []).append(group)
        elif question != group.question and question not in group.variants and len(group.variants) < MAX_VARIANTS:
            group.variants.append(question)
        group.count += 1
        group.last_asked = max(group.last_asked, asked_at)
        group.first_asked = min(group.first_asked, asked_at)
        if channel not in group.channels:
            group.channels.append(channel)
        by_key.setdefault(key, group)
        by_words.setdefault(words, group)
    groups.sort(key=lambda g: g.last_asked, reverse=True)
    return groups


def _similar(by_word: dict[str, list[QuestionGroup]], key: str) -> QuestionGroup | None:
    """The group ``key`` is a near-twin of, among groups sharing at least half of its content words."""
    content = list(dict.fromkeys(w for w in key.split() if len(w) >= 4))
    shared: dict[int, int] = {}
    candidates: dict[int, QuestionGroup] = {}
    for word in content:
        for group in by_word.get(word, ()):
            shared[id(group)] = shared.get(id(group), 0) + 1
            candidates[id(group)] = group
    need = max(1, len(content) // 2)
    for gid in sorted(shared, key=lambda g: -shared[g]):
        if shared[gid] < need:
            break
        a = candidates[gid].key
        if abs(len(a) - len(key)) > max(len(a), len(key)) * (1 - NEAR_IDENTICAL):
            continue
        matcher = difflib.SequenceMatcher(None, a, key, autojunk=False)
        if matcher.real_quick_ratio() < NEAR_IDENTICAL or matcher.quick_ratio() < NEAR_IDENTICAL:
            continue
        if matcher.ratio() >= NEAR_IDENTICAL and _same_content_words(a, key):
            return candidates[gid]
    return None


def _same_content_words(a: str, b: str) -> bool:
    """No long word in one is missing (even misspelt) from the other: a different topic is a different question."""
    def long_words(text: str) -> set[str]:
        return {w for w in text.split() if len(w) >= 4}

    wa, wb = long_words(a), long_words(b)
    for word in wa ^ wb:
        other = wb if word in wa else wa
        if not difflib.get_close_matches(word, other, n=1, cutoff=0.75):
            return False
    return True
