from assistant.analysis import analyze
from assistant.compose import best_sentence, compose_answer
from assistant.messages import t
from assistant.types import Citation


def _cite(n: int, text: str, source: str = "a.txt") -> Citation:
    return Citation(n=n, text=text, title=f"Titel {source}", source=source, page=None, section="", score=0.9,
                    passage_id=n, start=0, end=len(text))


def test_best_sentence_prefers_a_real_sentence_over_the_heading() -> None:
    text = "Werksessie actie 22: Pleinmakers aanbieden\nDe stad startte ermee. Pleinmakers zijn inwoners van een buurt."
    assert best_sentence(set(analyze("Wat zijn pleinmakers?")), text) == "Pleinmakers zijn inwoners van een buurt."


def test_list_markers_are_dropped() -> None:
    text = "Richtvragen\n- ✓ Zijn er tolken aanwezig in het geval van taalbarrières?"
    assert best_sentence(set(analyze("tolken")), text).startswith("Zijn er tolken")


def test_answer_cites_with_markers_and_refers_to_the_rest() -> None:
    cites = [_cite(1, "Pleinmakers zijn inwoners van een buurt."), _cite(2, "Iets anders.", "b.txt")]
    text = compose_answer("Wat zijn pleinmakers?", cites, found=True)
    assert text.startswith("Volgens Titel a.txt [1]: Pleinmakers zijn inwoners")
    assert "[2]" in text


def test_not_found_text_is_plain() -> None:
    assert compose_answer("x", [_cite(1, "iets")], found=False) == t("answer.not_found")
