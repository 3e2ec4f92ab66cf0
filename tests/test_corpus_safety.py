"""Nothing is published that nobody chose to publish (issue 21): only regular files inside the corpus folder.

A symbolic link to a file outside the folder, a FIFO, a socket, a link to a folder: ingest reports each by
name with its Dutch reason and never reads it (a FIFO must not hang the job); the views never show one; the
admin can delete whatever the index holds, the link and never its target. The last test does it all on a
running `wegwijzer serve` with its watcher and the real model.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.errors import DocumentError
from bots.texts import t
from bots.web import create_app
from ingest import corpuspath
from ingest.build import ingest
from ingest.jobs import Reindexer
from ingest.loaders import discover
from ingest.watch import CorpusWatcher, scan

from .fakes import FakeEmbedder
from .web_process import wegwijzer_serve
from .web_support import copy_index

TOKEN = "corpus-veilig-789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "paarse-olifant-4711"
SECRET_TEXT = (f"# Kluis van het stadhuis\n\nHet geheime wachtwoord van de kluis in het stadhuis is {SECRET}. "
               "Alleen de stadssecretaris kent de code van de kluis.\n")
SYMLINK_REASON = t("doc.symlink")
FIFO_REASON = t("doc.special", kind=t("doc.special_fifo"))


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file outside the corpus folder that the service can read (as /etc/passwd or a settings file)."""
    path = tmp_path / "buiten" / "geheim.md"
    path.parent.mkdir()
    path.write_text(SECRET_TEXT, encoding="utf-8")
    return path


def _no_secret(value: Any) -> None:
    assert SECRET not in json.dumps(value, ensure_ascii=False)


def _with_timeout(call: Any, seconds: float) -> Any:
    """Run ``call`` in a thread; fail (rather than hang the suite) when it takes longer than ``seconds``."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = call()
        except BaseException as exc:  # handed to the test thread
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s (blocked on a FIFO?)"
    if "error" in out:
        raise out["error"]
    return out.get("value")


# ---------------------------------------------------------------- the rule itself


def test_discover_reports_links_fifos_sockets_and_linked_folders(tmp_path: Path, secret_file: Path) -> None:
    root = tmp_path / "corpus"
    (root / "map").mkdir(parents=True)
    (root / "gewoon.md").write_text("# Gewoon\n\nEen gewoon document.\n")
    (root / "map" / "ook.md").write_text("# Ook\n\nOok gewoon.\n")
    (root / "buiten.md").symlink_to(secret_file)
    (root / "binnen.md").symlink_to(root / "gewoon.md")  # refused too: a link inside is still a link
    (root / "linkmap").symlink_to(secret_file.parent, target_is_directory=True)
    os.mkfifo(root / "pijp.md")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sok.md"))
    try:
        files, skipped = _with_timeout(lambda: discover(root), 10)
    finally:
        sock.close()
    assert [s for _, s in files] == ["gewoon.md", "map/ook.md"]
    reasons = dict(skipped)
    assert reasons["buiten.md"] == SYMLINK_REASON and reasons["binnen.md"] == SYMLINK_REASON
    assert reasons["linkmap"] == SYMLINK_REASON  # a linked folder is never walked into
    assert reasons["pijp.md"] == FIFO_REASON
    assert reasons["sok.md"] == t("doc.special", kind=t("doc.special_socket"))
    assert not any(s.startswith("linkmap/") for s in reasons)
    assert set(scan(root)) == {"gewoon.md", "map/ook.md", "buiten.md", "binnen.md", "linkmap", "pijp.md",
                               "sok.md"}  # the watcher sees them (and so starts a job that reports them)


def test_open_regular_follows_no_link_anywhere_in_the_path(tmp_path: Path, secret_file: Path) -> None:
    root = tmp_path / "corpus"
    (root / "map").mkdir(parents=True)
    (root / "map" / "echt.md").write_text("echt")
    (root / "linkmap").symlink_to(secret_file.parent, target_is_directory=True)
    (root / "link.md").symlink_to(secret_file)
    os.mkfifo(root / "pijp.md")
    with corpuspath.reading(root, "map/echt.md") as readable:
        assert readable.read_text() == "echt"
    for source, reason in (("link.md", SYMLINK_REASON), ("linkmap/geheim.md", SYMLINK_REASON),
                           ("pijp.md", FIFO_REASON), ("../buiten/geheim.md", t("doc.outside")),
                           (str(secret_file), t("doc.outside")), ("map/../link.md", t("doc.outside"))):
        with pytest.raises(DocumentError) as caught:
            _with_timeout(lambda s=source: corpuspath.open_regular(root, s), 5)
        assert caught.value.reason == reason, source
    with pytest.raises(FileNotFoundError):  # a file where a folder should be is no path, not a link
        corpuspath.open_regular(root, "map/echt.md/x.md")
    assert corpuspath.refusal(root, "link.md") == SYMLINK_REASON
    assert corpuspath.refusal(root, "map/echt.md") is None and corpuspath.refusal(root, "weg.md") is None


def test_a_fifo_and_an_outside_link_are_reported_and_never_read(settings: Settings, fake_embedder: FakeEmbedder,
                                                                secret_file: Path) -> None:
    corpus = settings.corpus_dir
    (corpus / "kluis.md").symlink_to(secret_file)
    os.mkfifo(corpus / "wachtrij.md")  # nobody ever writes to it: opening it for reading would block
    report = _with_timeout(lambda: ingest(settings, embedder=fake_embedder), 120)
    skipped = {item["source"]: item["reason"] for item in report.skipped}
    assert skipped["kluis.md"] == SYMLINK_REASON and skipped["wachtrij.md"] == FIFO_REASON
    assert report.documents > 0 and report.ok
    from assistant import Assistant

    a = Assistant.load(settings=settings, embedder=fake_embedder)
    assert "kluis.md" not in {d["source"] for d in a.documents()} and a.document("kluis.md") is None
    _no_secret(a.ask("Wat is het geheime wachtwoord van de kluis in het stadhuis?").to_dict())


def test_a_link_swapped_in_after_discovery_is_not_read(settings: Settings, fake_embedder: FakeEmbedder,
                                                       secret_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check and the read are one: a regular file replaced by a link between them is refused."""
    import ingest.build as build

    corpus = settings.corpus_dir
    (corpus / "nota.md").write_text("# Nota\n\nEen gewone nota over inburgering.\n")
    real_discover = build.discover

    def discover_then_swap(root: Path) -> Any:
        found = real_discover(root)
        (corpus / "nota.md").unlink()
        (corpus / "nota.md").symlink_to(secret_file)  # the race an attacker on the share would try
        return found

    monkeypatch.setattr(build, "discover", discover_then_swap)
    report = ingest(settings, embedder=fake_embedder)
    assert {"source": "nota.md", "reason": SYMLINK_REASON} in report.skipped


