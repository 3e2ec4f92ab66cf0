"""The quoted sentences in the document view: the ``zin`` parameter checked, placed in the page text, marked."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.config import Settings
from assistant.text.sentences import split_sentences
from assistant.types import DocumentInfo, Page, Passage
from bots.web import create_app
from bots.web.doctext import mark_text
from bots.web.pages import document_url, render_document
from bots.web.quotespans import MAX_SPANS, parse_spans, place_spans
from ingest.chunking import chunk_pages

from .test_document_view import visible, well_formed

TEXT = "Eerste zin hier. Tweede zin daar. Derde en laatste zin."


# ---------------------------------------------------------------- the parameter

def test_parse_spans_reads_a_short_list_of_pairs_inside_the_text() -> None:
    assert parse_spans("0-16", TEXT) == [(0, 16)]
    assert parse_spans("17-33,0-16", TEXT) == [(0, 16), (17, 33)]  # sorted
    assert parse_spans(f"34-{len(TEXT)}", TEXT) == [(34, len(TEXT))]  # up to the very end
    # overlapping and adjacent spans are one run of text: one mark
    assert parse_spans("0-20,10-33", TEXT) == [(0, 33)]
    assert parse_spans("0-16,16-33", TEXT) == [(0, 33)]
    assert parse_spans("0-16,17-33", TEXT) == [(0, 16), (17, 33)]
    assert parse_spans("16-17", TEXT) == []  # a blank between two sentences marks nothing


@pytest.mark.parametrize("raw", [
    None, "", "abc", "0-16;17-33", "0-16,", ",0-16", "0:16", "-1-5", "0--5", "5-3", "3-3", "0-999",
    f"0-{len(TEXT) + 1}", "0-16 ", " 0-16", "0.5-16", "0x1-16", "١-٢", "0-16\n", "0-1e3",
    ",".join(["0-1"] * (MAX_SPANS + 1)), "0-1" + "0" * 200, "99999999999-99999999999",
])
def test_parse_spans_ignores_anything_else_as_a_whole(raw: str | None) -> None:
    assert parse_spans(raw, TEXT) == []


def test_document_url_carries_the_quotes() -> None:
    assert document_url("map/nota 1.md", 7, quotes=[(3, 40), (41, 90)]) == \
        "/documents/map/nota%201.md?passage=7&zin=3-40,41-90#q-7"
    assert document_url("a.md", 7, quotes=[[3, 40]]) == "/documents/a.md?passage=7&zin=3-40#q-7"  # JSON lists
    assert document_url("a.md", 7, quotes=()) == "/documents/a.md?passage=7#p-7"


# ---------------------------------------------------------------- placing spans in the page text

def test_place_spans_finds_the_sentence_through_markup() -> None:
    source = "# Kop\n\nDe **stad** biedt [hulp](https://x.example/a-b) aan.\tOok dit.\n\n\nSlot *hier*."
    reading = "Kop\nDe stad biedt hulp aan.: Ook dit.\nSlot hier."
    a = reading.index("De stad")
    b = reading.index(":")
    placed = place_spans([(a, b), (reading.index("Slot"), len(reading))], reading, source, offset=100)
    assert [source[s - 100:e - 100] for s, e in placed] == \
        ["De **stad** biedt [hulp](https://x.example/a-b) aan.", "Slot *hier*."]


def test_place_spans_takes_the_right_one_of_two_equal_sentences() -> None:
    source = "Zie hieronder.\nWe doen het samen. Eerst dit.\n**Kop**\nWe doen het samen. Dan dat."
    reading = "Zie hieronder.\nWe doen het samen. Eerst dit.\nKop\nWe doen het samen. Dan dat."
    second = reading.rindex("We doen")
    placed = place_spans([(second, second + len("We doen het samen."))], reading, source)
    assert placed == [(source.rindex("We doen"), source.rindex("We doen") + len("We doen het samen."))]
    both = place_spans([(reading.index("We doen"), reading.index(" Eerst")), (second, reading.index(" Dan"))],
                       reading, source)
    assert [source[s:e] for s, e in both] == ["We doen het samen.", "We doen het samen."]
    assert both[0][0] < both[1][0]


def test_place_spans_leaves_out_what_it_cannot_find() -> None:
    assert place_spans([(0, 10)], "Iets anders dan de bron.", "Een heel andere tekst, zonder overeenkomst.") == []
    assert place_spans([(0, 3)], "...", "...") == []  # no letters: nothing to place
    assert place_spans([], TEXT, TEXT) == []


def test_every_sentence_of_the_corpus_is_placed_exactly() -> None:
    """Over the shipped corpus: every sentence of every passage's reading text is marked on the same words."""
    from ingest.loaders import load_document

    from .conftest import CORPUS

    checked = 0
    for path in sorted(CORPUS.iterdir()):
        if path.suffix not in (".md", ".txt"):
            continue
        doc = load_document(path, path.name)
        for chunk in chunk_pages(doc.pages, explicit_headings=doc.explicit_headings):
            page = next(p for p in doc.pages if p.page == chunk.page)
            spans = [(u.start, u.end) for u in split_sentences(chunk.text)]  # the units an answer quotes
            placed = place_spans(spans, chunk.text, page.text[chunk.start:chunk.end], chunk.start)
            assert len(placed) == len(spans), (path.name, chunk.text[:80])
            out = mark_text(page.text, [], (chunk.start, chunk.end, 0), doc.explicit_headings, quotes=placed)
            for k, (a, b) in enumerate(spans):
                assert " ".join(marks(out, k).split()) == " ".join(chunk.text[a:b].split()), (path.name, k)
                checked += 1
    assert checked > 300


