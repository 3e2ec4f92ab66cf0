"""Answer-type detection: what a question asks for, and which facts a sentence holds (nl, en, fr)."""

from __future__ import annotations

import pytest

from assistant.text.analysis import analyze
from assistant.text.facts import (
    AMOUNT,
    CONTACT,
    DATE,
    DEFINITION,
    METHOD,
    NAME,
    NUMBER,
    OTHER,
    PERSON,
    PLACE,
    ask_of,
    decode_facts,
    encode_facts,
    fact_match,
    facts_in,
)


@pytest.mark.parametrize("question, kind", [
    ("Hoeveel vrijwilligers helpen mee?", NUMBER),
    ("How many people found a job?", NUMBER),
    ("Combien de villes participent ?", NUMBER),
    ("Hoeveel kost een tolk per uur?", AMOUNT),
    ("What fee is charged for a no-show?", AMOUNT),
    ("Wie begeleidt de sessie?", PERSON),
    ("Who leads the workshop?", PERSON),
    ("Qui anime l'atelier ?", PERSON),
    ("Wanneer vindt de studiedag plaats?", DATE),
    ("When is the deadline?", DATE),
    ("Quand a lieu la journée ?", DATE),
    ("Wat zijn de openingsuren van het loket?", DATE),
    ("Waar vindt de inspiratiedag plaats?", PLACE),
    ("Where is the meeting held?", PLACE),
    ("Où se trouve le bureau ?", PLACE),
    ("Welke steden vertellen hoe ze werkten?", PLACE),
    ("Wat is het adres van het huis?", CONTACT),
    ("Naar welk e-mailadres stuur je een mail?", CONTACT),
    ("What is the phone number of the office?", CONTACT),
    ("Wat zijn pleinmakers?", DEFINITION),
    ("Hoe kunnen steden discriminatie opsporen?", METHOD),
    ("Hoe laat je kinderen kennismaken met kunst?", METHOD),  # "laten" (to let), not a time
    ("Hoe laat begint de werksessie?", DATE),
    ("Qu'est-ce qui caractérise un pleinmaker ?", OTHER),  # "qu'est-ce qui" is "what", not "who"
    ("Qui dirige le projet ?", PERSON),
    ("Voor wie is de studiedag bedoeld?", OTHER),  # an audience, not a person
    ("À qui s'adresse la journée ?", OTHER),  # "s'adresser à": not an address
    ("Waar draait sleutelfactor 3 om?", OTHER),  # split "waarom", not a place
    ("Waar vindt de studiedag plaats?", PLACE),
    ("Wat bepaalt wie als eerste aan de slag mag?", OTHER),  # "wie" opens a clause
    ("Voor wie werkt Karima?", PERSON),
    ("Quel salaire reçoivent les personnes engagées ?", AMOUNT),
    ("Hoe heet deel 1 van de studiedag?", NAME),
    ("Welke taskforces vraagt de federatie?", NAME),
])
def test_question_kinds(question: str, kind: str) -> None:
    assert ask_of(question).kind == kind


def test_focus_skips_modifiers_to_the_noun() -> None:
    assert ask_of("Welke vier thema's behandelen de toolkits?").focus == "thema's"
    assert ask_of("Bij welk strategisch dossier hoort de fiche?").focus == "dossier"
    assert ask_of("Hoeveel deelnemers telde de sessie?").focus == "deelnemers"
    assert ask_of("Wie is de burgemeester van Turnhout?").focus == "burgemeester"


def test_a_numbered_label_answers_which_number() -> None:
    for question in ("Welk actienummer heeft het aanbieden van pleinmakers?", "Onder welke actie valt de werksessie?",
                     "Which action number covers bystander training?", "Quel numéro porte l'action sur la culture ?"):
        ask = ask_of(question)
        assert (ask.kind, ask.detail) == (NUMBER, "label"), question
    welk = "Welk actienummer heeft pleinmakers?"
    assert _match(welk, "Werksessie actie 22: Pleinmakers aanbieden") == 1.0
    assert _match("Welke acties gaan over werk?", "Werksessie actie 9 & 11: Begeleiding naar werk") == 1.0
    # the number the question already names is no answer, and neither is a bare quantity
    assert _match("Welke actie volgt op actie 1?", "Werksessie actie 1: Samenwerken") == 0.0
    assert _match(welk, "We organiseren 24 acties.") < 1.0


def test_years_and_times_are_asked_apart() -> None:
    assert ask_of("In welk jaar werd het agentschap opgericht?").detail == "year"
    assert ask_of("Hoe laat begint de dag?").detail == "time"


def _match(question: str, sentence: str) -> float:
    ask = ask_of(question)
    return fact_match(ask, facts_in(sentence), question, set(analyze(ask.focus)), frozenset(analyze(sentence)),
                      sentence)