def test_a_linked_or_fifo_catalog_is_never_read(tmp_path: Path) -> None:
    from ingest.catalog import CatalogError, read_catalog, update_entry

    outside = tmp_path / "elders.toml"
    outside.write_text('["nota.md"]\ntitle = "token-uit-een-instellingenbestand"\n')
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "catalog.toml").symlink_to(outside)
    entries, problems = read_catalog(root)
    assert entries == {} and SYMLINK_REASON in problems[0]
    with pytest.raises(CatalogError):
        update_entry(root, "nota.md", {"title": "Nota"})
    assert "token" in outside.read_text()  # untouched, and never copied into the corpus
    (root / "catalog.toml").unlink()
    os.mkfifo(root / "catalog.toml")
    assert _with_timeout(lambda: read_catalog(root), 5)[0] == {}
    with pytest.raises(CatalogError):
        _with_timeout(lambda: update_entry(root, "nota.md", {"title": "Nota"}), 5)


# ---------------------------------------------------------------- an index an older version built


@pytest.fixture
def old_index(settings: Settings, fake_embedder: FakeEmbedder, secret_file: Path) -> Settings:
    """An index that holds ``kluis.md`` while the corpus entry is a link to a file outside the folder.

    That is what an older version left behind: it followed the link. Here the file is indexed while it is
    a regular file with the secret text, then replaced by the link.
    """
    entry = settings.corpus_dir / "kluis.md"
    shutil.copy(secret_file, entry)
    ingest(settings, embedder=fake_embedder)
    entry.unlink()
    entry.symlink_to(secret_file)
    return settings.with_(admin_token=TOKEN, upload_rate_limit=0)


@pytest.fixture
def old_web(old_index: Settings, fake_embedder: FakeEmbedder) -> Iterator[TestClient]:
    jobs = Reindexer(old_index, embedder_factory=FakeEmbedder)
    with TestClient(create_app(old_index, embedder=fake_embedder, jobs=jobs), raise_server_exceptions=False) as c:
        yield c


def test_views_hide_what_an_older_version_indexed_through_a_link(old_web: TestClient, old_index: Settings) -> None:
    listed = old_web.get("/api/documents").json()
    assert listed and "kluis.md" not in {d["source"] for d in listed}
    _no_secret(listed)
    assert old_web.get("/documents/kluis.md").status_code == 404
    assert old_web.get("/files/kluis.md").status_code == 404
    assert "kluis.md" not in old_web.get("/documents").text
    # the watcher re-indexes at start, so the link also leaves the index (and the answers)
    watcher = CorpusWatcher(old_index, Reindexer(old_index, embedder_factory=FakeEmbedder))
    assert watcher._index_is_stale(scan(old_index.corpus_dir))


