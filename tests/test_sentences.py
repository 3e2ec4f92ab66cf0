"""Sentence splitting: Dutch abbreviations, list items, times, layout-broken lines and hyphenation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.text.sentences import split_sentences


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


@pytest.mark.parametrize("abbreviation", ["vb.", "bv.", "o.a.", "m.a.w.", "enz.", "nr.", "art.", "dr.", "prof.",
                                          "e.d.", "bijv.", "i.p.v.", "ca.", "Prof.", "Dr.", "Art."])
def test_abbreviations_do_not_end_a_sentence(abbreviation: str) -> None:
    text = f"De stad kiest {abbreviation} Nieuwe Wegen en werkt samen. Daarna volgt de evaluatie."
    assert texts(text) == [f"De stad kiest {abbreviation} Nieuwe Wegen en werkt samen.", "Daarna volgt de evaluatie."]


def test_initials_and_titles_stay_with_the_name() -> None:
    assert texts("Begeleiding door dr. A. Kasmi en Prof. Ilke Adam. Iedereen welkom.") == [
        "Begeleiding door dr. A. Kasmi en Prof. Ilke Adam.", "Iedereen welkom."]


def test_times_and_numbers_are_not_sentence_ends() -> None:
    assert texts("Om 10u15 start de sessie, om 10.30 uur de pauze. Art. 3 geldt.") == [
        "Om 10u15 start de sessie, om 10.30 uur de pauze.", "Art. 3 geldt."]


def test_a_layout_line_break_is_joined() -> None:
    text = "Het premiebedrag is 125 euro voor wie slaagt op\nniveau B1. Daarna volgt meer."
    assert texts(text)[0] == "Het premiebedrag is 125 euro voor wie slaagt op niveau B1."


def test_end_of_line_hyphenation_is_undone_but_real_hyphens_stay() -> None:
    assert texts("De stad wil haar integratie-\nbeleid versterken.") == [
        "De stad wil haar integratiebeleid versterken."]
    assert texts("Samenwerking tussen school- en\nwelzijnswerk is nodig.") == [
        "Samenwerking tussen school- en welzijnswerk is nodig."]
    assert texts("Ook Noord-\nBrabant doet mee.") == ["Ook Noord-Brabant doet mee."]


def test_list_items_are_units_without_their_marker() -> None:
    sentences = split_sentences("De toolkit kent vier thema's:\n- Gendergevoelige integratie\n- 2 Taal leren\n"
                                "1. Werk\n✓ Zijn er tolken?")
    assert [(s.kind, s.text) for s in sentences] == [
        ("lead_in", "De toolkit kent vier thema's:"), ("item", "Gendergevoelige integratie"), ("item", "2 Taal leren"),
        ("item", "Werk"), ("question", "Zijn er tolken?")]


def test_headings_and_questions_are_marked() -> None:
    sentences = split_sentences("Richtvragen\nWerkt u samen met verenigingen? Dat helpt.")
    assert [s.kind for s in sentences] == ["heading", "question", "sentence"]


def test_a_statement_before_its_questions_is_cut_at_the_colon() -> None:
    assert texts("In deze sessie bekijken we hoe de steden Turnhout en Halle werkten: Waarom namen ze deel?") == [
        "In deze sessie bekijken we hoe de steden Turnhout en Halle werkten:", "Waarom namen ze deel?"]


def test_spans_point_into_the_source() -> None:
    text = "Eerste zin hier.\nTweede\nzin daar."
    for s in split_sentences(text):
        assert " ".join(text[s.start:s.end].split()) == s.text


@given(st.text(alphabet=st.sampled_from(list("abc XYZ.?!:-\n12u,;()")), max_size=200))
def test_splitting_never_fails_and_spans_are_ordered(text: str) -> None:
    sentences = split_sentences(text)
    ends = [s.end for s in sentences]
    assert ends == sorted(ends)
    for s in sentences:
        assert 0 <= s.start < s.end <= len(text)
        assert s.text.strip() == s.text and s.text


def test_a_table_of_contents_is_recognised_and_ordinary_headings_with_numbers_are_not() -> None:
    text = ("Benchmark: een stad voor iedereen\n\n- 1. Leer de lokale context kennen 5\n- 2. Netwerking en "
            "toegankelijkheid 8\n- 3. Werken aan de beeldvorming 10\n\nWerksessie actie 22\n\nInleiding ......... 3\n")
    kinds = {s.text: s.kind for s in split_sentences(text)}
    assert kinds["Leer de lokale context kennen 5"] == "toc"
    assert kinds["Werken aan de beeldvorming 10"] == "toc"
    assert kinds["Werksessie actie 22"] != "toc"  # one heading ending in a number is no table of contents
    assert kinds["Inleiding ......... 3"] == "toc"  # a dotted leader to a page number is


def test_page_numbers_that_go_down_are_no_table_of_contents() -> None:
    text = "- Stap 12\n- Stap 3\n"
    assert all(s.kind != "toc" for s in split_sentences(text))


def test_an_exclamation_addressed_to_the_reader_is_an_appeal_not_a_fact() -> None:
    sentences = split_sentences("Dan is deze sessie iets voor jou! We hebben te weinig personeel! De sessie is gratis.")
    kinds = [s.kind for s in sentences]
    assert kinds == ["appeal", "sentence", "sentence"]
