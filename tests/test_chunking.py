from __future__ import annotations

import pytest

from assistant.types import Page
from ingest.chunking import ChunkerSettings, chunk_pages, clean_inline, derive_title

from .conftest import CORPUS


def _chunks(name: str):  # type: ignore[no-untyped-def]
    text = (CORPUS / name).read_text(encoding="utf-8")
    return text, chunk_pages([Page(name, None, text)])


def test_settings_are_checked_up_front() -> None:
    with pytest.raises(ValueError, match="min_chars <= target_chars <= max_chars"):
        ChunkerSettings(target_chars=2000, max_chars=1000)
    with pytest.raises(ValueError, match="min_chars must be positive"):
        ChunkerSettings(min_chars=0)


def test_bold_list_heading_stays_with_its_list() -> None:
    _, chunks = _chunks("vvsg-memorandum-migratie-en-integratie.txt")
    taal = [c for c in chunks if "Taalbeleid" in c.text]
    assert taal, "the Taalbeleid heading must be in some passage"
    for c in taal:
        assert "Voldoende NT2 aanbod" in c.text
    assert all("VVSG" in c.section for c in taal)


def test_no_passage_is_only_a_heading() -> None:
    for path in CORPUS.glob("*.*"):
        if path.suffix not in (".md", ".txt"):
            continue
        _, chunks = _chunks(path.name)
        for c in chunks:
            assert len(c.text.split("\n")) > 1 or len(c.text) > 80, (path.name, c.text)


def test_spans_point_into_the_source_and_sizes_are_bounded() -> None:
    settings = ChunkerSettings()
    for path in CORPUS.glob("*.*"):
        if path.suffix not in (".md", ".txt"):
            continue
        text, chunks = _chunks(path.name)
        assert chunks
        for c in chunks:
            raw = text[c.start:c.end]
            # the cleaned passage text is the source span without markup
            first_line = clean_inline(raw.split("\n")[0])
            assert c.text.startswith(first_line[:20])
            assert c.end - c.start <= settings.max_chars + 300 + 5


def test_section_path_follows_headings() -> None:
    _, chunks = _chunks("inclucities-toolkit-stad-voor-iedereen.md")
    tips = next(c for c in chunks if "vergaderzalen" in c.text)
    # "Richtvragen" and "Praktische tips" are short: one passage, cited by the key factor they share
    assert tips.section.startswith("2 Sleutelfactor Versterken")
    assert "Praktische tips\nAls de (financiële) middelen beperkt zijn" in tips.text
    assert "Welke financiële middelen" in tips.text
    _, chunks = _chunks("plan-samenleven-inspiratiedag-werksessies.txt")
    pleinmakers = next(c for c in chunks if "Pleinmakers zijn inwoners" in c.text)
    assert pleinmakers.text.startswith("Werksessie actie 22")


def test_long_paragraph_splits_at_sentence_boundaries() -> None:
    sentence = "Dit is een zin over integratiebeleid in kleine steden. "
    page = Page("x.txt", None, "Titel\n\n" + sentence * 60)
    chunks = chunk_pages([page], ChunkerSettings(target_chars=300, max_chars=500, min_chars=50))
    assert len(chunks) > 3
    for c in chunks:
        assert c.end - c.start <= 500
        assert c.text.rstrip().endswith(".")


def test_pages_keep_their_numbers_and_sections_carry_over() -> None:
    pages = [Page("d.pdf", 1, "Hoofdstuk een\n\nEerste pagina met tekst die lang genoeg is om te tellen."),
             Page("d.pdf", 2, "Vervolg op de tweede pagina, nog steeds onder hetzelfde hoofdstuk.")]
    chunks = chunk_pages(pages)
    assert [c.page for c in chunks] == [1, 2]
    assert chunks[1].section == "Hoofdstuk een"


def test_derive_title_uses_first_heading() -> None:
    pages = [Page("n.md", None, "# Nieuwe nota over inburgering\n\nTekst van de nota.")]
    assert derive_title(pages, "fallback") == "Nieuwe nota over inburgering"
    assert derive_title([Page("e.txt", None, "")], "fallback") == "fallback"
