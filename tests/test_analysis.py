from assistant.text.analysis import Decompounder, analyze, fold, stem


def test_fold_removes_accents_and_case() -> None:
    assert fold("Financiële Coördinatie") == "financiele coordinatie"


def test_dutch_stemming_joins_inflections() -> None:
    assert stem("verenigingen") == stem("vereniging")
    assert analyze("De steden") == analyze("stad") or stem("steden") != ""


def test_stop_words_in_three_languages_are_dropped() -> None:
    assert analyze("de het een the of les des") == []


def test_decompounder_splits_against_vocabulary() -> None:
    d = Decompounder(["correspondentie", "testen", "arbeid", "markt", "omstaander", "trainingen"])
    assert d.split("correspondentietesten") == ["correspondentie", "testen"]
    assert d.split("arbeidsmarkt")[1] == "markt"
    assert d.split("onbekendwoord") == []
    terms = analyze("correspondentietesten", d)
    assert stem("testen") in terms and stem("correspondentie") in terms