def test_the_admin_api_deletes_an_indexed_link_and_not_its_target(old_web: TestClient, old_index: Settings,
                                                                   secret_file: Path) -> None:
    r = old_web.delete("/api/admin/documents/kluis.md", headers=ADMIN, params={"reindex": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "kluis.md"
    assert not os.path.lexists(old_index.corpus_dir / "kluis.md")
    assert secret_file.read_text(encoding="utf-8") == SECRET_TEXT  # the target is untouched
    job = r.json()["reindex"]["job"]["id"]
    deadline = time.monotonic() + 120
    while (state := old_web.get(f"/api/admin/reindex/{job}", headers=ADMIN).json()["state"]) not in ("done",
                                                                                                      "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert state == "done"
    from assistant import index as idx

    store = idx.open_store(old_index)
    version = store.current_version()
    assert version and "kluis.md" not in {d.source for d in store.read_manifest(version).documents}


def test_the_admin_page_deletes_an_indexed_link_too(old_web: TestClient, old_index: Settings,
                                                    secret_file: Path) -> None:
    r = old_web.post("/beheer/api/login", json={"token": TOKEN})
    csrf = {"X-CSRF-Token": r.json()["csrf"]}
    rows = {row["source"]: row for row in old_web.get("/beheer/api/documents").json()["documents"]}
    assert rows["kluis.md"]["status"] == "skipped" and rows["kluis.md"]["reason"] == SYMLINK_REASON
    assert rows["kluis.md"]["in_index"]
    r = old_web.delete("/beheer/api/documents/kluis.md", headers=csrf)
    assert r.status_code == 200, r.text
    assert not os.path.lexists(old_index.corpus_dir / "kluis.md") and secret_file.exists()


def test_delete_still_refuses_what_is_neither_indexed_nor_a_document(old_web: TestClient,
                                                                     old_index: Settings) -> None:
    (old_index.corpus_dir / "map").mkdir()
    for source in ("map", "../buiten/geheim.md", "catalog.toml", ".verborgen.md", "bestaat-niet.md"):
        r = old_web.delete(f"/api/admin/documents/{source}", headers=ADMIN)
        assert r.status_code == 404, (source, r.text)
    assert (old_index.corpus_dir / "map").is_dir()


def test_an_upload_never_replaces_a_link(old_web: TestClient, old_index: Settings, secret_file: Path) -> None:
    (old_index.corpus_dir / "binnen.md").symlink_to(old_index.corpus_dir / "kluis.md")
    for name in ("kluis.md", "binnen.md"):
        r = old_web.post("/api/admin/documents", params={"replace": "true"}, headers=ADMIN,
                         files={"file": (name, b"# Nieuw\n\nOverschreven tekst.\n", "text/markdown")})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_filename", r.text
    assert secret_file.read_text(encoding="utf-8") == SECRET_TEXT


# ---------------------------------------------------------------- a running server, its watcher, the real model


def _jobs(settings: Settings) -> list[dict[str, Any]]:
    path = settings.index_dir / "job.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return [j for j in (data.get("current"), data.get("next"), *data.get("history", [])) if j]


@pytest.mark.real_model
@pytest.mark.timeout(600)
def test_a_link_dropped_into_the_watched_folder_of_a_running_server_is_never_published(
        tmp_path: Path, real_index_settings: Settings, models_dir: Path, secret_file: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(real_index_settings.corpus_dir, corpus)
    s = copy_index(real_index_settings, Settings(data_dir=tmp_path / "data", corpus_dir=corpus))
    (s.data_dir / "models").symlink_to(models_dir.resolve(), target_is_directory=True)
    question = "Wat is het geheime wachtwoord van de kluis in het stadhuis?"
    with wegwijzer_serve(s.data_dir, s.corpus_dir, tmp_path / "log", WEGWIJZER_WATCH_QUIET_S="1",
                         WEGWIJZER_WATCH_POLL_S="0.5", WEGWIJZER_ASK_RATE_LIMIT="0") as server:
        deadline = time.monotonic() + 120
        while any(j["state"] in ("queued", "running") for j in _jobs(s)):  # a start-up job, if any
            assert time.monotonic() < deadline
            time.sleep(0.2)
        known = {j["id"] for j in _jobs(s)}
        (corpus / "kluis.md").symlink_to(secret_file)  # what the red team did with /etc/passwd
        os.mkfifo(corpus / "wachtrij.md")  # and a FIFO, which must not hang the job
        deadline = time.monotonic() + 180
        while True:
            done = [j for j in _jobs(s) if j["id"] not in known and j["state"] in ("done", "failed")]
            if done:
                break
            assert time.monotonic() < deadline, _jobs(s)
            time.sleep(0.3)
        job = done[0]
        assert job["state"] == "done" and job["channels"] == ["watch"], job
        skipped = {item["source"]: item["reason"] for item in job["report"]["skipped"]}
        assert skipped.get("kluis.md") == SYMLINK_REASON and skipped.get("wachtrij.md") == FIFO_REASON
        with httpx.Client(base_url=server.url, timeout=60) as c:
            listed = c.get("/api/documents").json()
            assert {d["source"] for d in listed} == {source for _, source in discover(corpus)[0]}  # no kluis.md
            assert c.get("/documents/kluis.md").status_code == 404
            assert c.get("/files/kluis.md").status_code == 404
            for q in (question, "Wie kent de code van de kluis van het stadhuis?"):
                body = c.post("/api/ask", json={"question": q}).json()
                assert "kluis.md" not in {p["source"] for p in body["citations"] + body["related"]}, body
                _no_secret(body)
