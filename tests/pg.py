"""Helpers for tests on PostgreSQL: a database per test on the session's embedded server."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def create_database(url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return with_database(url, name)


def drop_database(url: str, test_url: str) -> None:
    from assistant.stores import pg as postgres

    for (db_url, _), db in list(postgres._DATABASES.items()):
        if db_url == test_url:
            db.close()
    name = urlsplit(test_url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