# ---------------------------------------------------------------- marking them

def marks(html: str, k: int) -> str:
    return visible(" ".join(re.findall(rf"<mark class=\"quote\" data-zin=\"{k}\"[^>]*>(.*?)</mark>", html, re.S)))


def test_each_quoted_sentence_is_a_mark_inside_the_lighter_passage_mark() -> None:
    text = "Voor. " + TEXT + " Na."
    start = text.index("Eerste")
    cited = (start, start + len(TEXT), 4)
    quotes = [(start, start + 16), (start + 17, start + 33)]
    out = mark_text(text, [(0, 3)], cited, quotes=quotes)
    parsed = well_formed(f"<div>{out}</div>")
    assert parsed.ids.count("q-4") == 1 and parsed.ids.count("p-4") == 1
    assert '<mark class="cited soft" id="p-4"' in out
    assert marks(out, 0) == "Eerste zin hier." and marks(out, 1) == "Tweede zin daar."
    assert re.search(r'<mark class="quote" data-zin="0" id="q-4" tabindex="-1">Eerste', out)  # the first carries the id
    assert out.count("Geciteerd in het antwoord") == 2 and out.count("einde van het citaat") == 2  # announced
    assert visible(out) == text


def test_quotes_at_the_passage_edges_and_overlapping_ones() -> None:
    cited = (0, len(TEXT), 1)
    # the whole passage quoted: the quote closes before the passage does
    out = mark_text(TEXT, [], cited, quotes=[(0, len(TEXT))])
    well_formed(f"<div>{out}</div>")
    assert marks(out, 0) == TEXT and re.search(r"</mark><span class=\"sr-only\">[^<]*</span>"
                                               r"<span class=\"sr-only\"> Einde van de geciteerde passage.</span>"
                                               r"</mark>$", out)
    # overlapping and adjacent: one mark; beyond the passage: cut at its end
    out = mark_text(TEXT, [], cited, quotes=[(0, 20), (10, 33), (33, 40), (50, 999)])
    well_formed(f"<div>{out}</div>")
    assert marks(out, 0) == TEXT[:40] and marks(out, 1) == TEXT[50:]
    # a blank "quote" marks nothing, and the link still lands on the passage
    out = mark_text(TEXT, [], cited, quotes=[(16, 17)])
    assert "quote" not in out and 'id="q-1"' in out
    # a quote outside the cited passage is no quote of it
    out = mark_text(TEXT, [], (0, 16, 1), quotes=[(20, 30)])
    assert "mark class=\"quote\"" not in out


def test_a_quote_over_a_heading_is_marked_per_block() -> None:
    text = "Intro.\n\n## Kopje\n\nTekst onder het kopje."
    out = mark_text(text, [], (0, len(text), 2), quotes=[(text.index("##"), len(text))])
    well_formed(f"<div>{out}</div>")
    assert re.search(r'<h\d class="doc-h"><mark class="cited soft"><span class="sr-only">[^<]*</span>'
                     r'<mark class="quote" data-zin="0" id="q-2"', out)
    assert len(re.findall(r'data-zin="0"', out)) == 2 and out.count('id="q-2"') == 1
    assert " ".join(marks(out, 0).split()) == "Kopje Tekst onder het kopje."


