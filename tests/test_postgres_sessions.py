"""Replicas on one PostgreSQL database share admin sessions, and tell the truth while the database is down.

Two real `wegwijzer serve` processes with empty data directories (issue 21 item 6): a /beheer sign-in on one is
valid on the other, and a sign-out on either ends it on both. Then the session's PostgreSQL server is stopped
under a running replica (issue 20 item 6): a question gets a Dutch 503 within about 2 s, and /readyz answers 503
until the server is back, then 200 again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant import index as idx
from assistant.config import Settings
from assistant.index.transfer import copy_version

from .web_process import ServerProcess, free_port

pytestmark = [pytest.mark.real_model, pytest.mark.timeout(600)]

TOKEN = "replica-beheer-geheim"
QUESTION = "Wat zijn pleinmakers?"


def _replica(base: Path, name: str, models_dir: Path, url: str) -> ServerProcess:
    data = base / name
    data.mkdir(parents=True)
    (data / "models").symlink_to(models_dir.resolve(), target_is_directory=True)
    corpus = base / f"{name}-corpus"
    corpus.mkdir()
    port = free_port()
    env = {"WEGWIJZER_DATA_DIR": str(data), "WEGWIJZER_CORPUS_DIR": str(corpus), "WEGWIJZER_DATABASE_URL": url,
           "WEGWIJZER_CORS_ORIGINS": "", "WEGWIJZER_LOGIN_RATE_LIMIT": "0",
           "WEGWIJZER_ADMIN_TOKEN": TOKEN}
    return ServerProcess(["-m", "bots.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                         base / f"{name}-log", env=env, port=port)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, pg_server, real_index_settings: Settings,  # type: ignore[no-untyped-def]
             models_dir: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    from .pg import create_database, drop_database

    _, server_url = pg_server
    url = create_database(server_url)
    copy_version(idx.FileIndexStore(real_index_settings.index_dir),
                 idx.open_store(real_index_settings.with_(database_url=url)))
    base = tmp_path_factory.mktemp("session-replicas")
    with _replica(base, "a", models_dir, url) as a, _replica(base, "b", models_dir, url) as b:
        yield a, b
    drop_database(server_url, url)


def _cookie(response: httpx.Response) -> str:
    value = response.cookies.get("wegwijzer_beheer")
    assert value, response.headers
    return value


def _session(server: ServerProcess, cookie: str) -> httpx.Response:
    return httpx.get(server.url + "/beheer/api/session", cookies={"wegwijzer_beheer": cookie}, timeout=30)


def _documents(server: ServerProcess, cookie: str) -> int:
    return httpx.get(server.url + "/beheer/api/documents", cookies={"wegwijzer_beheer": cookie},
                     timeout=30).status_code


def test_a_session_made_on_one_replica_works_on_the_other_and_a_sign_out_ends_it_on_both(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b = replicas
    r = httpx.post(a.url + "/beheer/api/login", json={"token": TOKEN}, timeout=30)
    assert r.status_code == 200, r.text
    cookie, csrf = _cookie(r), r.json()["csrf"]
    on_b = _session(b, cookie).json()
    assert on_b["signed_in"] is True and on_b["csrf"] == csrf  # same key, same record
    assert _documents(a, cookie) == 200 and _documents(b, cookie) == 200
    # a second session, signed out on the replica that did not make it
    other = _cookie(httpx.post(b.url + "/beheer/api/login", json={"token": TOKEN}, timeout=30))
    out = httpx.post(b.url + "/beheer/api/logout", cookies={"wegwijzer_beheer": cookie},
                     headers={"X-CSRF-Token": csrf}, timeout=30)
    assert out.status_code == 200, out.text
    for server in (a, b):
        assert _session(server, cookie).json()["signed_in"] is False
        assert _documents(server, cookie) == 401
        assert _documents(server, other) == 200  # only that session ended


def _wait_ready(server: ServerProcess, status: int, deadline_s: float) -> float:
    start = time.monotonic()
    while True:
        r = httpx.get(server.url + "/readyz", timeout=10)
        if r.status_code == status:
            return time.monotonic() - start
        assert time.monotonic() - start < deadline_s, f"/readyz stayed {r.status_code}: {r.text}"
        time.sleep(0.5)


def test_with_postgresql_down_a_question_gets_a_dutch_503_fast_and_readyz_drains(replicas, pg_server) -> None:  # type: ignore[no-untyped-def]
    a, _ = replicas
    server, _ = pg_server
    assert httpx.post(a.url + "/api/ask", json={"question": QUESTION}, timeout=60).status_code == 200
    server.stop()
    try:
        for _ in range(3):  # the pool's idle connections first, then no connection at all
            start = time.monotonic()
            r = httpx.post(a.url + "/api/ask", json={"question": QUESTION}, timeout=30)
            elapsed = time.monotonic() - start
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "database_unavailable"
            assert "databank" in r.json()["error"]["message"]
            assert r.headers.get("retry-after") == "5"
            assert elapsed < 2.5, elapsed  # the rate limit (on, failing open) and the question share the wait
        start = time.monotonic()
        ready = httpx.get(a.url + "/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["error"]["code"] == "database_unavailable"
        assert time.monotonic() - start < 2.5
    finally:
        server.start()
    _wait_ready(a, 200, 60.0)
    r = httpx.post(a.url + "/api/ask", json={"question": QUESTION}, timeout=60)
    assert r.status_code == 200 and r.json()["citations"], r.text
