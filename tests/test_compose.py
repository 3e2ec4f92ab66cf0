"""Answer composition from scored sentences: quotes, [n] markers, citations apart from related passages."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assistant.answer.compose import Previous, compose, not_found
from assistant.answer.evidence import Candidate, Evidence
from assistant.answer.retrieval import Hit
from assistant.index.protocol import SentenceRecord
from assistant.text.facts import ask_of
from assistant.types import Passage
from bots.texts import t


def _hit(pid: int, title: str, text: str = "tekst") -> Hit:
    p = Passage(id=pid, source=f"doc{pid}.txt", title=title, page=None, section="", start=0, end=len(text), text=text)
    return Hit(p, score=1.0, dense=0.9 - pid / 100, lexical=0.0, coverage=0.0, known_coverage=0.0)


def _sentence(sid: int, pid: int, text: str, kind: str = "sentence", block: int = 0) -> SentenceRecord:
    return SentenceRecord(id=sid, passage_id=pid, start=0, end=len(text), text=text, kind=kind, block=block)


def _evidence(hits: list[Hit], scored: list[tuple[SentenceRecord, float]],
              others: list[SentenceRecord] = ()) -> Evidence:  # type: ignore[assignment]
    hit_of = {h.passage.id: h for h in hits}
    total = sum(p for _, p in scored)  # the ranker's shares sum to 1 over a question's sentences
    candidates = [Candidate(s, hit_of[s.passage_id], 0, np.zeros(1), p, 0.0, p / total)
                  for s, p in sorted(scored, key=lambda sp: -sp[1])]
    sentences = sorted([s for s, _ in scored] + list(others), key=lambda s: s.id)
    return Evidence(ask_of("Wat is dit?"), candidates, sentences, True, 0.9, {})


def test_each_sentence_carries_its_own_passage_and_document() -> None:
    hits = [_hit(0, "Toolkit"), _hit(1, "Memorandum"), _hit(2, "Programma")]
    ev = _evidence(hits, [(_sentence(10, 1, "Het memorandum vraagt taskforces."), 0.9),
                          (_sentence(20, 2, "De sessie toont voorbeelden."), 0.7)])
    text, citations, related = compose(ev, hits)
    # the fact first, each sentence with its own [n]; the documents named once, briefly, at the end
    assert text.splitlines() == ["Het memorandum vraagt taskforces. [1] De sessie toont voorbeelden. [2]",
                                 t("answer.sources", titles="Memorandum; Programma")]
    assert "Volgens" not in text
    assert [(c.n, c.title) for c in citations] == [(1, "Memorandum"), (2, "Programma")]
    assert [(c.n, c.title) for c in related] == [(3, "Toolkit")]  # retrieved, not relied on


def test_a_weak_second_sentence_is_left_out() -> None:
    hits = [_hit(0, "A"), _hit(1, "B")]
    ev = _evidence(hits, [(_sentence(1, 0, "Sterk antwoord hier."), 0.9), (_sentence(2, 1, "Zwak iets anders."), 0.05)])
    text, citations, related = compose(ev, hits)
    assert "Zwak" not in text and len(citations) == 1 and len(related) == 1


def test_when_the_ranker_is_unsure_the_answer_quotes_its_close_runners_up() -> None:
    hits = [_hit(0, "A"), _hit(1, "B"), _hit(2, "C"), _hit(3, "D")]
    ev = _evidence(hits, [(_sentence(1, 0, "De studiedag vindt plaats op 31 maart."), 0.4),
                          (_sentence(2, 1, "Registratie sluit op 20 maart."), 0.3),
                          (_sentence(3, 2, "Deelname aan de inspiratiedag is gratis."), 0.25),
                          (_sentence(4, 3, "Vierde zin over iets anders."), 0.05)])
    text, citations, _ = compose(ev, hits)
    assert [c.title for c in citations] == ["A", "B", "C"]  # at most three sentences, best first
    assert "Vierde" not in text


def test_near_repeats_are_quoted_once() -> None:
    hits = [_hit(0, "Programma"), _hit(1, "Aankondiging")]
    same = "De studiedag vindt plaats in de KBR op 31 maart."
    ev = _evidence(hits, [(_sentence(1, 0, same), 0.9), (_sentence(2, 1, same), 0.88)])
    text, citations, _ = compose(ev, hits)
    assert text.count("KBR") == 1 and len(citations) == 1


def test_a_lead_in_brings_its_list_items() -> None:
    hits = [_hit(0, "Toolkit")]
    lead = _sentence(1, 0, "De toolkits behandelen vier thema's:", kind="lead_in")
    items = [_sentence(2 + i, 0, x, kind="item") for i, x in enumerate(["Gendergevoelige integratie", "Werk", "Taal"])]
    text, _, _ = compose(_evidence(hits, [(lead, 0.9)], items), hits)
    assert "vier thema's: [1]\n- Gendergevoelige integratie\n- Werk\n- Taal\n" in text  # a list stays a list


def test_a_list_that_holds_an_earlier_quote_is_quoted_once() -> None:
    """A long item quoted on its own, then a short item whose list (the long one included) is quoted: the
    answer reads the list once, not the long item twice."""
    hits = [_hit(0, "Memorandum")]
    long_item = _sentence(2, 0, "Toegankelijkheid van dienstverlening met aandacht voor een transversale aanpak",
                          kind="item")
    short = [_sentence(3 + i, 0, x, kind="item") for i, x in enumerate(["Taalbeleid:", "Voldoende NT2 aanbod"])]
    ev = _evidence(hits, [(long_item, 0.6), (short[1], 0.4)], [short[0]])
    text, _, _ = compose(ev, hits)
    assert text.count("Toegankelijkheid") == 1 and "Voldoende NT2 aanbod" in text
    ev = _evidence(hits, [(short[1], 0.6), (long_item, 0.4)], [short[0]])  # the other way round
    text, _, _ = compose(ev, hits)
    assert text.count("Toegankelijkheid") == 1 and "Voldoende NT2 aanbod" in text


def test_a_short_quote_inside_a_longer_word_of_another_quote_is_still_quoted() -> None:
    hits = [_hit(0, "Toolkit")]
    ev = _evidence(hits, [(_sentence(1, 0, "Werkgelegenheid staat centraal in het plan."), 0.6),
                          (_sentence(2, 0, "Werk."), 0.4)])
    text, _, _ = compose(ev, hits)
    assert "Werk. [1]" in text


def test_an_item_ending_in_a_colon_heads_the_items_under_it() -> None:
    hits = [_hit(0, "Memorandum")]
    rows = ["Toegankelijkheid van dienstverlening", "Taalbeleid:", "Voldoende NT2 aanbod", "Voldoende tolken",
            "Antidiscriminatiebeleid:", "Meldpunten"]
    items = [_sentence(1 + i, 0, x, kind="item") for i, x in enumerate(rows)]
    ev = _evidence(hits, [(items[2], 0.9)], items[:2] + items[3:])
    text, _, _ = compose(ev, hits)
    assert "Taalbeleid: [1]\n- Voldoende NT2 aanbod\n- Voldoende tolken\n" in text
    assert "Toegankelijkheid" not in text and "Meldpunten" not in text


def test_the_best_sentence_leads_and_the_others_keep_their_text_order() -> None:
    hits = [_hit(0, "Doc")]
    ev = _evidence(hits, [(_sentence(5, 0, "Derde alinea volgt hier."), 0.5),
                          (_sentence(3, 0, "Eerste punt staat vooraan."), 0.3),
                          (_sentence(4, 0, "Tweede regel komt erna."), 0.2)])
    text, _, _ = compose(ev, hits)
    assert text.index("Derde") < text.index("Eerste") < text.index("Tweede")


def test_list_items_ending_in_a_question_mark_are_not_joined_with_extra_punctuation() -> None:
    hits = [_hit(0, "Doc")]
    lead = _sentence(1, 0, "Vragen die aan bod komen:", kind="lead_in")
    items = [_sentence(2, 0, "Hoe betrek je burgers?", kind="question"),
             _sentence(3, 0, "Hoe werk je samen?", kind="question")]
    text, _, _ = compose(_evidence(hits, [(lead, 0.9)], items), hits)
    assert "?." not in text and "?;" not in text and "- Hoe betrek je burgers?" in text


def test_a_lead_in_without_its_list_never_ends_on_a_colon() -> None:
    hits = [_hit(0, "Doc")]
    ev = _evidence(hits, [(_sentence(1, 0, "Het VVSG vraagt daarbij de naleving ervan:", kind="lead_in"), 0.6),
                          (_sentence(2, 0, "Gemeenten voeren het beleid lokaal uit.", kind="sentence"), 0.4)])
    text, _, _ = compose(ev, hits)
    assert ": [1]" not in text and not any(line.rstrip().endswith(":") for line in text.splitlines())


def test_a_sentence_the_previous_answer_quoted_is_not_quoted_again() -> None:
    hits = [_hit(0, "Aankondiging")]
    fee = _sentence(1, 0, "Bij afwezigheid zonder annulatie rekenen we een no-show vergoeding van 15 euro aan.")
    deadline = _sentence(2, 0, "Registratie sluit op 20 maart 2023.")
    ev = _evidence(hits, [(fee, 0.6), (deadline, 0.4)])
    previous = f"{fee.text} [1]\n" + t("answer.source", titles="Aankondiging")  # the first answer gave the fee
    text, _, _ = compose(ev, hits, previous=Previous(previous))
    assert text.startswith("Registratie sluit op 20 maart 2023. [1]") and "no-show" not in text


def test_a_list_item_already_shown_leads_again_alone_when_it_holds_what_the_follow_up_adds() -> None:
    from assistant.answer.followup import new_terms

    hits = [_hit(0, "Memorandum")]
    lead = _sentence(1, 0, "Het memorandum vraagt:", kind="lead_in")
    school = _sentence(2, 0, "Onderwijs: nood aan een taskforce Onderwijs", kind="item")
    work = _sentence(3, 0, "Werk: nood aan een taskforce Werk", kind="item")
    other = _sentence(4, 0, "Ook een regisseur moet worden aangeduid.")
    ev = _evidence(hits, [(work, 0.5), (school, 0.3), (other, 0.2)], [lead])
    first = ("Het memorandum vraagt:\n- Onderwijs: nood aan een taskforce Onderwijs\n"
             "- Werk: nood aan een taskforce Werk [1]")
    asked = "Wat zegt het memorandum over onderwijs?"
    text, _, _ = compose(ev, hits, previous=Previous(first, new_terms("En over werk?", asked)))
    assert text.startswith("Werk: nood aan een taskforce Werk [1]")  # the item asked about, not its list again
    assert "Onderwijs" not in text
    # a follow-up that adds a word the shown item does not hold gets what is new instead
    text, _, _ = compose(ev, hits, previous=Previous(first, new_terms("En over wonen?", asked)))
    assert text.startswith("Ook een regisseur") and "taskforce" not in text


def test_a_shown_sentence_with_the_asked_fact_gives_way_to_one_of_its_passage_not_shown_yet() -> None:
    hits = [_hit(0, "Programma"), _hit(1, "Programma")]
    intro = _sentence(1, 0, "De dag wordt georganiseerd door het Agentschap en de VVSG.")
    leader = _sentence(2, 0, "Begeleiding door Hilde De Pessemier.")
    elsewhere = _sentence(3, 1, "Begeleiding door Bas Dhoey.")

    def asked(scored: list[tuple[SentenceRecord, float]]) -> Evidence:
        ev = _evidence(hits, scored)
        people = [replace(c, fact=1.0) for c in ev.candidates]  # each names someone
        return replace(ev, ask=ask_of("Wie begeleidt dat?"), candidates=people)

    shown = Previous("De dag wordt georganiseerd door het Agentschap en de VVSG. [1]")
    # the session's own leader, close behind, leads; the organisers the last answer named do not again
    text, _, _ = compose(asked([(intro, 0.5), (leader, 0.45)]), hits, previous=shown)
    assert text.startswith("Begeleiding door Hilde De Pessemier.") and "Agentschap" not in text
    # someone of another passage does not push it aside: the shown sentence names whom the follow-up asks for
    text, _, _ = compose(asked([(intro, 0.5), (elsewhere, 0.45)]), hits, previous=shown)
    assert text.startswith("De dag wordt georganiseerd")


def test_the_words_a_follow_up_adds_are_its_content_words_the_conversation_had_not_searched() -> None:
    from assistant.answer.followup import new_terms

    assert new_terms("En over werk?", "Wat zegt het memorandum over onderwijs?") == {"werk"}
    assert new_terms("Wie begeleidt die sessie?", "Welke sessie begeleidt Bas?") == frozenset()
    assert len(new_terms("Welke activiteiten doen ze samen?", "Welk project koppelt buddy's?")) == 2


def test_citations_carry_the_spans_of_the_quoted_sentences() -> None:
    passage = "Inleiding van de tekst. De studiedag is gratis. Tot slot nog iets."
    hits = [_hit(0, "Doc", passage)]
    start = passage.index("De studiedag")
    s = SentenceRecord(id=1, passage_id=0, start=start, end=start + len("De studiedag is gratis."),
                       text="De studiedag is gratis.", kind="sentence", block=0)
    _, citations, _ = compose(_evidence(hits, [(s, 0.9)]), hits)
    (a, b), = citations[0].quotes
    assert passage[a:b] == "De studiedag is gratis."
    assert citations[0].to_dict()["quotes"] == [[a, b]]


def test_a_refusal_has_no_sources_only_related_passages() -> None:
    hits = [_hit(0, "A"), _hit(1, "B")]
    text, citations, related = not_found(hits)
    assert text == t("answer.not_found") and citations == () and [c.n for c in related] == [1, 2]


def test_an_item_under_a_lead_the_question_names_brings_the_whole_list() -> None:
    """"Wat vraagt de VVSG rond taalbeleid?": every item under "Taalbeleid:", not the one that scored best."""
    hits = [_hit(0, "Memorandum")]
    lead = SentenceRecord(id=1, passage_id=0, start=0, end=12, text="Taalbeleid:", kind="item", block=0,
                          terms=("taalbeleid",))
    rows = ["Voldoende NT2 aanbod", "Voldoende aanbod sociaal tolken en vertalers",
            "Ondersteuning taalbeleid bij gemeentelijke dienstverlening, maar ook onderwijs, welzijn en gezondheid."]
    items = [_sentence(2 + i, 0, x, kind="item") for i, x in enumerate(rows)]
    ev = _evidence(hits, [(items[2], 0.9)], [lead, *items[:2]])
    asked = Evidence(ev.ask, ev.candidates, ev.sentences, True, 0.9, {}, frozenset({"taalbeleid", "vvsg"}))
    text, _, _ = compose(asked, hits)
    assert text.startswith("Taalbeleid: [1]\n- Voldoende NT2 aanbod\n- Voldoende aanbod sociaal tolken")
    alone, _, _ = compose(ev, hits)  # a question about something else gets the long item alone
    assert alone.startswith("Ondersteuning taalbeleid") and "NT2" not in alone


def _checkable(hits: list[Hit], question: str, scored: list[tuple[SentenceRecord, float, float]]) -> Evidence:
    """Evidence for a question that asks a kind of fact: (sentence, share, fact match) per candidate."""
    hit_of = {h.passage.id: h for h in hits}
    candidates = [Candidate(s, hit_of[s.passage_id], 0, np.zeros(1), share, fact, share) for s, share, fact in scored]
    return Evidence(ask_of(question), candidates, sorted((s for s, _, _ in scored), key=lambda s: s.id), True, 0.9, {})


def test_a_runner_up_that_holds_the_asked_kind_of_fact_leads() -> None:
    hits = [_hit(0, "Aankondiging")]
    general = _sentence(1, 0, "De studiedag is gericht op lokale beleidsmakers en het middenveld.")
    place = SentenceRecord(id=2, passage_id=0, start=0, end=30, text="KBR, Kunstberg 28, 1000 Brussel", kind="heading",
                           block=1, facts="place:Kunstberg 28")
    text, _, _ = compose(_checkable(hits, "Waar vindt de studiedag plaats?", [(general, 0.6, 0.0), (place, 0.3, 1.0)]),
                         hits)
    assert text.startswith("KBR, Kunstberg 28, 1000 Brussel [1]")


def test_a_long_lead_is_cut_to_the_clause_that_holds_the_asked_fact() -> None:
    hits = [_hit(0, "Inspiratiedag")]
    long = ("Om zowel de huidige als nieuwe lokale besturen te inspireren rond de 24 acties organiseren het Agentschap "
            "Binnenlands Bestuur en de VVSG, in samenwerking met het Agentschap Integratie en Inburgering, op 25 mei "
            "een inspiratiedag in het Vlaams Parlement.")
    s = SentenceRecord(id=1, passage_id=0, start=0, end=len(long), text=long, kind="sentence", block=0,
                       facts="date:op 25 mei")
    text, citations, _ = compose(_checkable(hits, "Wanneer is de inspiratiedag?", [(s, 1.0, 1.0)]), hits)
    assert text.startswith("…") and text.index("op 25 mei") < 80 and text.endswith("Vlaams Parlement. [1]\n"
                                                                                 + t("answer.source",
                                                                                     titles="Inspiratiedag"))
    assert citations[0].quotes == ((0, len(long)),)  # the source still shows the whole sentence


def test_overview_heads_answer_a_plural_question_only() -> None:
    from assistant.answer.compose import overview_heads

    heads = [_sentence(i, i, f"Werksessie actie {i}: onderwerp {i}", kind="heading") for i in range(1, 5)]
    other = [_sentence(9, 9, "Werksessies zijn interactief.", kind="sentence")]
    assert overview_heads(ask_of("Welke werksessies waren er op de inspiratiedag?"), heads + other) == heads
    assert overview_heads(ask_of("Welke werksessie gaat over sport?"), heads) == []  # one of them, not all
    assert overview_heads(ask_of("Welke werksessies waren er?"), heads[:2]) == []  # two headings are no overview
    bare = [_sentence(i, i, "Sleutelfactor", kind="heading") for i in range(1, 5)]  # the number on its own line
    assert overview_heads(ask_of("Welke sleutelfactoren zijn er?"), bare) == []


def test_a_lead_in_that_ends_its_passage_is_quoted_with_the_list_in_the_next_one() -> None:
    hits = [_hit(0, "Memorandum")]
    lead = _sentence(1, 0, "We schuiven volgende prioriteiten naar voor:", kind="lead_in")
    items = [_sentence(2, 1, "Toegankelijkheid van dienstverlening", kind="item"),
             _sentence(3, 1, "Taalbeleid", kind="item"), _sentence(4, 1, "Een gewone zin daarna.")]
    nxt = _hit(1, "Memorandum", "Toegankelijkheid van dienstverlening\nTaalbeleid\nEen gewone zin daarna.")
    ev = _evidence(hits, [(lead, 0.9)])
    text, citations, _ = compose(ev, hits, following=lambda pid: (nxt, items) if pid == 0 else None)
    assert text.startswith("We schuiven volgende prioriteiten naar voor: [1]\n- Toegankelijkheid van dienstverlening"
                           "\n- Taalbeleid [2]\n")
    assert "gewone zin" not in text and [c.passage_id for c in citations] == [0, 1]
    assert citations[1].quotes == ((items[0].start, items[1].end),)
    alone, _, _ = compose(ev, hits)  # without the next passage: no dangling colon
    assert ": [1]" not in alone
