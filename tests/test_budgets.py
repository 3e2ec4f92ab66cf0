"""Per-document budgets (issue 20, item 7): every cap with small budgets, so a hostile file fails fast here.

The hostile files are built on the fly (tests/hostile.py); bench/hostile_files.py runs them with the real
budgets and the real model through re-index jobs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assistant import index as idx
from assistant.config import Settings
from assistant.errors import DocumentError
from bots.texts import t
from ingest import build
from ingest.budgets import FAILED_FILE, Budgets, read_isolated
from ingest.build import ingest
from ingest.chunking import ChunkerSettings
from ingest.formats import detect
from ingest.formats.ocr import DPI, render_scale
from ingest.formats.sniff import sniff
from ingest.jobs import Reindexer
from ingest.jobstate import DONE

from .fakes import FakeEmbedder
from .hostile import make_expanding_docx, make_expanding_odt, make_nested_html, make_page_bomb_pdf, make_pdf_magic_late
from .jobs_support import add_document, wait_for_job
from .pdfs import make_pdf

pytestmark = pytest.mark.timeout(240)


def _read(path: Path, **budgets: object) -> object:
    return read_isolated(path, path.name, ChunkerSettings(), Budgets(**budgets))  # type: ignore[arg-type]


def _small(settings: Settings, **fields: object) -> Settings:
    return settings.with_(**fields)


# ---------------------------------------------------------------- magic bytes at offset 0


def test_pdf_magic_counts_only_at_offset_zero(tmp_path: Path) -> None:
    late = make_pdf_magic_late(tmp_path / "nota.pdf")
    assert sniff(late).kind == "text"
    with pytest.raises(DocumentError) as err:
        detect(late, "nota.pdf")
    assert err.value.reason == t("doc.wrong_suffix", suffix=".pdf", kind="een tekstbestand")
    # the same bytes as a .txt are just text now (they used to be refused as "actually a PDF")
    note = tmp_path / "nota.txt"
    note.write_bytes(late.read_bytes())
    assert detect(note, "nota.txt").name == "txt"
    assert sniff(make_pdf(tmp_path / "echt.pdf", ["Een echte PDF."])).kind == "pdf"
    (tmp_path / "voorloop.pdf").write_bytes(b"\n" + (tmp_path / "echt.pdf").read_bytes())
    assert sniff(tmp_path / "voorloop.pdf").kind != "pdf"


# ---------------------------------------------------------------- OCR: pixels and memory


def test_render_scale_keeps_a_page_within_the_pixel_budget() -> None:
    a4 = render_scale(595, 842, 35e6)
    assert a4 == DPI / 72  # an ordinary page renders at full resolution
    huge = render_scale(7200, 7200, 35e6)
    assert (7200 * huge) ** 2 <= 35e6 * 1.0001 and huge < a4
    assert render_scale(0, 0, 35e6) == DPI / 72  # a degenerate page does not divide by zero


def test_an_ocr_page_bomb_is_rendered_within_the_pixel_budget(tmp_path: Path) -> None:
    bomb = make_page_bomb_pdf(tmp_path / "bom.pdf")
    assert bomb.stat().st_size < 1024
    started = time.monotonic()
    with pytest.raises(DocumentError) as err:  # bars, no words: read, found unreadable, reported
        _read(bomb, ocr_max_megapixels=4, parse_memory_mb=300, parse_timeout_s=60)
    assert err.value.reason == t("doc.scan_unreadable")
    assert time.monotonic() - started < 60


def test_without_a_pixel_budget_the_memory_cap_stops_the_page_bomb(tmp_path: Path) -> None:
    bomb = make_page_bomb_pdf(tmp_path / "bom.pdf")
    with pytest.raises(DocumentError) as err:  # 900 million pixels do not fit in 200 MB
        _read(bomb, ocr_max_megapixels=10_000, parse_memory_mb=200, parse_timeout_s=60)
    assert err.value.reason in (t("doc.budget_memory", limit=200), t("doc.budget_crashed", limit=200))


# ---------------------------------------------------------------- parse time and memory


def test_a_parse_that_takes_too_long_is_stopped_at_the_budget(tmp_path: Path) -> None:
    html = make_nested_html(tmp_path / "genest.html", megabytes=2.0)
    started = time.monotonic()
    with pytest.raises(DocumentError) as err:
        _read(html, parse_timeout_s=2)
    assert err.value.reason == t("doc.budget_time", limit="2")
    assert time.monotonic() - started < 6  # killed, not waited for


def test_a_parse_that_needs_too_much_memory_is_stopped(tmp_path: Path) -> None:
    docx = make_expanding_docx(tmp_path / "tabel.docx", rows=1500, cols=60)
    with pytest.raises(DocumentError) as err:
        _read(docx, parse_memory_mb=64, parse_timeout_s=120)
    assert err.value.reason in (t("doc.budget_memory", limit=64), t("doc.budget_crashed", limit=64))


def test_a_large_html_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    page = tmp_path / "groot.html"
    page.write_text("<html><body><p>" + "tekst " * (1024 * 1024) + "</p></body></html>", encoding="utf-8")
    with pytest.raises(DocumentError) as err:
        _read(page)
    assert "maximum 5 MB" in err.value.reason and "6,0 MB" in err.value.reason


def test_an_ordinary_document_reads_the_same_in_the_child(tmp_path: Path) -> None:
    from ingest.budgets import read_and_cut

    pdf = make_pdf(tmp_path / "nota.pdf", ["Het onthaalbureau is open op maandag.", "Tweede pagina."])
    isolated = read_isolated(pdf, "nota.pdf", ChunkerSettings(), Budgets())
    direct = read_and_cut(pdf, "nota.pdf", ChunkerSettings(), Budgets())
    assert isolated.chunks == direct.chunks and isolated.pages == direct.pages and isolated.title == direct.title
    assert 0 < isolated.peak_rss_kb < 1024 * 1024


# ---------------------------------------------------------------- passages, through ingest


def test_a_document_with_too_many_passages_is_reported_and_the_rest_is_indexed(
        settings: Settings, fake_embedder: FakeEmbedder) -> None:
    make_expanding_odt(settings.corpus_dir / "uitzetting.odt", paragraphs=400)
    report = ingest(_small(settings, max_passages_per_document=30), embedder=fake_embedder)
    reasons = {s["source"]: s["reason"] for s in report.skipped}
    assert reasons["uitzetting.odt"].startswith("het document levert te veel passages op (")
    reason = reasons["uitzetting.odt"]
    assert "maximum 30" in reason and "WEGWIJZER_MAX_PASSAGES_PER_DOCUMENT" in reason
    assert report.documents == 5 and report.ok  # the corpus itself is indexed in the same run
    # with a budget that fits, the same document is read (the budget is part of what a failure is remembered by)
    report = ingest(_small(settings, max_passages_per_document=2000), embedder=fake_embedder)
    assert report.documents == 6 and not report.skipped


# ---------------------------------------------------------------- failures remembered, order of reading


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources ingest reads (each one a child process under its budgets), in the order it reads them."""
    reads: list[str] = []
    real = build.read_isolated

    def counting(path: Path, source: str, *args: object, **kwargs: object) -> object:
        reads.append(source)
        return real(path, source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "read_isolated", counting)
    return reads


