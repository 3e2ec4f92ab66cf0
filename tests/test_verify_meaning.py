"""The meaning signals of the sentence check (assistant/answer/polarity.py), alone and through the verifier on the
real model: a sentence that says the opposite of its passage with the passage's own words is removed."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.answer.polarity import (
    antonym_flips,
    binding_flips,
    missing_roles,
    negated,
    negation_flips,
    quantity_flips,
)
from assistant.answer.verify import Verifier, claims

PLEIN = ("Pleinmakers zijn inwoners van een bepaalde buurt in de stad of gemeente en proberen via allerhande "
         "initiatieven de sociale samenhang in de publieke ruimte te versterken. Een pleinmaker is regelmatig "
         "aanwezig in de buurt, kent de sleutelfiguren en maakt deel uit van het buurtnetwerk.")


def test_a_negation_reaches_the_word_it_denies_not_the_whole_sentence() -> None:
    assert negated("Een pleinmaker maakt geen deel uit van het buurtnetwerk.")[0] == {"deel", "buurt"}
    assert negated("Hij kent de sleutelfiguren niet.")[0] == {"sleut"}  # closing "niet": the word before
    assert negated("Niet alleen voor, maar mét nieuwkomers.") == (set(), 0)  # "niet alleen" adds
    assert negated("Ze kijken weg en doen niets.")[0] == set()  # "niets" is a thing, not a denial
    assert negated("We do not pay.")[1] == 1 and negated("Il ne paie pas.")[1] == 1
    assert negated("Je pas arrivé.")[1] == 0  # Dutch-looking "pas" without "ne" is no negator


def test_negation_added_dropped_and_of_unmentioned_words() -> None:
    added, dropped, unmentioned = negation_flips("Een pleinmaker maakt geen deel uit van het buurtnetwerk.", PLEIN,
                                                 PLEIN)
    assert added >= 1 and dropped == 0
    # the passage negates it too: no flip ("niet" on both sides)
    assert negation_flips("Wie niet annuleert voor 20 maart, betaalt 15 euro.",
                          "Als we geen annulatie hebben ontvangen voor 20 maart zijn we verplicht 15€ aan te rekenen.",
                          "")[0] == 0
    # a claim without negator restating a negated sentence
    source = "Met 12work kijken we niet naar verleden, ervaring of diploma."
    assert negation_flips("Bij 12work kijkt men vooral naar ervaring en diploma.", source, source)[1] >= 1
    assert negation_flips("Bij 12work kijkt men niet naar ervaring of diploma.", source, source)[:2] == (0, 0)
    # denying what the passage never mentions
    assert negation_flips("Pleinmakers engageren zich niet vrijwillig.", PLEIN, PLEIN)[2] == 1


def test_antonyms_the_passage_says_the_other_side_of() -> None:
    assert "zelden" in antonym_flips("Een pleinmaker is zelden aanwezig in de buurt.", PLEIN, PLEIN)
    assert antonym_flips("Een pleinmaker is regelmatig aanwezig in de buurt.", PLEIN, PLEIN) == []
    assert antonym_flips("Deelname is betalend.", "Deelname aan deze studiedag is gratis.") == ["betalend"]
    assert antonym_flips("Een ontoegankelijke publieke ruimte stimuleert contact.",
                         "Een toegankelijke en multifunctionele publieke ruimte kan contacten stimuleren.")
    # a negated opposite claims nothing; a claim contrasting both sides is judged on the whole passage
    assert antonym_flips("Een pleinmaker is niet zelden aanwezig.", PLEIN) == []
    passage = "Waar grotere steden veel ervaring hebben, geldt dit minder voor kleine en middelgrote steden."
    assert antonym_flips("Kleine steden hebben minder ervaring dan grotere steden.", passage, passage) == []
    # words that open with "on" without meaning "not" are left alone
    assert antonym_flips("Het lokaal bestuur kan ondersteunen.", "Het lokaal bestuur kan steunen.") == []


def test_roles_binding_and_quantities() -> None:
    assert missing_roles("Pleinmakers zijn ambtenaren van de stad.", PLEIN) == ["ambtenaren"]
    assert missing_roles("Pleinmakers zijn buurtbewoners.", PLEIN + " De pleinmaker spreekt andere bewoners aan.") \
        == []
    leaders = ["KULeuven en UCLL werken al jaren samen.",
               "Begeleiding door Yasmine Goossens (UCLL) en Ahmed Chouyouhi (KULeuven)."]
    assert binding_flips("Yasmine Goossens werkt voor de KULeuven.", leaders) == ["goossens ~ kuleuven"]
    assert binding_flips("Yasmine Goossens werkt voor UCLL.", leaders) == []
    assert binding_flips("Yasmine Goossens en Ahmed Chouyouhi begeleiden de sessie.", leaders) == []
    programme = "10u- 12u: deel 1. Het project onderzocht integratiebeleid in 10 landen."
    assert quantity_flips("Het project onderzocht integratiebeleid in 12 landen.", programme) == ["12 lande"]
    assert quantity_flips("Het project onderzocht integratiebeleid in tien landen.", programme) == []


@pytest.mark.real_model
def test_contradictions_of_the_pleinmakers_passage_are_removed(real_assistant: Any) -> None:
    reader = real_assistant.reader
    pid = next(p.id for p in reader.passages(list(range(reader.passage_count)))
               if "Pleinmakers zijn inwoners" in p.text)
    verifier = Verifier(reader, real_assistant.embedder)
    items = claims("Pleinmakers zijn inwoners van een buurt die de sociale samenhang in de publieke ruimte "
                   "versterken [1]. "
                   "Een pleinmaker is regelmatig in de buurt aanwezig en kent de sleutelfiguren [1]. "
                   "Pleinmakers zijn ambtenaren van de stad die de publieke ruimte bewaken [1]. "
                   "Een pleinmaker is zelden aanwezig in de buurt en maakt geen deel uit van het buurtnetwerk [1]. "
                   "Pleinmakers zijn inwoners die zich niet vrijwillig engageren voor hun buurt [1]. "
                   "Een pleinmaker kent de sleutelfiguren in de buurt niet [1].")
    verdicts = verifier.check(items, {1: pid})
    assert [v.supported for v in verdicts] == [True, True, False, False, False, False], \
        [(c.text, v.reason) for c, v in zip(items, verdicts, strict=True)]
    assert verdicts[2].reason == "role" and "ambtenaren" in verdicts[2].missing
    assert verdicts[3].reason in ("negation", "antonym")
    assert verdicts[5].reason == "negation"


@pytest.mark.real_model
def test_a_changed_fee_or_negated_cancellation_is_removed_and_the_paraphrase_kept(real_assistant: Any) -> None:
    reader = real_assistant.reader
    pid = next(p.id for p in reader.passages(list(range(reader.passage_count))) if "no-show" in p.text)
    verifier = Verifier(reader, real_assistant.embedder)
    items = claims("Wie niet annuleert voor 20 maart, betaalt een no-show vergoeding van 15 euro [1]. "
                   "Deelname aan de studiedag is betalend [1]. "
                   "Wie niet annuleert, hoeft niets te betalen [1].")
    verdicts = verifier.check(items, {1: pid})
    assert [v.supported for v in verdicts] == [True, False, False], \
        [(c.text, v.reason) for c, v in zip(items, verdicts, strict=True)]
    assert verdicts[1].reason == "antonym"
