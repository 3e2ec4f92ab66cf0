"""One versioned migration mechanism per engine: an ordered list of named steps, each applied once, recorded.

After simonw/llm's ``migrations.py``: a store declares its schema as a tuple of ``(name, step)`` pairs, in
order, and never edits a step that has shipped; a change is a new step at the end. Applying them is
idempotent and safe between processes (SQLite's write lock, PostgreSQL's advisory lock), and a database that a
newer release migrated further is refused with a Dutch message instead of being misread.

- SQLite (:func:`migrate_sqlite`): the names applied are rows of ``_migrations`` in the file itself. Files from
  releases that counted their steps in ``PRAGMA user_version`` (feedback, up to 4) count as having applied that
  many steps; files that used ``CREATE TABLE IF NOT EXISTS`` have a first step that does the same, so it runs
  on them without harm.
- PostgreSQL (:meth:`assistant.stores.pg.Database.migrate`): per component, the number of steps applied is a
  row of ``wegwijzer.migrations`` (as in every release since PostgreSQL came); steps are SQL text or
  callables on the connection.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.errors import DatabaseError
from assistant.messages import t

SqliteStep = str | Callable[[sqlite3.Connection], None]
Migrations = Sequence[tuple[str, SqliteStep]]

TABLE = "_migrations"


def _run(con: sqlite3.Connection, step: SqliteStep) -> None:
    if callable(step):
        step(con)
        return
    # executescript would commit the open transaction: one statement at a time instead
    statement = ""
    for line in step.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            con.execute(statement)
            statement = ""
    if statement.strip():
        con.execute(statement)


def migrate_sqlite(con: sqlite3.Connection, component: str, steps: Migrations, where: Path | str) -> list[str]:
    """Apply the steps of ``steps`` this file has not had yet, in one transaction; returns their names.

    ``con`` must not be inside a transaction. ``component`` names the store in messages."""
    names = [name for name, _ in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"{component}: migration names must be unique")
    if con.in_transaction:
        con.commit()
    con.execute("BEGIN IMMEDIATE")  # one process migrates at a time; the next finds it done
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        done = {row[0] for row in con.execute(f"SELECT name FROM {TABLE}")}
        legacy = con.execute("PRAGMA user_version").fetchone()[0]
        if legacy > len(steps):  # a count kept by a newer release (stores that keep one keep it equal to ours)
            raise DatabaseError(t("db.schema_newer", where=where, component=component, found=legacy,
                                  expected=len(steps)))
        if not done:
            for name in names[:legacy]:  # an earlier release's count of the same steps
                con.execute(f"INSERT INTO {TABLE} VALUES (?, ?)", (name, time.time()))
                done.add(name)
        unknown = done - set(names)
        if unknown:  # a newer release added steps this one cannot know
            raise DatabaseError(t("db.schema_newer", where=where, component=component, found=len(done),
                                  expected=len(steps)))
        applied = []
        for name, step in steps:
            if name not in done:
                _run(con, step)
                con.execute(f"INSERT INTO {TABLE} VALUES (?, ?)", (name, time.time()))
                applied.append(name)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return applied
