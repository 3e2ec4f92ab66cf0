"""Property-based tests (hypothesis) on chunking and loaders: whatever the input, no crash and no broken passage.

Inputs: random Unicode (control characters, odd whitespace, RTL, emoji), Markdown-like structure
(headings, bold lines, list markers, tabs), huge lines without a newline, empty documents, random
bytes and damaged PDFs. Invariants: spans lie inside the page text with start < end, passages are
non-empty and bounded (max_chars + LIST_SLACK_CHARS of source text), in order and not overlapping; a
loader returns pages or raises DocumentError, nothing else; ingest numbers passages 0..n-1.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.errors import DocumentError
from assistant.types import Page
from ingest.chunking import LIST_SLACK_CHARS, ChunkerSettings, chunk_page, chunk_pages
from ingest.loaders import load_document

from .fakes import FakeEmbedder
from .pdfs import make_pdf

pytestmark = pytest.mark.timeout(300)

FAST = settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=80, deadline=20000, suppress_health_check=[HealthCheck.too_slow])

# Any code point except lone surrogates (which cannot be written as UTF-8): includes C0/C1 controls.
any_char = st.characters(exclude_categories=("Cs",))
sentence = st.from_regex(r"[A-Z][a-zà-ÿ]{1,12}( [a-zà-ÿ0-9]{1,14}){2,25}[.!?]", fullmatch=True)
word_run = st.from_regex(r"[a-zA-Zé]{1,15}( [a-zA-Zé]{1,15}){0,300}", fullmatch=True)
structured_line = st.one_of(
    sentence,
    st.lists(sentence, min_size=1, max_size=12).map(" ".join),
    word_run,
    sentence.map(lambda s: "# " + s.rstrip(".!?")),
    sentence.map(lambda s: "## " + s.rstrip(".!?")),
    sentence.map(lambda s: f"**{s.rstrip('.!?')}**"),
    sentence.map(lambda s: f"2) **{s[:30]}:**"),
    sentence.map(lambda s: "- " + s),
    sentence.map(lambda s: "1. " + s),
    sentence.map(lambda s: "\t" + s.replace(" ", "\t", 2)),
    st.text(any_char, max_size=200),
    st.sampled_from(["", " ", "\u00a0", "***", "**", "*", "#", "- ", "\x0c", "\r", "logo.png", "image"]),
)
structured_text = st.lists(structured_line, max_size=60).map("\n".join)
random_text = st.text(any_char, max_size=4000)
chunker_settings = st.builds(
    lambda mn, t, mx: ChunkerSettings(target_chars=t, max_chars=max(t, mx), min_chars=min(mn, t)),
    st.integers(1, 300), st.integers(100, 1200), st.integers(100, 2000),
)


def check_chunks(page: Page, chunks: list, cfg: ChunkerSettings) -> None:  # type: ignore[type-arg]
    previous_end = 0
    for c in chunks:
        assert c.page == page.page
        assert 0 <= c.start < c.end <= len(page.text), (c.start, c.end, len(page.text))
        assert c.start >= previous_end, "passages overlap or are out of order"
        previous_end = c.end
        assert c.text.strip() and any(ch.isalnum() for ch in c.text), repr(c.text[:80])
        assert c.end - c.start <= cfg.max_chars + LIST_SLACK_CHARS, \
            f"passage of {c.end - c.start} source chars (limit {cfg.max_chars + LIST_SLACK_CHARS})"
        assert "\n" not in c.section


@FAST
@given(st.one_of(structured_text, random_text))
@example("")
@example("\x00\x01\x02\x1b[31m\x7f\u200b\u202e\ufeff")
@example("**\n**\n# \n- \n1) \n")
@example("Titel\n\nTekst zonder punt" + " woord" * 400)
def test_chunk_page_invariants(text: str) -> None:
    cfg = ChunkerSettings()
    page = Page(source="x.md", page=None, text=text)
    chunks, section = chunk_page(page, cfg)
    check_chunks(page, chunks, cfg)
    assert "\n" not in section


@FAST
@given(structured_text, chunker_settings)
def test_chunk_page_respects_any_valid_settings(text: str, cfg: ChunkerSettings) -> None:
    page = Page(source="x.md", page=3, text=text)
    check_chunks(page, chunk_page(page, cfg)[0], cfg)


@settings(FAST, max_examples=50)
@given(st.lists(st.one_of(structured_text, random_text), max_size=6))
def test_chunk_pages_keeps_page_order(texts: list[str]) -> None:
    cfg = ChunkerSettings()
    pages = [Page(source="x.pdf", page=i + 1, text=t) for i, t in enumerate(texts)]
    chunks = chunk_pages(pages, cfg)
    numbers = [c.page for c in chunks]
    assert numbers == sorted(numbers)
    for page in pages:
        check_chunks(page, [c for c in chunks if c.page == page.page], cfg)


HUGE = 200_000


@pytest.mark.parametrize("text", [
    pytest.param("woord " * (HUGE // 6), id="words-without-punctuation"),
    pytest.param("a" * HUGE, id="one-unbroken-token"),
    pytest.param("Een zin. " * (HUGE // 9), id="many-short-sentences"),
    pytest.param("- " + "lijstitem " * (HUGE // 10), id="one-huge-list-item"),
    pytest.param("# " + "kop " * (HUGE // 4), id="one-huge-heading"),
    pytest.param("**" + "vet " * (HUGE // 4) + "**", id="one-huge-bold-line"),
    pytest.param("*a " * (HUGE // 3), id="emphasis-markers"),
    pytest.param("\t" * HUGE + "x", id="tabs"),
])
def test_huge_lines_are_chunked_quickly_and_bounded(text: str) -> None:
    cfg = ChunkerSettings()
    page = Page(source="groot.txt", page=None, text=text)
    started = time.perf_counter()
    chunks, _ = chunk_page(page, cfg)
    assert time.perf_counter() - started < 20
    assert chunks
    check_chunks(page, chunks, cfg)


# ---------------------------------------------------------------- loaders


def _load(suffix: str, data: bytes) -> None:
    """load_document on ``data`` returns readable pages or raises DocumentError -- nothing else."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"doc{suffix}"
        path.write_bytes(data)
        try:
            doc = load_document(path, path.name)
        except DocumentError as exc:
            assert exc.source == path.name and exc.reason
            return
        assert doc.pages and any(p.text.strip() for p in doc.pages)
        assert doc.kind == suffix[1:] and len(doc.sha256) == 64
        cfg = ChunkerSettings()
        chunks = chunk_pages(list(doc.pages), cfg)
        for page in doc.pages:
            check_chunks(page, [c for c in chunks if c.page == page.page], cfg)


