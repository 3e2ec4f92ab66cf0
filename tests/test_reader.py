"""Late interaction (assistant/answer/reader.py, measured by bench/pairwise_reader.py): alignment and signals."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer import reader


def _unit(*rows: list[float]) -> np.ndarray:
    v = np.asarray(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_tokens_are_tied_to_their_words_also_when_offsets_include_the_leading_space() -> None:
    text = "Hoeveel mensen, op de wachtlijst?"
    prompt = "query: "
    full = prompt + text
    # <s>, "query", ":", then sentencepiece-like pieces whose offsets start at the space before a word
    pieces = [(0, 0), (0, 5), (5, 6)]
    for word in ("Hoeveel", "mensen", ",", "op", "de", "wacht", "lijst", "?"):
        at = full.index(word, pieces[-1][1])
        start = at - 1 if full[at - 1] == " " else at
        pieces.append((start, at + len(word)))
    pieces.append((0, 0))  # </s>
    offsets = np.array(pieces)
    vectors = np.eye(len(pieces), 8, dtype=np.float32) + 0.01
    tokens = reader.tokens_of(vectors, offsets, text, len(prompt))
    assert tokens.words == ("hoeveel", "mensen", "op", "de", "wachtlijst")
    # punctuation, specials and the prompt are dropped; "wacht" + "lijst" both belong to the fifth word
    assert tokens.word.tolist() == [0, 1, 2, 3, 4, 4]
    assert tokens.content.tolist() == [False, True, False, False, True]
    assert np.allclose(np.linalg.norm(tokens.vectors, axis=1), 1.0)


def _tokens(vectors: np.ndarray, words: tuple[str, ...], content: list[bool]) -> reader.Tokens:
    return reader.Tokens(vectors, np.arange(len(words)), words, np.array(content))


def test_the_rarest_word_left_unmatched_lowers_li_rare_more_than_li_idf() -> None:
    q = _tokens(_unit([1, 0, 0], [0, 1, 0]), ("mensen", "wachtlijst"), [True, True])
    with_list = _tokens(_unit([1, 0, 0], [0, 1, 0.1]), ("mensen", "wachtlijst"), [True, True])
    without = _tokens(_unit([1, 0, 0], [0, 0.2, 1]), ("deelnemers", "project"), [True, True])
    weights = np.array([1.0, 4.0])  # "wachtlijst" is the rare word
    good = reader.signals([reader.word_scores(q, with_list)], weights)
    bad = reader.signals([reader.word_scores(q, without)], weights)
    assert good["li_rare"] > 0.9 > 0.5 > bad["li_rare"]
    assert bad["li_idf"] > bad["li_rare"]  # the common word is matched, the rare one is not
    # reading several sentences: each word takes its best match in any of them
    both = reader.signals([reader.word_scores(q, without), reader.word_scores(q, with_list)], weights)
    assert both == good


def test_best_sentences_are_the_eligible_ones_the_sentence_model_likes_best() -> None:
    probs = np.array([0.9, 0.2, 0.8, 0.7, 0.1])
    eligible = np.array([False, True, True, True, True])
    assert reader.best_sentences(probs, eligible, k=3) == [2, 3, 1]


def test_an_embedder_without_token_vectors_gives_no_signals() -> None:
    found = reader.read(object(), "Hoeveel mensen?", ["Tien mensen."], lambda w: 1.0)
    assert set(found) == set(reader.FEATURES) and all(np.isnan(v) for v in found.values())


@pytest.mark.real_model
def test_on_the_real_model_a_sentence_without_the_asked_thing_matches_it_worse(real_embedder) -> None:  # type: ignore[no-untyped-def]
    question = "Hoeveel mensen staan op de wachtlijst van het taalproject?"
    weights = {"wachtlijst": 6.0, "taalproject": 5.0, "mensen": 2.0, "staan": 1.5}

    def weight(word: str) -> float:
        return weights.get(word, 1.0)

    near_miss = reader.read(real_embedder, question, ["Het taalproject telt vijftig deelnemers uit drie steden."],
                            weight)
    answer = reader.read(real_embedder, question, ["Op de wachtlijst van het taalproject staan 120 mensen."], weight)
    french = reader.read(real_embedder, "Combien de personnes sont sur la liste d'attente du projet linguistique ?",
                         ["Op de wachtlijst van het taalproject staan 120 mensen."], weight)
    assert answer["li_rare"] > near_miss["li_rare"] + 0.05
    assert answer["li_idf"] > near_miss["li_idf"]
    assert all(0.0 < v <= 1.0 for v in french.values())