def test_a_count_must_count_what_is_asked() -> None:
    assert _match("Rond hoeveel acties draait het plan?", "Het plan draait rond 24 acties.") == 1.0
    assert _match("Hoeveel deelnemers telde de sessie?", "Het plan draait rond 24 acties.") == 0.5
    assert _match("Hoeveel deelnemers telde de sessie?", "Werksessie actie 13: correspondentietesten") == 0.0


def test_dates_years_and_times() -> None:
    assert _match("Tot wanneer kan men registreren?", "Registratie sluit op 20 maart 2023.") == 1.0
    assert _match("In welk jaar begon het project?", "Het project startte in 2012 in de stad.") == 1.0
    assert _match("Hoe laat begint de sessie?", "De sessie begint om 10u15 in zaal B.") == 1.0
    assert _match("Hoe laat begint de sessie?", "De sessie vindt plaats op 20 maart.") == 0.5
    assert _match("Wanneer start de sessie?", "De sessie behandelt het taalbeleid.") == 0.0


def test_a_weekday_with_its_part_of_the_day_is_a_date() -> None:
    assert _match("Wanneer vindt het kookatelier plaats?", "Het atelier vindt elke donderdagavond plaats.") == 1.0
    assert _match("Wanneer is het loket open?", "Het loket is open op zaterdagvoormiddag.") == 1.0
    assert _match("Wanneer is het loket open?", "Op maandagen is het loket gesloten.") == 1.0
    assert _match("Wanneer is het loket open?", "Het loket is donderwolken gewend.") == 0.0


def test_people_amounts_places_and_contacts() -> None:
    assert _match("Wie begeleidt de sessie?", "Begeleiding: Frank Philips (Stad Gent).") == 1.0
    assert _match("Wie is de burgemeester van Gent?", "Begeleiding: Frank Philips (Stad Gent).") == 0.5
    assert _match("Hoeveel kost deelname?", "Deelname is gratis.") == 1.0
    assert _match("Hoeveel kost deelname?", "Deelname staat open voor iedereen.") == 0.0
    assert _match("Waar vindt de dag plaats?", "KBR: Kunstberg 28, 1000 Brussel") == 1.0
    assert _match("Naar welk e-mailadres stuur je een mail?", "Mail naar events_bsog@vub.be voor info.") == 1.0


def test_flemish_names_with_a_capital_particle_name_someone() -> None:
    # "De" and "Van" open a Flemish surname; read as two capitalised words they hid the name ("Hilde De" is no one)
    for sentence, name in (("Begeleiding door Hilde De Pessemier (programmator)", "Hilde De Pessemier"),
                           ("Geleid door Sabine Van Cauwenberghe, stafmedewerker", "Sabine Van Cauwenberghe"),
                           ("Een gesprek met Anna van der Veen over taal", "Anna van der Veen")):
        assert name in [f.text for f in facts_in(sentence) if f.kind == PERSON], sentence
        assert _match("Wie begeleidt de sessie?", sentence) == 1.0, sentence
    assert not [f for f in facts_in("De Stad startte met pleinmakers.") if f.kind == PERSON and f.text.startswith("De")]


def test_a_municipality_by_name_answers_in_which_city() -> None:
    assert _match("In welke stad loopt dat project?", "De Stad Mechelen startte enkele jaren geleden.") == 1.0
    assert _match("In welke stad loopt dat project?", "Onderwijscentrum Gent (Stad Gent) zet in op ouders.") == 1.0
    assert _match("In welke stad loopt dat project?", "De stad verrichte ook een impactmeting.") == 0.0
    assert _match("Welke steden vertellen erover?", "We bekijken hoe de steden Turnhout en Halle werkten.") == 1.0
    # a town in brackets after someone is where they work; an organisation's short name is not a town
    assert _match("Voor welke stad werkt Karima?", "Karima Adouiri, consulent diversiteit (Lier)") == 1.0
    assert _match("Voor welke stad werkt Fri?", "Fri Dekeyser, projectmanager (AgII)") == 0.0


def test_an_agency_answers_which_organisation_without_the_word_organisation() -> None:
    sentence = "Versterk het Agentschap Integratie en Inburgering in deze rol."
    assert _match("Welke organisatie moet versterkt worden?", sentence) == 1.0


def test_a_fact_that_only_repeats_the_question_does_not_count() -> None:
    assert _match("Wie organiseert Plan Samenleven?", "Plan Samenleven is een plan.") == 0.0


def test_definitions_need_the_thing_defined() -> None:
    assert _match("Wat zijn pleinmakers?", "Pleinmakers zijn inwoners van een buurt.") == 1.0
    assert _match("Wat zijn pleinmakers?", "Buurtwerkers zijn inwoners van een buurt.") == 0.0


def test_facts_round_trip_through_the_index_encoding() -> None:
    facts = facts_in("Op 20 maart 2023 kwamen 24 deelnemers naar Kunstberg 28 | Brussel.")
    assert decode_facts(encode_facts(facts)) == [f.__class__(f.kind, f.text.replace("|", " ")) for f in facts]