@FAST
@given(st.sampled_from([".txt", ".md"]), st.one_of(
    st.binary(max_size=3000),
    random_text.map(lambda s: s.encode("utf-8")),
    structured_text.map(lambda s: s.encode("utf-8")),
    structured_text.map(lambda s: s.encode("cp1252", errors="replace")),
    structured_text.map(lambda s: b"\xef\xbb\xbf" + s.replace("\n", "\r\n").encode("utf-8")),
))
@example(".txt", b"")
@example(".md", b"   \n\t\n")
@example(".txt", b"tekst met een \x00 nul-byte")
def test_text_loader_returns_pages_or_document_error(suffix: str, data: bytes) -> None:
    _load(suffix, data)


@pytest.fixture(scope="module")
def valid_pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("pdf") / "basis.pdf"
    make_pdf(path, ["Eerste pagina over inburgering en participatie.", "Tweede pagina: taalbeleid en NT2."],
             title="Nota integratie")
    return path.read_bytes()


@SLOW
@given(data=st.data())
def test_pdf_loader_on_damaged_pdfs_returns_pages_or_document_error(valid_pdf: bytes, data: st.DataObject) -> None:
    pdf = bytearray(valid_pdf)
    for _ in range(data.draw(st.integers(0, 12), label="mutations")):
        pos = data.draw(st.integers(0, len(pdf) - 1))
        pdf[pos:pos + data.draw(st.integers(0, 6))] = data.draw(st.binary(max_size=6))
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(pdf))), label="truncate at")
    _load(".pdf", bytes(pdf if cut is None else pdf[:cut]))


@SLOW
@given(st.binary(max_size=2000).map(lambda b: b"%PDF-1.4\n" + b))
@example(b"%PDF-")
@example(b"%PDF-1.7\n%%EOF")
def test_pdf_loader_on_random_bytes(data: bytes) -> None:
    _load(".pdf", data)


# ---------------------------------------------------------------- through ingest


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(structured_text, random_text), min_size=1, max_size=4))
def test_ingest_numbers_passages_and_keeps_spans_in_the_pages(texts: list[str]) -> None:
    from assistant import index as idx
    from assistant.config import Settings
    from ingest.build import ingest

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        (corpus / "anker.md").write_text("# Anker\n\nDe gemeente organiseert taalcafés voor nieuwkomers.\n")
        for i, text in enumerate(texts):
            (corpus / f"doc{i}.md").write_text(text, encoding="utf-8", errors="replace")
        s = Settings(data_dir=Path(tmp) / "data", corpus_dir=corpus)
        ingest(s, embedder=FakeEmbedder())
        data = idx.open_index(s.index_dir)
        passages = data.passages(range(data.passage_count))
        assert [p.id for p in passages] == list(range(data.passage_count))
        for p in passages:
            pages, _ = data.document(p.source)  # type: ignore[misc]
            page_text = {pg.page: pg.text for pg in pages}[p.page]
            assert 0 <= p.start < p.end <= len(page_text) and p.text.strip()
