"""docs/operations.md tells the truth about the data directory (issue 20: it listed passages.jsonl and pages.jsonl
in a version folder and missed state files in its backup advice).

The data directory block of operations.md is parsed (one entry a line) and compared, both ways, with a data
directory after an ingest, a served question with feedback, a /beheer sign-in, a re-index job, the watcher's
lock and the metrics folder of ``serve``. Entries the docs mark "(only ...)" may be absent; every other one
must exist, and everything that exists must be listed.
"""

from __future__ import annotations

import re
import time
from fnmatch import fnmatch
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.config import DEFAULT_MODEL, REPO_ROOT, Settings
from bots.web import create_app
from bots.web.server import prepare_metrics_dir
from ingest.jobs import Reindexer
from ingest.watch import CorpusWatcher

from .conftest import shared_models_dir
from .fakes import FakeEmbedder

pytestmark = pytest.mark.timeout(180)

OPERATIONS = REPO_ROOT / "docs" / "operations.md"
TOKEN = "docs-" + "t" * 40


def documented() -> dict[str, bool]:
    """The entries of operations.md's data directory block: relative path -> required (not marked "(only")."""
    text = OPERATIONS.read_text(encoding="utf-8")
    block = re.search(r"```\n/var/lib/wegwijzer/\n(.*?)```", text, re.S)
    assert block, "operations.md has no data directory block"
    out = {}
    for line in block.group(1).splitlines():
        path, _, description = line.strip().partition(" ")
        assert path, line
        out[path] = not description.strip().startswith("(only")
    return out


def _actual(data_dir: Path, version: str, port: int) -> set[str]:
    """The entries present, named as the docs name them (<id>, <port>; folders with a trailing slash)."""
    found = set()
    for path in data_dir.rglob("*"):
        rel = path.relative_to(data_dir).as_posix()
        parts = rel.split("/")
        if parts[0] == "index" and len(parts) >= 3 and parts[1] == "versions":
            if len(parts) > 4:
                continue
            name = parts[2].replace(version, "<id>")
            rel = "/".join(["index", "versions", name, *parts[3:]])
            if len(parts) == 3:
                continue  # the version folder itself: its files are listed
        elif parts[0] == "metrics":
            if len(parts) != 2:
                continue
            rel = "metrics/<port>"
        elif parts[0] in ("models", "postgres") and len(parts) > 1:
            continue
        if parts[0] == "index" and "lexical" in parts[3:-1]:
            continue  # inside lexical/
        found.add(rel + "/" if path.is_dir() and not path.is_symlink() else rel)
    return found


def test_the_version_folder_holds_exactly_the_files_the_docs_list(fake_index: Settings) -> None:
    version = (fake_index.index_dir / "current").resolve()
    listed = {p.removeprefix("index/versions/<id>/") for p in documented() if p.startswith("index/versions/<id>/")}
    present = {p.name + ("/" if p.is_dir() else "") for p in version.iterdir()}
    assert present == listed, f"docs list {sorted(listed)}, a version folder holds {sorted(present)}"


def test_the_data_directory_holds_what_the_docs_list_and_nothing_else(fake_index: Settings,
                                                                       fake_embedder: FakeEmbedder) -> None:
    settings = fake_index.with_(admin_token=TOKEN)
    jobs = Reindexer(settings, embedder_factory=FakeEmbedder)
    with TestClient(create_app(settings, embedder=fake_embedder, jobs=jobs)) as client:
        asked = client.post("/api/ask", json={"question": "Wat doet de stad voor nieuwkomers?"})
        assert asked.status_code == 200
        follow = client.post("/api/ask", json={"question": "En in Gent?",
                                               "conversation_id": asked.json()["conversation_id"]})
        assert follow.status_code == 200
        assert client.post("/api/feedback", json={"answer_id": asked.json()["answer_id"],
                                                  "helpful": True}).status_code == 200
        csrf = client.post("/beheer/api/login", json={"token": TOKEN}).json()["csrf"]
        ticket = client.post("/beheer/api/reindex", headers={"x-csrf-token": csrf})
        assert ticket.status_code == 202, ticket.text
        deadline = time.monotonic() + 90
        while not (job := jobs.status().current) or not job.finished:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    watcher = CorpusWatcher(settings, jobs)
    assert watcher._claim()
    watcher._lock.release()
    prepare_metrics_dir(settings)

    docs = documented()
    version = (settings.index_dir / "current").resolve().name
    present = _actual(settings.data_dir, version, settings.port)
    models = f"models/{DEFAULT_MODEL}/"
    assert models in docs and (shared_models_dir() / DEFAULT_MODEL).is_dir()  # where the model is materialised
    missing = {p for p, required in docs.items() if required and p != models} - present
    assert not missing, f"operations.md lists {sorted(missing)}, which a data directory does not hold"
    folders = {p.rsplit("/", 2)[0] + "/" for p in docs if "/" in p.rstrip("/")}  # index/, index/versions/, ...
    folders |= {f.rsplit("/", 2)[0] + "/" for f in folders if "/" in f.rstrip("/")}
    unlisted = {p for p in present - folders if not any(fnmatch(p, d) for d in docs)}
    assert not unlisted, f"a data directory holds {sorted(unlisted)}, which operations.md does not list"


def test_the_docs_name_modules_that_exist() -> None:
    """Module paths in the operations and design docs and the README point at files that are there."""
    for doc in (*sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "README.md"):
        text = doc.read_text(encoding="utf-8")
        for path in sorted(set(re.findall(r"`((?:assistant|ingest|bots|tests|bench|scripts|deploy)/[\w/.-]+)`",
                                          text))):
            target = REPO_ROOT / path.rstrip("/")
            assert target.exists(), f"{doc.name} names {path}, which does not exist"
