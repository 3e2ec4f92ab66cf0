"""Closing releases what was opened: an index version's connections (from every thread), and what a web
service's assistant holds, so that a long-running process or test run does not leak file descriptors."""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

from fastapi.testclient import TestClient

from assistant import Assistant
from assistant import index as idx
from assistant.config import Settings
from bots.web.app import create_app
from tests.fakes import FakeEmbedder


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def _database_files() -> list[str]:
    """Open descriptors of this process that point at a SQLite file of an index version."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "/versions/" in target and target.endswith(".sqlite3"):
            out.append(target)
    return out


def test_a_reader_closes_the_connections_of_every_thread(fake_index_readonly: Settings) -> None:
    reader = idx.FileIndexStore(fake_index_readonly.index_dir).open()
    before = len(_database_files())

    def read() -> None:
        assert reader.passages([0])

    threads = [threading.Thread(target=read) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    read()
    assert len(_database_files()) >= before + 7  # a connection per thread, the calling one included
    reader.close()
    assert len(_database_files()) == before
    assert reader.passages([0])  # usable again afterwards: a new connection for this thread
    reader.close()


def test_an_assistant_releases_its_index_and_conversations_when_closed(fake_index: Settings,
                                                                       fake_embedder: FakeEmbedder) -> None:
    before = _open_files()
    for _ in range(3):
        assistant = Assistant.load(settings=fake_index, embedder=fake_embedder)
        assistant.ask("Hoe betrek je nieuwkomers bij het beleid?", conversation="a" * 32)
        assistant.close()
        del assistant
    gc.collect()
    assert _open_files() <= before  # nothing grows with every assistant opened and closed


def test_a_web_service_run_again_and_again_does_not_leak_descriptors(fake_index: Settings,
                                                                      fake_embedder: FakeEmbedder,
                                                                      tmp_path: Path) -> None:
    def one_run() -> None:
        app = create_app(fake_index, embedder=fake_embedder)
        with TestClient(app) as client:
            assert client.post("/api/ask", json={"question": "Hoe betrek je nieuwkomers?"}).status_code == 200

    one_run()  # first run: lazily created stores and caches of the process
    gc.collect()
    before = _open_files()
    for _ in range(4):
        one_run()
    gc.collect()
    assert _open_files() <= before