def test_a_failed_document_is_not_read_again_until_it_changes(
        settings: Settings, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _count_reads(monkeypatch)
    slow = _small(settings, parse_timeout_s=2.0)
    make_nested_html(settings.corpus_dir / "genest.html", megabytes=2.0)
    first = ingest(slow, embedder=fake_embedder)
    reason = {s["source"]: s["reason"] for s in first.skipped}["genest.html"]
    assert reason == t("doc.budget_time", limit="2")
    assert "genest.html" in reads and (settings.index_dir / FAILED_FILE).is_file()

    reads.clear()
    started = time.monotonic()
    add_document(settings, "nieuw.md")  # a re-index for another document: the hostile one stays unread
    second = ingest(slow, embedder=fake_embedder)
    assert reads == ["nieuw.md"] and time.monotonic() - started < 10
    assert {s["source"]: s["reason"] for s in second.skipped} == {"genest.html": reason}

    reads.clear()
    (settings.corpus_dir / "genest.html").write_text("<html><body><main><p>Het buurthuis opent in mei.</p>"
                                                     "</main></body></html>", encoding="utf-8")
    third = ingest(slow, embedder=fake_embedder)
    assert reads == ["genest.html"] and not third.skipped and third.documents == 7

    # a document that left the corpus leaves the memory too
    (settings.corpus_dir / "genest.html").unlink()
    ingest(slow, embedder=fake_embedder)
    assert "genest.html" not in (settings.index_dir / FAILED_FILE).read_text(encoding="utf-8")


def test_cheap_documents_are_read_first_and_the_index_keeps_corpus_order(
        settings: Settings, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _count_reads(monkeypatch)
    make_pdf(settings.corpus_dir / "a-nota.pdf", ["Het onthaalbureau is open op maandag en dinsdag."])
    ingest(settings, embedder=fake_embedder)
    assert reads[-1] == "a-nota.pdf" and all(s.endswith((".md", ".txt")) for s in reads[:-1])
    sources = [d.source for d in idx.read_manifest(settings.index_dir).documents]
    assert sources == sorted(sources)  # passages numbered in corpus order, as before


# ---------------------------------------------------------------- in a re-index job


def test_a_re_index_job_reports_the_budget_and_publishes_the_others(fake_index: Settings) -> None:
    settings = _small(fake_index, parse_timeout_s=2.0, max_passages_per_document=30)
    make_nested_html(settings.corpus_dir / "genest.html", megabytes=2.0)
    make_expanding_odt(settings.corpus_dir / "uitzetting.odt", paragraphs=400)
    add_document(settings, "gewoon.md")
    reindexer = Reindexer(settings, embedder_factory=FakeEmbedder)
    job = wait_for_job(reindexer, reindexer.request("web").job.id, timeout=120)
    assert job.state == DONE and job.report is not None, job
    skipped = {s["source"]: s["reason"] for s in job.report["skipped"]}
    assert skipped["genest.html"] == t("doc.budget_time", limit="2")
    assert "te veel passages" in skipped["uitzetting.odt"]
    assert "gewoon.md" in {d.source for d in idx.read_manifest(settings.index_dir).documents}
    # A hostile document never takes the job to the gigabytes it took before the budgets (4.7 GB for the page
    # bomb). The 1.5 GB target is measured by bench/hostile_files.py with the real model, not asserted
    # here (memory targets are benchmarks). This job embeds with the fake model: the figure is the job's own
    # (VmHWM), ~0.1 GB. It used to be ru_maxrss, which carried this test run's peak into the job (1.58 and 1.66 GB).
    print(f"job peak RSS {job.peak_rss_kb // 1024 if job.peak_rss_kb else None} MB")
    assert job.peak_rss_kb is not None and job.peak_rss_kb < 1024 * 1024  # ~0.1 GB measured


def test_a_job_s_peak_memory_is_its_own_not_that_of_the_process_that_started_it() -> None:
    """ru_maxrss survives execve, so a job started by a big process (a web worker holding the model, a test run)
    would report the starter's peak as its own; peak_rss_kb reads the job's own high-water mark."""
    import subprocess
    import sys

    child = ("import json, resource; from ingest.budgets import peak_rss_kb; "
             "print(json.dumps([peak_rss_kb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))")
    starter = ("import subprocess, sys, numpy; a = numpy.ones(600 * 2**20 // 8); del a; "
               f"subprocess.run([sys.executable, '-c', {child!r}], check=True)")
    out = subprocess.run([sys.executable, "-c", starter], capture_output=True, text=True, check=True, timeout=60)
    own_kb, inherited_kb = json.loads(out.stdout.strip().splitlines()[-1])
    assert inherited_kb > 600 * 1024  # what the job used to record: the starter's 600 MB
    assert own_kb < 300 * 1024


def test_documents_read_before_a_slow_one_are_published_without_waiting_for_it(
        fake_index: Settings, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[tuple[set[str], float]] = []
    real = build._embed_and_publish

    def recording(store: object, embedder: object, model: object, identity: object, analyzer: object,
                  documents: list[idx.DocumentEntry], *args: object) -> None:
        real(store, embedder, model, identity, analyzer, documents, *args)  # type: ignore[arg-type]
        published.append(({d.source for d in documents}, time.monotonic()))

    monkeypatch.setattr(build, "_embed_and_publish", recording)
    monkeypatch.setattr(build, "EARLY_PUBLISH_S", 0.5)
    make_nested_html(fake_index.corpus_dir / "genest.html", megabytes=2.0)
    add_document(fake_index, "nieuw.md")
    started = time.monotonic()
    report = ingest(_small(fake_index, parse_timeout_s=8.0), embedder=fake_embedder)
    finished = time.monotonic()
    assert len(published) == 2, published
    first, at = published[0]
    assert "nieuw.md" in first and "genest.html" not in first
    assert at - started < 7.5 < finished - started  # published while the slow page was still being read
    assert {s["source"] for s in report.skipped} == {"genest.html"}
    assert report.documents_embedded == 1 and report.documents_reused == 5 and not report.unchanged
    manifest = idx.read_manifest(fake_index.index_dir)
    assert "nieuw.md" in {d.source for d in manifest.documents} and manifest.version_id == report.version_id
