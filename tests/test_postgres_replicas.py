"""Stateless replicas: two `wegwijzer serve` processes with empty data directories (only the model) share one
database. A document ingested afterwards, from a third place, is cited by both within seconds; feedback given
to one replica on the other's answer is stored; a replica killed mid-request loses nothing, and a new one with
an empty data directory serves at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant import index as idx
from assistant.config import REPO_ROOT, Settings
from assistant.index.transfer import copy_version

from .web_process import ServerProcess, free_port

pytestmark = [pytest.mark.real_model, pytest.mark.timeout(600)]

NEW_DOC = """# Buurtkoks in Zoersel

De gemeente Zoersel start in het voorjaar met buurtkoks: inwoners koken elke donderdag samen met
nieuwkomers in het ontmoetingscentrum De Kring. Wie wil meekoken, meldt zich aan bij de dienst Samenleven.
"""
QUESTION = "Wanneer koken de buurtkoks in Zoersel samen met nieuwkomers?"


def _empty_data_dir(base: Path, name: str, models_dir: Path) -> Path:
    data = base / name
    data.mkdir(parents=True)
    (data / "models").symlink_to(models_dir.resolve(), target_is_directory=True)
    return data


def _replica(base: Path, name: str, models_dir: Path, url: str) -> ServerProcess:
    data = _empty_data_dir(base, name, models_dir)
    empty_corpus = base / f"{name}-corpus"
    empty_corpus.mkdir()
    port = free_port()
    env = {"WEGWIJZER_DATA_DIR": str(data), "WEGWIJZER_CORPUS_DIR": str(empty_corpus), "WEGWIJZER_DATABASE_URL": url,
           "WEGWIJZER_CORS_ORIGINS": "", "WEGWIJZER_ASK_RATE_LIMIT": "0"}
    args = ["-m", "bots.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return ServerProcess(args, base / f"{name}-log", env=env, port=port)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, pg_server, real_index_settings: Settings,  # type: ignore[no-untyped-def]
           models_dir: Path) -> Iterator[tuple[str, Path]]:
    from .pg import create_database, drop_database

    _, server_url = pg_server
    url = create_database(server_url)
    # the shipped corpus, as a published version in the database (moved, not embedded again)
    copy_version(idx.FileIndexStore(real_index_settings.index_dir), idx.open_store(
        real_index_settings.with_(database_url=url)))
    yield url, tmp_path_factory.mktemp("replicas")
    drop_database(server_url, url)


def _ask(server: ServerProcess, question: str = QUESTION) -> dict:  # type: ignore[type-arg]
    r = httpx.post(server.url + "/api/ask", json={"question": question}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _cites_new_doc(body: dict) -> bool:  # type: ignore[type-arg]
    return any(c["source"] == "buurtkoks.md" for c in body["citations"])


def test_two_replicas_serve_a_document_ingested_elsewhere(shared, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    url, base = shared
    with _replica(base, "r1", models_dir, url) as one, _replica(base, "r2", models_dir, url) as two:
        before = httpx.get(one.url + "/readyz", timeout=10).json()["index_version"]
        assert httpx.get(two.url + "/readyz", timeout=10).json()["index_version"] == before
        assert not _cites_new_doc(_ask(one)) and not _cites_new_doc(_ask(two))

        # an ingest from a third place: its own data directory (only the model) and the corpus
        corpus = base / "ingest-corpus"
        shutil.copytree(REPO_ROOT / "corpus", corpus)
        (corpus / "buurtkoks.md").write_text(NEW_DOC, encoding="utf-8")
        data = _empty_data_dir(base, "ingester", models_dir)
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WEGWIJZER_DATA_DIR": str(data),
               "WEGWIJZER_DATABASE_URL": url}
        done = subprocess.run([sys.executable, "-m", "bots.cli", "ingest", str(corpus), "--json", "--quiet"],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        published = time.monotonic()
        version = idx.open_store(Settings(data_dir=data, corpus_dir=corpus, database_url=url)).current_version()
        assert version != before
        assert not (data / "index").exists()

        # every replica serves the new version within 2 s, and cites the new document within 10 s
        switched: dict[str, float] = {}
        cited: dict[str, float] = {}
        while time.monotonic() - published < 10 and len(cited) < 2:
            for name, server in (("r1", one), ("r2", two)):
                if name not in switched and httpx.get(server.url + "/readyz", timeout=10).json().get(
                        "index_version") == version:
                    switched[name] = time.monotonic() - published
                if name not in cited and _cites_new_doc(_ask(server)):
                    cited[name] = time.monotonic() - published
            time.sleep(0.05)
        assert set(cited) == {"r1", "r2"}, (cited, one.log(), two.log())
        assert max(switched.values()) <= 2.0, switched

        # feedback on replica 2's answer, given through replica 1: one shared question log
        answer = _ask(two)
        r = httpx.post(one.url + "/api/feedback", json={"answer_id": answer["answer_id"], "helpful": True},
                       timeout=30)
        assert r.status_code in (200, 201), r.text
        from assistant.stores.feedback import PostgresFeedbackStore

        votes = [f for f in PostgresFeedbackStore(url).feedback() if f.answer_id == answer["answer_id"]]
        assert [v.helpful for v in votes] == [True] and votes[0].question == QUESTION


def test_a_replica_killed_mid_request_loses_nothing(shared, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from assistant.stores.feedback import PostgresFeedbackStore

    url, base = shared
    store = PostgresFeedbackStore(url)
    with _replica(base, "k1", models_dir, url) as one, _replica(base, "k2", models_dir, url) as two:
        kept = _ask(one, "Wat zijn pleinmakers?")
        assert store.lookup_answer(kept["answer_id"]) is not None  # stored before the answer was sent
        answers_before = len(PostgresFeedbackStore(url).db.rows("SELECT answer_id FROM wegwijzer.answers"))

        results: list[object] = []

        def in_flight() -> None:
            try:
                results.append(httpx.post(one.url + "/api/ask", json={"question": QUESTION}, timeout=30))
            except httpx.HTTPError as exc:
                results.append(exc)

        threads = [threading.Thread(target=in_flight) for _ in range(4)]
        for th in threads:
            th.start()
        time.sleep(0.05)
        os.killpg(one.pid, signal.SIGKILL)
        for th in threads:
            th.join(timeout=60)
        assert len(results) == 4

        # everything stored before the kill is still there, and the other replica uses it
        assert store.lookup_answer(kept["answer_id"]) is not None
        assert len(store.db.rows("SELECT answer_id FROM wegwijzer.answers")) >= answers_before
        r = httpx.post(two.url + "/api/feedback", json={"answer_id": kept["answer_id"], "helpful": False},
                       timeout=30)
        assert r.status_code in (200, 201), r.text
        assert _ask(two, "Wat zijn pleinmakers?")["citations"]

        # a replacement with a new, empty data directory serves the same version at once
        with _replica(base, "k3", models_dir, url) as three:
            assert httpx.get(three.url + "/readyz", timeout=10).json()["index_version"] == \
                httpx.get(two.url + "/readyz", timeout=10).json()["index_version"]
            assert _ask(three, "Wat zijn pleinmakers?")["citations"]
