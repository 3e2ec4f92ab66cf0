"""Verification of written sentences (assistant/answer/verify.py): splitting an answer into cited claims, the facts a
claim must find in its passage, and the verdicts on the real model and index."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.answer.generate import declined, usable_rewrite
from assistant.answer.verify import Verifier, claims, required_facts


def test_claims_carry_their_markers_wherever_the_model_puts_them() -> None:
    text = ("De sessie wordt begeleid door Bas Dhoey [1]. Deelname is gratis. [2] Een zin [1][3] met twee bronnen.\n"
            "- Een lijstitem met een bron [2]\n"
            "Een zin zonder bron. Nog een [1, 2].")
    got = [(c.text, c.cites, c.line) for c in claims(text)]
    assert got == [("De sessie wordt begeleid door Bas Dhoey.", (1,), 0),
                   ("Deelname is gratis.", (2,), 0),
                   ("Een zin met twee bronnen.", (1, 3), 0),
                   ("Een lijstitem met een bron", (2,), 1),
                   ("Een zin zonder bron.", (), 2),
                   ("Nog een.", (1, 2), 2)]
    assert claims("") == [] and claims("[1]") == []


def test_required_facts_are_numbers_names_and_contacts() -> None:
    facts = required_facts("Volgens de VVSG vonden een 50-tal mensen werk via 12work in Mechelen; mail info@x.be "
                           "of kijk op www.x.be, vier keer per jaar.")
    assert {"VVSG", "50", "12", "Mechelen", "info@x.be", "www.x.be", "vier"} <= set(facts)
    assert "Volgens" not in facts  # the capital that opens a sentence names nothing
    assert required_facts("De sessie is gratis.") == ["gratis"]
    assert required_facts("Het weer is mooi.") == []


def test_the_model_declining_and_usable_rewrites() -> None:
    assert declined("GEEN ANTWOORD") and declined("  geen antwoord. ") and declined("GEEN ANTWOORD [1]")
    assert not declined("De sessie is gratis [1]. GEEN ANTWOORD op de rest.")
    assert usable_rewrite("Wie begeleidt de werksessie over pleinmakers?\n", "Wie begeleidt die?") == \
        "Wie begeleidt de werksessie over pleinmakers?"
    assert usable_rewrite("Rewritten question: Wat kost de studiedag?", "En dat?") == "Wat kost de studiedag?"
    assert usable_rewrite("", "x") is None and usable_rewrite("x" * 500, "x") is None


@pytest.mark.real_model
def test_verdicts_on_the_real_model(real_assistant: Any) -> None:
    answer = real_assistant.ask("Hoeveel kost deelname aan de studiedag in Brussel?")
    pid = answer.citations[0].passage_id
    verifier = Verifier(real_assistant.reader, real_assistant.embedder)
    items = claims("Deelname aan de studiedag is gratis. [1] "
                   "Wie niet annuleert, betaalt een no-show vergoeding van 15€. [1] "
                   "Deelname kost 50 euro. [1] "
                   "De studiedag wordt georganiseerd door de stad Antwerpen. [1] "
                   "Je moet een lunchpakket meebrengen. [1] "
                   "Deelname is gratis. [4] "
                   "Deelname is gratis.")
    verdicts = verifier.check(items, {1: pid})
    assert [v.supported for v in verdicts] == [True, True, False, False, False, False, False]
    assert [v.reason for v in verdicts[2:]] == ["facts", "facts", "meaning", "unknown_citation", "no_citation"]
    assert verdicts[2].missing == ("50",) and "Antwerpen" in verdicts[3].missing
