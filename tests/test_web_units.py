"""The pure parts of the web layer: highlighting, safe names and paths, document HTML, error messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.types import DocumentInfo, Page, Passage
from bots.web.errors import ApiError, validation_message
from bots.web.highlight import highlight_spans
from bots.web.pages import document_url, render_document
from bots.web.uploads import inside, safe_filename


def _words(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[s:e] for s, e in spans]


def test_highlight_matches_stems_accents_and_compound_heads() -> None:
    text = "Als de (financiële) middelen beperkt zijn, kan de stad het integratiebeleid bijsturen."
    spans = highlight_spans("Wat kan een stad doen als de financiele middel beperkt is? Integratie!", text)
    assert _words(text, spans) == ["financiële", "middelen", "beperkt", "stad", "integratiebeleid"]


def test_highlight_ignores_stop_words_and_empty_questions() -> None:
    assert highlight_spans("de het een van", "de stad en het land") == []
    assert highlight_spans("", "tekst") == []
    assert highlight_spans("???", "tekst") == []


def test_highlight_spans_are_sorted_and_inside_the_text() -> None:
    text = "Stad, stad en nog eens STAD."
    spans = highlight_spans("stad", text)
    assert _words(text, spans) == ["Stad", "stad", "STAD"]
    assert spans == sorted(spans) and all(0 <= s < e <= len(text) for s, e in spans)


@pytest.mark.parametrize(("raw", "expected"), [
    ("verslag.pdf", "verslag.pdf"),
    ("Verslag Gemeenteraad 2024.PDF", "Verslag-Gemeenteraad-2024.pdf"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("C:\\Users\\jan\\nota's & plannen.md", "nota-s-plannen.md"),
    ("Café Économie.txt", "Cafe-Economie.txt"),
    ("  .verborgen.md", "verborgen.md"),
    ("README.md", "document-README.md"),
    ("a" * 300 + ".txt", "a" * 100 + ".txt"),
])
def test_safe_filename(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


@pytest.mark.parametrize("raw", ["", ".txt", "....md", "日本語.pdf", "x.exe", "x.pdf.exe", "x"])
def test_safe_filename_refuses(raw: str) -> None:
    with pytest.raises(ApiError):
        safe_filename(raw)


def test_inside_keeps_paths_in_the_root(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "geheim.txt").write_text("x")
    (root / "link.txt").symlink_to(tmp_path / "geheim.txt")
    assert inside(root, "sub/a.md") == (root / "sub" / "a.md").resolve()
    for bad in ("", "/etc/passwd", "../geheim.txt", "sub/../../geheim.txt", "link.txt", ".", "a\x00b"):
        assert inside(root, bad) is None, bad


def test_render_document_shows_only_the_cited_pdf_page() -> None:
    info = DocumentInfo(source="nota.pdf", title="Nota <2024>", pages=3)
    pages = [Page("nota.pdf", n, f"Tekst van pagina {n}.") for n in (1, 2, 3)]
    passages = [Passage(id=n - 1, source="nota.pdf", title="Nota", page=n, section="", start=0,
                        end=len(pages[n - 1].text), text=pages[n - 1].text) for n in (1, 2, 3)]
    html = render_document(info, pages, passages, cited=passages[1])
    assert "Tekst van pagina 2" in html and "Tekst van pagina 1" not in html and "Tekst van pagina 3" not in html
    assert "Pagina 2 van 3" in html and "Nota &lt;2024&gt;" in html
    assert 'href="/documents/nota.pdf?page=1"' in html and 'href="/documents/nota.pdf?page=3"' in html
    assert 'href="/files/nota.pdf#page=2"' in html
    assert "Tekst van pagina 3" in render_document(info, pages, passages, page_number=3)


def test_document_url_quotes_the_source() -> None:
    assert document_url("map/nota 1.pdf", 7) == "/documents/map/nota%201.pdf?passage=7#p-7"
    assert document_url("a#b?.md") == "/documents/a%23b%3F.md"


@pytest.mark.parametrize(("error", "code", "needle"), [
    ({"type": "missing", "loc": ("body", "question")}, "invalid_request", "'question' ontbreekt"),
    ({"type": "json_invalid", "loc": ("body", 12)}, "invalid_json", "geen geldige JSON"),
    ({"type": "string_too_long", "loc": ("body", "comment"), "ctx": {"max_length": 5}}, "invalid_request",
     "maximum 5 tekens"),
    ({"type": "something_new", "loc": ("query", "page")}, "invalid_request", "'page' is ongeldig"),
])
def test_validation_messages_are_dutch(error: dict[str, object], code: str, needle: str) -> None:
    got_code, message = validation_message([error])
    assert got_code == code and needle in message


def test_live_gauges_of_dead_workers_are_dropped(tmp_path: Path) -> None:
    import subprocess
    import sys

    from bots.web.metrics import mark_dead_workers

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(dead.stdout)
    for name in (f"gauge_livemax_{dead_pid}.db", f"counter_{dead_pid}.db", f"gauge_livemax_{os.getpid()}.db"):
        (tmp_path / name).write_bytes(b"")
    mark_dead_workers(str(tmp_path))
    left = sorted(p.name for p in tmp_path.iterdir())
    # the dead worker's live gauge goes; its counters stay in the totals; a live process keeps its gauge
    assert left == sorted([f"counter_{dead_pid}.db", f"gauge_livemax_{os.getpid()}.db"])