def test_without_quotes_a_q_link_still_lands_on_the_passage() -> None:
    out = mark_text(TEXT, [], (17, 33, 5))
    assert '<span class="anchor" id="q-5"></span><mark class="cited" id="p-5"' in out
    assert "quote" not in out


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.sampled_from(list("ab .#*_<>/\n\t&") + ["**", "# ", "<i>", "Kop\n", "Zin. "]),
                    max_size=60).map("".join),
       span=st.tuples(st.integers(0, 130), st.integers(0, 130)),
       quotes=st.lists(st.tuples(st.integers(-5, 140), st.integers(-5, 140)), max_size=4))
def test_any_quotes_give_balanced_html_with_at_most_one_q_id(text: str, span: tuple[int, int],
                                                             quotes: list[tuple[int, int]]) -> None:
    start, end = sorted(min(x, len(text)) for x in span)
    out = mark_text(text, [(0, 7)], (start, end, 3), quotes=quotes)
    parsed = well_formed(f"<div>{out}</div>")
    assert parsed.ids.count("q-3") == 1 if text[start:end].strip() else parsed.ids.count("q-3") == 0
    assert visible(out).replace("Geciteerd in het antwoord: ", "") == visible(mark_text(text, [], None))


# ---------------------------------------------------------------- the route

@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service on the shipped corpus, indexed once for this module with the fake embedder (read only)."""
    from ingest.build import ingest

    from .conftest import CORPUS
    from .fakes import FakeEmbedder

    index = Settings(data_dir=tmp_path_factory.mktemp("quote-marks") / "data", corpus_dir=CORPUS)
    ingest(index, embedder=FakeEmbedder())
    with TestClient(create_app(index, embedder=FakeEmbedder()), raise_server_exceptions=False) as c:
        yield c


def cited_passage(client: TestClient) -> Passage:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    _, _, passages = ctx.assistant().document("inclucities-toolkit-stad-voor-iedereen.md")
    return next(p for p in passages if p.text.count(". ") >= 2)


def test_the_view_marks_the_sentences_the_link_names(client: TestClient) -> None:
    cited = cited_passage(client)
    first = cited.text.index(". ") + 2
    second = cited.text.index(". ", first) + 1
    r = client.get(document_url(cited.source, cited.id, quotes=[(first, second)]).split("#")[0])
    assert r.status_code == 200
    assert " ".join(marks(r.text, 0).split()) == " ".join(cited.text[first:second].split())
    assert 'id="q-' + str(cited.id) + '"' in r.text and '<a href="#q-' in r.text
    assert "De zin die het antwoord citeert" in r.text


@pytest.mark.parametrize("zin", ["abc", "0-999999", "5-1", "-1-3", "0-1," * 30, "%00", "0-1;drop", "1-2&zin=3-4",
                                 "<script>", "0-" + "9" * 400])
def test_a_bogus_zin_is_ignored_never_an_error(client: TestClient, zin: str) -> None:
    cited = cited_passage(client)
    r = client.get(f"/documents/{cited.source}", params={"passage": cited.id, "zin": zin})
    assert r.status_code == 200, r.text[:300]
    assert 'class="quote"' not in r.text and f'id="p-{cited.id}"' in r.text and f'id="q-{cited.id}"' in r.text
    assert "<script>" not in r.text
    # without a passage the parameter means nothing
    assert client.get(f"/documents/{cited.source}", params={"zin": "0-5"}).status_code == 200


def test_quotes_on_a_pdf_page_are_marked_on_that_page() -> None:
    text = "Titel\n\nDe eerste zin\nloopt over twee regels. De tweede zin."
    pages = [Page("a.pdf", 1, "Pagina een."), Page("a.pdf", 2, text)]
    passage = Passage(id=9, source="a.pdf", title="A", page=2, section="", start=7, end=len(text),
                      text="De eerste zin\nloopt over twee regels. De tweede zin.")
    html = render_document(DocumentInfo(source="a.pdf", title="A", pages=2), pages, [passage], passage,
                           quotes=[(0, passage.text.index(" De tweede"))])
    assert " ".join(marks(html, 0).split()) == "De eerste zin loopt over twee regels."
    assert "Pagina een." not in html
