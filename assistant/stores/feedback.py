"""Feedback on answers, stored in one SQLite file under the data directory, or in PostgreSQL.

With ``WEGWIJZER_DATABASE_URL`` the same tables live in the shared database (:class:`PostgresFeedbackStore`),
so that every replica writes to one place and none keeps state; :func:`open_feedback` picks the store.

Shared by the web service and the Telegram bot. People are never stored by name: front ends pass a
salted hash (of the Telegram user id, or of the web client's address) as ``user_ref``. Each person has
one vote per answer: a later vote replaces the earlier one. With each answer the store keeps what the
person saw (:class:`Shown`: the text, its mode, the cited passage ids, the index version), and each vote
carries a copy, so a 👎 can be read without asking again. Questions and what was shown are kept for a
limited time (``WEGWIJZER_QUESTION_RETENTION_DAYS``): :meth:`FeedbackStore.purge` removes older ones,
at start-up and then periodically (:meth:`FeedbackStore.start_purging`).
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.errors import WegwijzerError
from assistant.hashing import hash_user as hash_user  # re-exported: where front ends have always found it
from assistant.stores.sqlitefile import open_migrated
from assistant.stores.statefiles import create_private, private_file, private_folder

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.types import Answer

log = logging.getLogger(__name__)

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


def _migrate_2(con: sqlite3.Connection) -> None:
    """Version 2: one vote per answer and person. Older duplicates keep their newest row."""
    con.execute("DELETE FROM feedback WHERE id NOT IN (SELECT max(id) FROM feedback GROUP BY answer_id, user_ref)")
    con.execute("CREATE UNIQUE INDEX IF NOT EXISTS feedback_one_vote ON feedback(answer_id, user_ref)")


# What a person saw, with each answer and (copied) with each vote; rows from before version 3 keep the defaults.
_SHOWN_COLUMNS = (("answer_text", "TEXT NOT NULL DEFAULT ''"), ("mode", "TEXT NOT NULL DEFAULT ''"),
                  ("passage_ids", "TEXT NOT NULL DEFAULT '[]'"), ("index_version", "TEXT NOT NULL DEFAULT ''"))


def _migrate_3(con: sqlite3.Connection) -> None:
    """Version 3: the answer that was shown, with each answer and each vote (and, with a vote, whether it
    found an answer: NULL on older votes, which did not record it).

    A column that exists already is kept: a file that an older version reopened (and so marked version 2
    again) is brought back to version 3 without an error.
    """
    for table, extra in (("answers", ()), ("feedback", (("found", "INTEGER"),))):
        have = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        for name, decl in (*_SHOWN_COLUMNS, *extra):
            if name not in have:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


def _migrate_4(con: sqlite3.Connection) -> None:
    """Version 4 (issue 22): a recorded answer may carry the asker's pseudonym, so that a person can see and erase
    the questions they asked (Telegram's /mijngegevens and /vergeet). Web questions stay without one."""
    if "user_ref" not in {row[1] for row in con.execute("PRAGMA table_info(answers)")}:
        con.execute("ALTER TABLE answers ADD COLUMN user_ref TEXT NOT NULL DEFAULT ''")
    con.execute("CREATE INDEX IF NOT EXISTS answers_user ON answers(user_ref) WHERE user_ref != ''")
    con.execute("CREATE INDEX IF NOT EXISTS feedback_user ON feedback(user_ref) WHERE user_ref != ''")


# Every schema change, in order, named (``stores.migrations``); each runs once per file. Files of earlier
# releases counted these steps in PRAGMA user_version (up to 4), which the runner takes over.
_MIGRATIONS = (("answers_and_feedback", _SCHEMA), ("one_vote_per_person", _migrate_2),
               ("what_was_shown", _migrate_3), ("asker_pseudonym", _migrate_4))
SCHEMA_VERSION = len(_MIGRATIONS)  # written to user_version too, for a release before the runner


@dataclass(frozen=True)
class Shown:
    """What a person saw of an answer: its text, how it was made, the passages it cites, the index it came from."""

    text: str = ""
    mode: str = ""  # "extractive" or "generated" ("" when not recorded: older rows, or purged)
    passage_ids: tuple[int, ...] = ()  # the cited passages, in the order of the answer's [n] markers
    index_version: str = ""

    @classmethod
    def of(cls, answer: Answer) -> Shown:
        return cls(text=answer.text, mode=answer.mode, passage_ids=tuple(c.passage_id for c in answer.citations),
                   index_version=answer.index_version)

    @classmethod
    def from_row(cls, text: str, mode: str, passage_ids: Any, index_version: str) -> Shown:
        """From stored columns; ``passage_ids`` is JSON text (SQLite) or already a list (PostgreSQL jsonb)."""
        ids = json.loads(passage_ids) if isinstance(passage_ids, str) else passage_ids
        return cls(str(text), str(mode), tuple(int(i) for i in ids or ()), str(index_version))


@dataclass(frozen=True)
class PersonalData:
    """What the store holds under one person's pseudonym: the questions they asked and their votes."""

    questions: list[tuple[float, str, bool]]  # (asked at, question, found), newest first
    votes: list[tuple[float, bool, str]]  # (voted at, helpful, comment), newest first


@dataclass(frozen=True)
class FeedbackRow:
    answer_id: str
    channel: str
    helpful: bool
    comment: str
    question: str
    sources: list[dict[str, object]]
    user_ref: str
    shown: Shown = Shown()


def local_salt(data_dir: Path) -> str:
    """A random secret kept in the data directory (created once, mode 0600, shared by every worker process)."""
    path = Path(data_dir) / "feedback.salt"
    try:
        salt = path.read_text(encoding="ascii").strip()
        private_file(path)  # an older version left it 0644
        return salt
    except FileNotFoundError:
        pass
    private_folder(path.parent)
    tmp = path.with_name(f".feedback.salt.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    create_private(tmp, secrets.token_hex(32))
    try:
        os.link(tmp, path)  # atomic and exclusive: when two workers race, both read the winner's salt
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


class Feedback(Protocol):
    """The feedback store, whichever engine holds it (``stores.factory.open_stores(settings).feedback()``)."""

    retention_days: int | None

    def close(self) -> None: ...
    def purge(self, now: float | None = None) -> int: ...
    def start_purging(self, every_s: float = PURGE_EVERY_S) -> None: ...
    def stop_purging(self) -> None: ...
    def record_answer(self, answer_id: str, channel: str, question: str, found: bool,
                      sources: list[dict[str, object]], shown: Shown | None = None, user_ref: str = "") -> None: ...
    def personal_data(self, user_ref: str) -> PersonalData: ...
    def forget_person(self, user_ref: str) -> tuple[list[str], int]: ...
    def lookup_answer(self, answer_id: str) -> tuple[str, list[dict[str, object]]] | None: ...
    def add_feedback(self, answer_id: str, channel: str, helpful: bool, comment: str = "",
                     user_ref: str = "") -> str | None: ...
    def feedback(self) -> list[FeedbackRow]: ...
    def counts(self) -> dict[str, int]: ...
    def recent_feedback(self, limit: int = 500, helpful: bool | None = None) -> list[FeedbackEntry]: ...
    def marked_wrong(self, limit: int = 5000) -> list[FeedbackEntry]: ...
    def wrong_answers(self, limit: int = 200, scan: int = 5000) -> list[WrongAnswer]: ...
    def refused_questions(self, limit: int = 5000) -> list[tuple[float, str, str]]: ...
    def unanswered(self, limit: int = 200, scan: int = 5000) -> list[QuestionGroup]: ...


class _FeedbackCommon:
    """What both engines share: the retention thread and the groupings the admin page reads. Storage is the
    subclasses' (each implements every storage method of :class:`Feedback`)."""

    path: Path

    def __init__(self, retention_days: int | None) -> None:
        self.retention_days = retention_days
        self._stop = threading.Event()
        self._purger: threading.Thread | None = None

    def purge(self, now: float | None = None) -> int:
        raise NotImplementedError

    def marked_wrong(self, limit: int = 5000) -> list[FeedbackEntry]:
        raise NotImplementedError

    def refused_questions(self, limit: int = 5000) -> list[tuple[float, str, str]]:
        raise NotImplementedError

    def start_purging(self, every_s: float = PURGE_EVERY_S) -> None:
        """Purge every ``every_s`` seconds in a daemon thread until :meth:`close`."""
        if self._purger is not None:
            return
        stop = self._stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every_s):
                try:
                    self.purge()
                except (sqlite3.Error, WegwijzerError) as exc:  # a busy or unreachable database: next time
                    log.warning("could not remove old questions from %s: %s", self.path, exc)

        self._purger = threading.Thread(target=loop, name="wegwijzer-retention", daemon=True)
        self._purger.start()

    def stop_purging(self) -> None:
        self._stop.set()
        if self._purger is not None and self._purger is not threading.current_thread():
            self._purger.join(timeout=5)
        self._purger = None

    def wrong_answers(self, limit: int = 200, scan: int = 5000) -> list[WrongAnswer]:
        """Answers marked wrong, the same answer to the same question counted once, newest first."""
        return group_wrong(self.marked_wrong(scan))[:limit]

    def unanswered(self, limit: int = 200, scan: int = 5000) -> list[QuestionGroup]:
        """Refused questions grouped (near-identical wording counts as one), newest group first."""
        return group_questions(self.refused_questions(scan))[:limit]


def _keep_version(con: sqlite3.Connection, applied: list[str]) -> None:
    """The file also carries its step count as user_version, which releases before the migrations table read."""
    if applied:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        con.commit()


class FeedbackStore(_FeedbackCommon):
    """The feedback store in SQLite (``feedback.sqlite3``); thread-safe.

    One connection per store, serialised by a lock: opening and closing a connection per write made
    SQLite flush the file every time (~20 ms per answer). WAL with synchronous=NORMAL stays crash-safe
    and lets several worker processes share the file.
    """

    def __init__(self, path: Path, retention_days: int | None = None) -> None:
        super().__init__(retention_days)
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con = open_migrated(self.path, "feedback", _MIGRATIONS, then=_keep_version, timeout=10,
                                  autocommit=False)
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

        The answers go (with what was shown); feedback rows keep their vote (totals and metrics stay
        whole) but lose the question, the comment and the answer that was shown.
        """
        if self.retention_days is None:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * DAY_S
        with self._connect() as con:
            removed = con.execute("DELETE FROM answers WHERE created_at < ?", (cutoff,)).rowcount
            con.execute(f"UPDATE feedback SET {_FORGET} WHERE created_at < ? AND ({_REMEMBERS})", (cutoff,))
        if removed:
            log.info("removed %d questions older than %d days", removed, self.retention_days)
        return int(removed)

    def record_answer(self, answer_id: str, channel: str, question: str, found: bool,
                      sources: list[dict[str, object]], shown: Shown | None = None, user_ref: str = "") -> None:
        """Remember what was asked, cited and shown (``Shown.of(answer)``), so later feedback can refer to it.

        ``user_ref`` (the asker's pseudonym) lets that person see and erase their questions later.
        """
        shown = shown or Shown()
        with self._connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO answers (answer_id, created_at, channel, question, found, sources, "
                "answer_text, mode, passage_ids, index_version, user_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, time.time(), channel, question, int(found), json.dumps(sources, ensure_ascii=False),
                 shown.text, shown.mode, json.dumps(shown.passage_ids), shown.index_version, user_ref),
            )

    # ------------------------------------------------------------------ a person's own data (issue 22)

    def personal_data(self, user_ref: str) -> PersonalData:
        """The questions asked and the votes given under ``user_ref`` (an empty ref owns nothing)."""
        if not user_ref:
            return PersonalData([], [])
        with self._connect() as con:
            asked = con.execute("SELECT created_at, question, found FROM answers WHERE user_ref = ? "
                                "ORDER BY created_at DESC", (user_ref,)).fetchall()
            votes = con.execute("SELECT created_at, helpful, comment FROM feedback WHERE user_ref = ? "
                                "ORDER BY created_at DESC", (user_ref,)).fetchall()
        return PersonalData([(float(r[0]), str(r[1]), bool(r[2])) for r in asked],
                            [(float(r[0]), bool(r[1]), str(r[2])) for r in votes])

    def forget_person(self, user_ref: str) -> tuple[list[str], int]:
        """Erase what ``user_ref`` left: their questions and their votes. Returns (the erased answers' ids, votes).

        Someone else's vote on one of those answers stays (it is theirs) but loses the copy of the question.
        """
        if not user_ref:
            return [], 0
        with self._connect() as con:
            ids = [str(r[0]) for r in con.execute("SELECT answer_id FROM answers WHERE user_ref = ?", (user_ref,))]
            con.execute("DELETE FROM answers WHERE user_ref = ?", (user_ref,))
            votes = con.execute("DELETE FROM feedback WHERE user_ref = ?", (user_ref,)).rowcount
            con.executemany("UPDATE feedback SET question = '', sources = '[]' WHERE answer_id = ?",
                            [(i,) for i in ids])
        return ids, int(votes)

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
            row = con.execute(f"SELECT {_ANSWER_COPY} FROM answers WHERE answer_id = ?", (answer_id,)).fetchone()
            if row is None:
                return None
            before = con.execute("SELECT helpful, comment FROM feedback WHERE answer_id = ? AND user_ref = ?",
                                 (answer_id, user_ref)).fetchone()
            con.execute(
                f"INSERT INTO feedback (created_at, answer_id, channel, helpful, comment, user_ref, {_ANSWER_COPY}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (answer_id, user_ref) DO UPDATE SET created_at = excluded.created_at, "
                "channel = excluded.channel, helpful = excluded.helpful, comment = excluded.comment",
                (time.time(), answer_id, channel, int(helpful), comment, user_ref, *row),
            )
        if before is None:
            return "new"
        return "same" if (bool(before[0]), before[1]) == (helpful, comment) else "changed"

    def feedback(self) -> list[FeedbackRow]:
        """All feedback rows, oldest first."""
        with self._connect() as con:
            rows = con.execute(
                f"SELECT answer_id, channel, helpful, comment, question, sources, user_ref, {_SHOWN} FROM feedback "
                "ORDER BY id").fetchall()
        return [FeedbackRow(r[0], r[1], bool(r[2]), r[3], r[4], json.loads(r[5]), r[6], Shown.from_row(*r[7:]))
                for r in rows]

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
            rows = con.execute(f"SELECT {_ENTRY} FROM feedback {where} ORDER BY created_at DESC, id DESC LIMIT ?",
                               (*params, limit)).fetchall()
        return [_entry(r) for r in rows]

    def marked_wrong(self, limit: int = 5000) -> list[FeedbackEntry]:
        """The 👎 votes on answers that stated something (not on refusals), question still kept, newest first."""
        with self._connect() as con:
            rows = con.execute(f"SELECT {_ENTRY} FROM feedback WHERE {_WRONG} "
                               "ORDER BY created_at DESC, id DESC LIMIT ?", (limit,)).fetchall()
        return [_entry(r) for r in rows]

    def refused_questions(self, limit: int = 5000) -> list[tuple[float, str, str]]:
        """(asked at, channel, question) of the answers that found nothing, newest first."""
        with self._connect() as con:
            rows = con.execute("SELECT created_at, channel, question FROM answers WHERE found = 0 "
                               "ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        return [(float(r[0]), str(r[1]), str(r[2])) for r in rows]



# The columns a vote copies from its answer (question, what was cited, what was shown), in one order.
_ANSWER_COPY = "question, sources, found, answer_text, mode, passage_ids, index_version"
_SHOWN = "answer_text, mode, passage_ids, index_version"
_ENTRY = f"created_at, channel, helpful, comment, question, sources, found, {_SHOWN}"
# What the retention period removes from a vote, and the test for a vote that still holds any of it.
_FORGET = "question = '', comment = '', answer_text = '', mode = '', passage_ids = '[]', index_version = ''"
_REMEMBERS = "question != '' OR comment != '' OR answer_text != '' OR mode != '' OR index_version != ''"
# A 👎 on an answer that stated something (found is NULL on votes older than schema version 3: kept), not purged.
_WRONG = "NOT helpful AND (found IS NULL OR found) AND question != ''"


@dataclass(frozen=True)
class FeedbackEntry:
    """One vote as the admin page lists it, with the answer that was shown."""

    created_at: float
    channel: str
    helpful: bool
    comment: str
    question: str
    sources: list[dict[str, object]]
    found: bool | None = None  # None: a vote from before this was recorded
    shown: Shown = Shown()


def _entry(row: Sequence[Any]) -> FeedbackEntry:
    """A FeedbackEntry from a row of ``_ENTRY`` columns (SQLite's JSON text or PostgreSQL's jsonb)."""
    sources = json.loads(row[5]) if isinstance(row[5], str) else list(row[5])
    found = None if row[6] is None else bool(row[6])
    return FeedbackEntry(float(row[0]), row[1], bool(row[2]), row[3], row[4], sources, found,
                         Shown.from_row(*row[7:11]))


@dataclass
class WrongAnswer:
    """One answer marked wrong (👎): what was asked and shown, how often, when, and what people said."""

    question: str  # the most recent wording
    shown: Shown
    sources: list[dict[str, object]]
    count: int = 0
    last_marked: float = 0.0
    first_marked: float = 0.0
    channels: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # newest first, at most MAX_COMMENTS
    variants: list[str] = field(default_factory=list)  # other wordings that got the same answer


MAX_COMMENTS = 5


def group_wrong(entries: Iterable[FeedbackEntry]) -> list[WrongAnswer]:
    """Group 👎 votes, given newest first: one group per question (normalised) and answer text, newest first.

    Each question asked on the web gets its own answer id, so several people who disliked the same
    answer to the same question show up as one row with its count, not as many.
    """
    groups: dict[tuple[str, str], WrongAnswer] = {}
    for e in entries:
        key = (normalise_question(e.question), e.shown.text)
        group = groups.get(key)
        if group is None:
            group = groups[key] = WrongAnswer(e.question, e.shown, e.sources, first_marked=e.created_at,
                                              last_marked=e.created_at)
        elif e.question != group.question and e.question not in group.variants and len(group.variants) < MAX_VARIANTS:
            group.variants.append(e.question)
        group.count += 1
        group.first_marked = min(group.first_marked, e.created_at)
        group.last_marked = max(group.last_marked, e.created_at)
        if e.channel not in group.channels:
            group.channels.append(e.channel)
        if e.comment and e.comment not in group.comments and len(group.comments) < MAX_COMMENTS:
            group.comments.append(e.comment)
    return sorted(groups.values(), key=lambda g: g.last_marked, reverse=True)


@dataclass
class QuestionGroup:
    """Questions that got no answer and say the same thing: how often, when, and how they were put."""

    question: str  # the most recent wording
    count: int = 0
    last_asked: float = 0.0
    first_asked: float = 0.0
    channels: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)  # other wordings, most recent first (at most 5)
    key: str = ""  # the normalised first wording, which the others are compared with
    content: frozenset[str] = frozenset()  # its long words (what the question is about)


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
    since their one differing word is most of what they ask. Near twins differ in at most
    ``WORDS_APART`` words, so they share a blocking key (their words with up to that many left out,
    as in SymSpell's deletion neighbourhoods); only groups that share one are compared, which keeps
    template-like questions ("Waar vind ik X voor Y in Z?") from costing a comparison each with each.
    """
    groups: list[QuestionGroup] = []
    by_key: dict[str, QuestionGroup] = {}
    by_words: dict[tuple[str, ...], QuestionGroup] = {}
    by_block: dict[int, list[QuestionGroup]] = {}
    for asked_at, channel, question in rows:
        key = normalise_question(question)
        if not key:
            continue
        words = tuple(sorted(key.split()))
        group = by_key.get(key) or by_words.get(words)
        blocks: set[int] | None = None
        if group is None:
            blocks = _blocking_keys(key)
            group = _similar(by_block, blocks, key)
        if group is None:
            group = QuestionGroup(question=question, first_asked=asked_at, last_asked=asked_at, key=key,
                                  content=frozenset(_long_words(key)))
            groups.append(group)
            for block in blocks or ():
                by_block.setdefault(block, []).append(group)
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


WORDS_APART = 2  # near twins differ in at most this many words (of three letters or more)
MAX_BLOCK_WORDS = 24  # longer questions get keys with one word left out only (their count grows quadratically)


def _blocking_keys(key: str) -> set[int]:
    """Hashes of the question's words (3+ letters, sorted) with up to ``WORDS_APART`` of them left out.

    A typo replaces a word, a slip adds or drops one: two questions within two such edits share a key.
    """
    words = sorted(w for w in key.split() if len(w) >= 3) or sorted(key.split())
    n = len(words)
    out = {hash(tuple(words))}
    if n < 2:
        return out
    for i in range(n):
        one = words[:i] + words[i + 1:]
        out.add(hash(tuple(one)))
        if n >= 4 and n <= MAX_BLOCK_WORDS:
            for j in range(i, n - 1):
                out.add(hash(tuple(one[:j] + one[j + 1:])))
    return out


def _similar(by_block: dict[int, list[QuestionGroup]], blocks: set[int], key: str) -> QuestionGroup | None:
    """The most recent group ``key`` is a near twin of, among the groups that share a blocking key."""
    seen: set[int] = set()
    candidates: list[QuestionGroup] = []
    content = _long_words(key)
    for block in blocks:
        for group in by_block.get(block, ()):
            if id(group) not in seen:
                seen.add(id(group))
                candidates.append(group)
    candidates.sort(key=lambda g: g.last_asked, reverse=True)
    for group in candidates:
        a = group.key
        if abs(len(a) - len(key)) > max(len(a), len(key)) * (1 - NEAR_IDENTICAL):
            continue
        if not _same_content_words(group.content, content):  # cheap: it looks only at the words that differ
            continue
        matcher = difflib.SequenceMatcher(None, a, key, autojunk=False)
        if matcher.real_quick_ratio() >= NEAR_IDENTICAL and matcher.quick_ratio() >= NEAR_IDENTICAL \
                and matcher.ratio() >= NEAR_IDENTICAL:
            return group
    return None


def _long_words(text: str) -> set[str]:
    return {w for w in text.split() if len(w) >= 4}


def _same_content_words(wa: Set[str], wb: Set[str]) -> bool:
    """No long word in one is missing (even misspelt) from the other: a different topic is a different question."""
    differ = wa ^ wb
    if len(differ) > 2 * WORDS_APART:
        return False
    for word in differ:
        other = wb if word in wa else wa
        if not any(_close_words(word, o) for o in other):
            return False
    return True


@functools.lru_cache(maxsize=1 << 16)
def _close_words(a: str, b: str) -> bool:
    """The same word, misspelt (difflib ratio >= 0.75, as ``difflib.get_close_matches`` judges it).

    Cached: the lists hold the same words over and over, and this is the inner loop of the grouping.
    """
    matcher = difflib.SequenceMatcher(None, b, a)
    return matcher.real_quick_ratio() >= 0.75 and matcher.quick_ratio() >= 0.75 and matcher.ratio() >= 0.75

# ---------------------------------------------------------------- PostgreSQL

_PG_MIGRATIONS = (
    """
    CREATE TABLE wegwijzer.answers (
        answer_id   text PRIMARY KEY,
        created_at  double precision NOT NULL,
        channel     text NOT NULL,
        question    text NOT NULL,
        found       boolean NOT NULL,
        sources     jsonb NOT NULL
    );
    CREATE INDEX answers_created ON wegwijzer.answers (created_at);
    CREATE TABLE wegwijzer.feedback (
        id          bigserial PRIMARY KEY,
        created_at  double precision NOT NULL,
        answer_id   text NOT NULL,
        channel     text NOT NULL,
        helpful     boolean NOT NULL,
        comment     text NOT NULL DEFAULT '',
        question    text NOT NULL,
        sources     jsonb NOT NULL,
        user_ref    text NOT NULL DEFAULT '',
        UNIQUE (answer_id, user_ref)
    );
    CREATE INDEX feedback_created ON wegwijzer.feedback (created_at);
    """,
    # 2: what was shown, with each answer and each vote (see _migrate_3). Columns with defaults: a replica
    # of the previous release that is running already keeps writing its six columns during the roll-out.
    """
    ALTER TABLE wegwijzer.answers
        ADD COLUMN IF NOT EXISTS answer_text text NOT NULL DEFAULT '',
        ADD COLUMN IF NOT EXISTS mode text NOT NULL DEFAULT '',
        ADD COLUMN IF NOT EXISTS passage_ids jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN IF NOT EXISTS index_version text NOT NULL DEFAULT '';
    ALTER TABLE wegwijzer.feedback
        ADD COLUMN IF NOT EXISTS found boolean,
        ADD COLUMN IF NOT EXISTS answer_text text NOT NULL DEFAULT '',
        ADD COLUMN IF NOT EXISTS mode text NOT NULL DEFAULT '',
        ADD COLUMN IF NOT EXISTS passage_ids jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN IF NOT EXISTS index_version text NOT NULL DEFAULT '';
    """,
    # 3 (issue 22): the asker's pseudonym on a recorded answer (see _migrate_4)
    """
    ALTER TABLE wegwijzer.answers ADD COLUMN user_ref text NOT NULL DEFAULT '';
    CREATE INDEX answers_user ON wegwijzer.answers (user_ref) WHERE user_ref <> '';
    CREATE INDEX feedback_user ON wegwijzer.feedback (user_ref) WHERE user_ref <> '';
    """,
)


class PostgresFeedbackStore(_FeedbackCommon):
    """The feedback store in the shared database: same behaviour and API as the SQLite one."""

    def __init__(self, url: str, retention_days: int | None = None) -> None:
        from assistant.stores.pg import database

        super().__init__(retention_days)
        self.db = database(url)
        self.path = Path(self.db.describe())  # for log lines
        if retention_days is not None:
            try:
                self.purge()
            except WegwijzerError as exc:  # the database is down: the service still starts (not ready)
                log.warning("could not remove old questions: %s", exc)

    def _tables(self) -> None:
        self.db.migrate("feedback", _PG_MIGRATIONS)  # once per process (cached)

    def close(self) -> None:
        self.stop_purging()

    def purge(self, now: float | None = None) -> int:
        if self.retention_days is None:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * DAY_S
        self._tables()
        with self.db.transaction() as con:
            removed = con.execute("DELETE FROM wegwijzer.answers WHERE created_at < %s", (cutoff,)).rowcount
            con.execute(f"UPDATE wegwijzer.feedback SET {_FORGET} WHERE created_at < %s AND ({_REMEMBERS})",
                        (cutoff,))
        if removed:
            log.info("removed %d questions older than %d days", removed, self.retention_days)
        return int(removed)

    def record_answer(self, answer_id: str, channel: str, question: str, found: bool,
                      sources: list[dict[str, object]], shown: Shown | None = None, user_ref: str = "") -> None:
        shown = shown or Shown()
        self._tables()
        self.db.execute(
            "INSERT INTO wegwijzer.answers (answer_id, created_at, channel, question, found, sources, answer_text, "
            "mode, passage_ids, index_version, user_ref) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (answer_id) DO UPDATE SET created_at = excluded.created_at, channel = excluded.channel, "
            "question = excluded.question, found = excluded.found, sources = excluded.sources, "
            "answer_text = excluded.answer_text, mode = excluded.mode, passage_ids = excluded.passage_ids, "
            "index_version = excluded.index_version, user_ref = excluded.user_ref",
            (answer_id, time.time(), channel, question, found, self.db.jsonb(sources), shown.text, shown.mode,
             self.db.jsonb(list(shown.passage_ids)), shown.index_version, user_ref))

    def personal_data(self, user_ref: str) -> PersonalData:
        if not user_ref:
            return PersonalData([], [])
        self._tables()
        asked = self.db.rows("SELECT created_at, question, found FROM wegwijzer.answers WHERE user_ref = %s "
                             "ORDER BY created_at DESC", (user_ref,))
        votes = self.db.rows("SELECT created_at, helpful, comment FROM wegwijzer.feedback WHERE user_ref = %s "
                             "ORDER BY created_at DESC", (user_ref,))
        return PersonalData([(float(r[0]), str(r[1]), bool(r[2])) for r in asked],
                            [(float(r[0]), bool(r[1]), str(r[2])) for r in votes])

    def forget_person(self, user_ref: str) -> tuple[list[str], int]:
        if not user_ref:
            return [], 0
        self._tables()
        with self.db.transaction() as con:
            ids = [str(r[0]) for r in con.execute("DELETE FROM wegwijzer.answers WHERE user_ref = %s "
                                                  "RETURNING answer_id", (user_ref,)).fetchall()]
            votes = con.execute("DELETE FROM wegwijzer.feedback WHERE user_ref = %s", (user_ref,)).rowcount
            if ids:
                con.execute("UPDATE wegwijzer.feedback SET question = '', sources = '[]'::jsonb "
                            "WHERE answer_id = ANY(%s)", (ids,))
        return ids, int(votes)

    # The admin page's reads (the grouping of unanswered questions and wrong answers is shared Python over these rows).

    def recent_feedback(self, limit: int = 500, helpful: bool | None = None) -> list[FeedbackEntry]:
        self._tables()
        where, params = ("WHERE helpful = %s", (helpful,)) if helpful is not None else ("", ())
        rows = self.db.rows(f"SELECT {_ENTRY} FROM wegwijzer.feedback {where} ORDER BY created_at DESC, id DESC "
                            "LIMIT %s", (*params, limit))
        return [_entry(r) for r in rows]

    def marked_wrong(self, limit: int = 5000) -> list[FeedbackEntry]:
        self._tables()
        rows = self.db.rows(f"SELECT {_ENTRY} FROM wegwijzer.feedback WHERE {_WRONG} "
                            "ORDER BY created_at DESC, id DESC LIMIT %s", (limit,))
        return [_entry(r) for r in rows]

    def refused_questions(self, limit: int = 5000) -> list[tuple[float, str, str]]:
        self._tables()
        rows = self.db.rows("SELECT created_at, channel, question FROM wegwijzer.answers WHERE NOT found "
                            "ORDER BY created_at DESC LIMIT %s", (limit,))
        return [(float(r[0]), str(r[1]), str(r[2])) for r in rows]

    def lookup_answer(self, answer_id: str) -> tuple[str, list[dict[str, object]]] | None:
        self._tables()
        rows = self.db.rows("SELECT question, sources FROM wegwijzer.answers WHERE answer_id = %s", (answer_id,))
        return (rows[0][0], list(rows[0][1])) if rows else None

    def add_feedback(self, answer_id: str, channel: str, helpful: bool, comment: str = "",
                     user_ref: str = "") -> str | None:
        self._tables()
        with self.db.transaction() as con:
            row = con.execute("SELECT 1 FROM wegwijzer.answers WHERE answer_id = %s", (answer_id,)).fetchone()
            if row is None:
                return None
            before = con.execute("SELECT helpful, comment FROM wegwijzer.feedback WHERE answer_id = %s "
                                 "AND user_ref = %s FOR UPDATE", (answer_id, user_ref)).fetchone()
            # the answer's columns are copied inside the database (jsonb stays jsonb)
            con.execute(
                f"INSERT INTO wegwijzer.feedback (created_at, answer_id, channel, helpful, comment, user_ref, "
                f"{_ANSWER_COPY}) SELECT %s, %s, %s, %s, %s, %s, {_ANSWER_COPY} FROM wegwijzer.answers "
                "WHERE answer_id = %s "
                "ON CONFLICT (answer_id, user_ref) DO UPDATE SET created_at = excluded.created_at, "
                "channel = excluded.channel, helpful = excluded.helpful, comment = excluded.comment",
                (time.time(), answer_id, channel, helpful, comment, user_ref, answer_id))
        if before is None:
            return "new"
        return "same" if (bool(before[0]), before[1]) == (helpful, comment) else "changed"

    def feedback(self) -> list[FeedbackRow]:
        self._tables()
        rows = self.db.rows(f"SELECT answer_id, channel, helpful, comment, question, sources, user_ref, {_SHOWN} "
                            "FROM wegwijzer.feedback ORDER BY id")
        return [FeedbackRow(r[0], r[1], bool(r[2]), r[3], r[4], list(r[5]), r[6], Shown.from_row(*r[7:]))
                for r in rows]

    def counts(self) -> dict[str, int]:
        out = {"helpful": 0, "not_helpful": 0}
        self._tables()
        for helpful, n in self.db.rows("SELECT helpful, COUNT(*) FROM wegwijzer.feedback GROUP BY helpful"):
            out["helpful" if helpful else "not_helpful"] = int(n)
        return out


def open_feedback(settings: Settings, retention: bool = True) -> Feedback:
    """The feedback store the settings select: the shared database, or ``feedback.sqlite3`` in the data dir."""
    from assistant.stores.factory import open_stores

    return open_stores(settings).feedback(retention)


def database_salt(url: str) -> str:
    """The pseudonym salt kept in the database at ``url`` (created once), shared by every replica."""
    from assistant.stores.pg import database

    return str(database(url).add_meta("feedback_salt", secrets.token_hex(32)))


def client_salt(settings: Settings) -> str:
    """The secret that salts client pseudonyms: shared by every worker, and with a database by every replica."""
    from assistant.stores.factory import open_stores

    return open_stores(settings).client_salt()
