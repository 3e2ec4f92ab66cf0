"""Rendering for Telegram: escaping, citations, and splitting HTML under the message limit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.types import Answer, Citation
from bots import render

from .botapi_server import parse_telegram_html, utf16_len


def _citation(n: int, title: str = "Plan <Samenleven> & co", page: int | None = None,
              section: str = "Deel 1", text: str = "Tekst met <tags> & 'quotes'.") -> Citation:
    return Citation(n=n, text=text, title=title, source=f"doc{n}.txt", page=page, section=section, score=0.9,
                    passage_id=n, start=0, end=len(text))


def test_answer_html_escapes_and_numbers_citations() -> None:
    answer = Answer(question="q", found=True, text="Volgens A & B [1]: x < y.\nZie ook [2].",
                    citations=(_citation(1, page=3), _citation(2, section="")))
    markup = render.answer_html(answer, "Bronnen")
    assert "A &amp; B <b>[1]</b>: x &lt; y." in markup
    assert "<b>[1]</b> Plan &lt;Samenleven&gt; &amp; co, p. 3 — Deel 1" in markup
    assert "<b>[2]</b> Plan &lt;Samenleven&gt; &amp; co\n" not in markup and markup.endswith("&amp; co")
    assert parse_telegram_html(markup)  # Telegram would accept it


def test_long_sections_are_shortened_in_the_source_list_only() -> None:
    section = ("TECHNISCHE FICHE VVSG-VERKIEZINGSMEMORANDUM Fiche: Migratie en Integratie "
               "› Hoort bij strategisch dossier SD3")
    answer = Answer(question="q", found=True, text="x [1]", citations=(_citation(1, section=section),))
    listed = render.answer_html(answer, "Bronnen").rsplit("\n", 1)[1]
    assert listed.endswith("…") and len(render.html_to_text(listed)) < len(section) + 30
    assert section in render.passages_html(answer.citations)
    assert render.shorten("een twee drie", 9) == "een twee…" and render.shorten("kort", 9) == "kort"


def test_quotes_stay_readable() -> None:
    # Telegram needs only <, > and & escaped; escaped quotes would show in titles like 'stad voor iedereen'.
    assert render.escape("een 'stad voor iedereen' & \"meer\"") == "een 'stad voor iedereen' &amp; \"meer\""


def test_passages_html_quotes_every_passage_in_full() -> None:
    markup = render.passages_html([_citation(1, page=2), _citation(2)])
    plain = parse_telegram_html(markup)
    assert "[1] Plan <Samenleven> & co, p. 2 — Deel 1" in plain
    assert plain.count("Tekst met <tags> & 'quotes'.") == 2
    assert "doc2.txt" in plain


def test_a_list_answer_shows_bullets_and_its_source_line() -> None:
    text = "Taalbeleid <kort> & bondig: [1]\n- NT2 & meer\n- Tolken\nBron: Plan <Samenleven>."
    answer = Answer(question="q", found=True, text=text, citations=(_citation(1),))
    markup = render.answer_html(answer, "Bronnen")
    assert markup.startswith("Taalbeleid &lt;kort&gt; &amp; bondig: <b>[1]</b>\n• NT2 &amp; meer\n• Tolken\n"
                             "Bron: Plan &lt;Samenleven&gt;.\n\n")
    assert "- " not in parse_telegram_html(markup).split("\n\n")[0]
    # a "- " inside a line is no list item
    inline = Answer(question="q", found=True, text="Zo - of zo [1]", citations=(_citation(1),))
    assert render.answer_html(inline, "Bronnen").startswith("Zo - of zo <b>[1]</b>")
    # split over messages, the bullets stay with their lines and every piece stays valid
    long = Answer(question="q", found=True, text="Lijst: [1]\n" + "\n".join(f"- item {i} & meer" for i in range(400)),
                  citations=(_citation(1),))
    pieces = render.split_html(render.answer_html(long, "Bronnen"), limit=1000)
    assert len(pieces) > 3
    for piece in pieces:
        parse_telegram_html(piece)
        assert all(line.startswith(("• item", "Lijst", "<b>", "[")) for line in piece.split("\n") if line), piece


def test_passages_html_puts_the_quoted_sentences_in_bold() -> None:
    text = "  Eerst <dit> & dat. Dan de zin met 5 < 6 & meer. Slot.\n"
    first = text.index("Dan")
    c = Citation(n=1, text=text, title="T", source="a.txt", page=None, section="", score=1.0, passage_id=1,
                 start=0, end=len(text), quotes=((first, text.index(" Slot")),))
    markup = render.passages_html([c])
    assert "<blockquote>Eerst &lt;dit&gt; &amp; dat. <b>Dan de zin met 5 &lt; 6 &amp; meer.</b> Slot.</blockquote>" \
        in markup
    assert parse_telegram_html(markup).endswith("Eerst <dit> & dat. Dan de zin met 5 < 6 & meer. Slot.")
    # overlapping and adjacent spans give one bold run; spans at the edges and outside the text are safe
    assert render.quoted_html("abc def", [(0, 3), (2, 5), (5, 7)]) == "<b>abc def</b>"
    # offsets count the leading blank the blockquote strips; a span past the end is cut there
    assert render.quoted_html(" abc", [(0, 2), (3, 99), (50, 60), (-5, -1)]) == "<b>a</b>b<b>c</b>"
    assert render.quoted_html(" a <b>", [(3, 6)]) == "a <b>&lt;b&gt;</b>"
    assert render.quoted_html("a & b", []) == "a &amp; b"
    related = _citation(2)  # no quotes: the passage as it was
    assert render.passages_html([related]).endswith("<blockquote>Tekst met &lt;tags&gt; &amp; 'quotes'.</blockquote>")


def test_html_to_text_is_what_telegram_shows() -> None:
    markup = "<b>[1]</b> a &amp; b &lt;c&gt; <i>d</i>"
    assert render.html_to_text(markup) == parse_telegram_html(markup) == "[1] a & b <c> d"


def test_short_text_is_one_piece() -> None:
    assert render.split_html("<b>kort</b> &amp; klaar") == ["<b>kort</b> &amp; klaar"]
    assert render.split_html("") == []


def test_split_prefers_paragraphs_and_reopens_tags() -> None:
    para = "Zin met &amp; entiteit. " * 40
    markup = f"<b>{para}</b>\n\n<blockquote>{para}\n{para}</blockquote>"
    pieces = render.split_html(markup, limit=1200)
    assert len(pieces) > 2
    for piece in pieces:
        assert utf16_len(piece) <= 1200
        parse_telegram_html(piece)  # balanced tags, whole entities
    assert pieces[0].endswith("</b>")  # first cut falls on the paragraph break after the bold block
    assert pieces[1].startswith("<blockquote>")
    assert "".join(render.html_to_text(p) for p in pieces).replace(" ", "").replace("\n", "") == \
        render.html_to_text(markup).replace(" ", "").replace("\n", "")


def test_split_counts_utf16_like_telegram() -> None:
    markup = "😀" * 3000  # 6000 UTF-16 units
    pieces = render.split_html(markup)
    assert len(pieces) == 2 and all(utf16_len(p) <= render.TELEGRAM_LIMIT for p in pieces)
    assert "".join(pieces) == markup


def test_split_rejects_a_silly_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        render.split_html("x", limit=10)


_words = st.text(alphabet=st.sampled_from(list("ab <>&'\"\nëé😀")), min_size=0, max_size=40)


@st.composite
def _markup(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 30))):
        text = render.escape(draw(_words))
        tag = draw(st.sampled_from(["", "b", "i", "blockquote", "code"]))
        parts.append(f"<{tag}>{text}</{tag}>" if tag else text)
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(["\n", "\n\n", " "])))
    return "".join(parts)


@given(markup=_markup(), limit=st.integers(64, 300))
@settings(max_examples=200, deadline=None)
def test_every_piece_is_valid_and_within_the_limit(markup: str, limit: int) -> None:
    pieces = render.split_html(markup, limit=limit)
    for piece in pieces:
        assert utf16_len(piece) <= limit
        assert parse_telegram_html(piece).strip()
    squeeze = str.maketrans("", "", " \n")
    assert "".join(render.html_to_text(p) for p in pieces).translate(squeeze) == \
        render.html_to_text(markup).translate(squeeze)
