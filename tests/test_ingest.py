"""Ingestion on the fake embedder: incremental updates, bad files, the lock, atomic publication."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant import Assistant
from assistant import index as idx
from assistant.config import Settings
from assistant.errors import IngestBusyError, ModelMismatchError, WegwijzerError
from assistant.text.facts import NAME, Fact
from ingest.build import ingest

from .fakes import FakeEmbedder
from .pdfs import make_corrupt_pdf, make_encrypted_pdf, make_pdf, make_textless_pdf


def test_first_ingest_indexes_every_document(fake_index: Settings) -> None:
    reader = idx.open_index(fake_index.index_dir)
    manifest = reader.manifest
    assert manifest.format_version == idx.FORMAT_VERSION == 3
    assert len(manifest.documents) == 5
    assert manifest.model.name == "fake-trigram"
    assert manifest.chunker["target_chars"] == 900
    for info in manifest.documents:
        assert len(info.sha256) == 64 and info.passages > 0
    # every passage is split into sentences, each with a vector, spans inside the passage and its facts
    assert manifest.sentence_count > manifest.passage_count
    sentences = reader.sentences(range(manifest.passage_count))
    assert len(sentences) == manifest.sentence_count
    passages = {p.id: p for p in reader.passages(range(manifest.passage_count))}
    for s in sentences:
        assert 0 <= s.start < s.end <= len(passages[s.passage_id].text)
    assert reader.sentence_vectors([0, 1]).shape == (2, manifest.model.dim)
    assert any("24 acties" in s.facts for s in sentences)


def test_an_index_of_format_1_asks_for_a_reindex(fake_index: Settings, fake_embedder: FakeEmbedder) -> None:
    vdir = fake_index.index_dir / idx.VERSIONS / idx.current_version(fake_index.index_dir)
    (vdir / "manifest.json").write_text(json.dumps({"format_version": 1, "version_id": vdir.name}))
    with pytest.raises(WegwijzerError, match="formaatversie 1.*wegwijzer ingest"):
        Assistant.load(settings=fake_index, embedder=fake_embedder)
    report = ingest(fake_index, embedder=fake_embedder)  # the re-index it asks for works without clean-up
    assert report.ok and not report.unchanged and report.documents_embedded == 5


def test_catalog_titles_are_used(fake_index: Settings, fake_embedder: FakeEmbedder) -> None:
    docs = {d["source"]: d for d in Assistant.load(settings=fake_index, embedder=fake_embedder).documents()}
    assert docs["inclucities-toolkit-stad-voor-iedereen.md"]["kind"] == "toolkit"
    assert docs["vvsg-memorandum-migratie-en-integratie.txt"]["title"].startswith("VVSG")


def test_reingest_embeds_only_changed_documents(fake_index: Settings, fake_embedder: FakeEmbedder) -> None:
    corpus = fake_index.corpus_dir
    before = fake_embedder.passages_embedded
    published = idx.current_version(fake_index.index_dir)
    report = ingest(fake_index, embedder=fake_embedder)
    assert report.passages_embedded == 0 and report.documents_reused == 5
    assert fake_embedder.passages_embedded == before
    assert report.unchanged and report.version_id == published == idx.current_version(fake_index.index_dir)

    (corpus / "nieuw.md").write_text("# Nieuwe nota\n\nDe gemeente Zoersel start met buurtkoks die samen koken.\n",
                                     encoding="utf-8")
    (corpus / "studiedag-participatief-integratiebeleid-aankondiging.txt").unlink()
    report = ingest(fake_index, embedder=fake_embedder)
    assert report.documents_embedded == 1 and report.documents_reused == 4 and report.documents_removed == 1
    assert report.passages_embedded == 1
    docs = {d["source"] for d in Assistant.load(settings=fake_index, embedder=fake_embedder).documents()}
    assert "nieuw.md" in docs and "studiedag-participatief-integratiebeleid-aankondiging.txt" not in docs
    # a document missing from the catalog gets a title from its content
    nieuw = [d for d in Assistant.load(settings=fake_index, embedder=fake_embedder).documents()
             if d["source"] == "nieuw.md"][0]
    assert nieuw["title"] == "Nieuwe nota"


def test_reingest_publishes_facts_read_by_a_changed_detector(fake_index: Settings, fake_embedder: FakeEmbedder,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.build as build

    published = idx.current_version(fake_index.index_dir)
    real = build.facts_in
    monkeypatch.setattr(build, "facts_in", lambda text: [*real(text), Fact(NAME, "Testnaam")])
    report = ingest(fake_index, embedder=fake_embedder)
    assert not report.unchanged and report.passages_embedded == 0 and report.version_id != published
    reader = idx.open_index(fake_index.index_dir)
    assert all("Testnaam" in s.facts for s in reader.sentences(range(reader.passage_count)))
    assert ingest(fake_index, embedder=fake_embedder).unchanged  # and then nothing changes any more


def test_bad_files_are_reported_and_skipped(settings: Settings, fake_embedder: FakeEmbedder) -> None:
    corpus = settings.corpus_dir
    make_corrupt_pdf(corpus / "kapot.pdf")
    make_encrypted_pdf(corpus / "beveiligd.pdf")
    (corpus / "leeg.txt").write_bytes(b"")
    make_textless_pdf(corpus / "scan.pdf")
    (corpus / "notities.docx").write_bytes(b"PK\x03\x04")
    (corpus / "begroting.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    report = ingest(settings, embedder=fake_embedder)
    reasons = {s["source"]: s["reason"] for s in report.skipped}
    assert "beschadigd" in reasons["kapot.pdf"]
    assert "wachtwoord" in reasons["beveiligd.pdf"]
    assert "leeg" in reasons["leeg.txt"]
    assert "geen leesbare tekst" in reasons["scan.pdf"]
    assert "beschadigd" in reasons["notities.docx"]
    assert "niet ondersteund" in reasons["begroting.xls"]
    assert report.documents == 5 and report.ok


def test_second_concurrent_ingest_is_refused(fake_index: Settings, fake_embedder: FakeEmbedder) -> None:
    with idx.IngestLock(fake_index.index_dir), pytest.raises(IngestBusyError, match="loopt al een indexering"):
        ingest(fake_index, embedder=fake_embedder)


def test_failed_ingest_keeps_the_published_index(fake_index: Settings, fake_embedder: FakeEmbedder) -> None:
    before = idx.current_version(fake_index.index_dir)
    empty = fake_index.corpus_dir.parent / "leeg"
    empty.mkdir()
    with pytest.raises(WegwijzerError, match="Geen enkel document"):
        ingest(fake_index, corpus_dir=empty, embedder=fake_embedder)
    assert idx.current_version(fake_index.index_dir) == before
    last = idx.read_last_ingest(fake_index.index_dir)
    assert last is not None and last["ok"] is False


def test_interrupted_write_leaves_no_partial_version(fake_index: Settings, fake_embedder: FakeEmbedder,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = idx.current_version(fake_index.index_dir)
    (fake_index.corpus_dir / "extra.txt").write_text("Een extra document over samenleven in diversiteit.")

    def boom(*a: object, **k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(idx.files, "_write_database", boom)
    with pytest.raises(WegwijzerError, match="No space left.*vorige index blijft in gebruik"):
        ingest(fake_index, embedder=fake_embedder)
    assert idx.current_version(fake_index.index_dir) == before
    leftovers = [p.name for p in (fake_index.index_dir / idx.VERSIONS).iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []
    idx.open_index(fake_index.index_dir)  # still whole


def test_new_format_version_is_refused(fake_index: Settings, fake_embedder: FakeEmbedder) -> None:
    vdir = fake_index.index_dir / idx.VERSIONS / idx.current_version(fake_index.index_dir)
    data = json.loads((vdir / "manifest.json").read_text())
    data["format_version"] = idx.FORMAT_VERSION + 1
    (vdir / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(WegwijzerError, match="formaatversie"):
        Assistant.load(settings=fake_index, embedder=fake_embedder)


def test_queries_from_another_model_are_refused(fake_index: Settings) -> None:
    with pytest.raises(ModelMismatchError, match="ander taalmodel"):
        Assistant.load(settings=fake_index, embedder=FakeEmbedder(name="other-model"))


def test_assistant_follows_a_new_published_version(fake_index: Settings, fake_embedder: FakeEmbedder) -> None:
    a = Assistant.load(settings=fake_index, embedder=fake_embedder, follow=False)  # no race with the thread
    old = a.version
    make_pdf(fake_index.corpus_dir / "bijlage.pdf", ["Bijlage over de buurtkoks van Zoersel."])
    ingest(fake_index, embedder=fake_embedder)
    assert a.refresh(force=True) is True
    assert a.version != old
    assert any(d["source"] == "bijlage.pdf" for d in a.documents())


def test_old_versions_are_pruned(fake_index: Settings, fake_embedder: FakeEmbedder) -> None:
    for i in range(5):
        (fake_index.corpus_dir / "wissel.txt").write_text(f"Versie {i} van een wisselend document over taal.")
        ingest(fake_index, embedder=fake_embedder)
    versions = [p for p in (fake_index.index_dir / idx.VERSIONS).iterdir()]
    assert len(versions) <= 3
    assert idx.current_version(fake_index.index_dir) in {p.name for p in versions}


def test_missing_corpus_is_a_clear_error(settings: Settings, fake_embedder: FakeEmbedder, tmp_path: Path) -> None:
    shutil.rmtree(settings.corpus_dir)
    with pytest.raises(WegwijzerError, match="bestaat niet"):
        ingest(settings, embedder=fake_embedder)


def test_questions_never_wait_for_a_new_version_to_load(fake_index: Settings, fake_embedder: FakeEmbedder,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    a = Assistant.load(settings=fake_index, embedder=fake_embedder)
    old = a.version
    release = threading.Event()
    real_open = a._open

    def slow_open(version: str | None):  # type: ignore[no-untyped-def]
        release.wait(10)
        return real_open(version)

    monkeypatch.setattr(a, "_open", slow_open)
    (fake_index.corpus_dir / "extra.txt").write_text("Een nieuw document over buurtkoks in Zoersel.")
    ingest(fake_index, embedder=fake_embedder)
    time.sleep(1.0)  # the watcher has seen the new version and is loading it (held up by slow_open)
    started = time.monotonic()
    assert a.ask("buurtkoks").index_version == old  # answered from memory while the new version loads
    assert time.monotonic() - started < 2
    release.set()
    deadline = time.monotonic() + 10
    while a.version == old and time.monotonic() < deadline:
        time.sleep(0.05)
    assert a.version != old
    a.close()


def test_an_idle_assistant_follows_a_new_version_within_a_second(fake_index: Settings,
                                                                 fake_embedder: FakeEmbedder) -> None:
    import time

    a = Assistant.load(settings=fake_index, embedder=fake_embedder)
    old = a.version
    (fake_index.corpus_dir / "extra.txt").write_text("Een nieuw document over buurtkoks in Zoersel.")
    report = ingest(fake_index, embedder=fake_embedder)
    published = time.monotonic()
    while a.version == old and time.monotonic() - published < 5:
        time.sleep(0.02)
    assert a.version == report.version_id
    assert time.monotonic() - published < 1.0  # no question asked: the watcher thread switched
    assert any(d["source"] == "extra.txt" for d in a.documents())
    a.close()
