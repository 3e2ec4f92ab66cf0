"""Hybrid retrieval on the fake embedder: fusion, near-duplicate removal, language detection."""

from __future__ import annotations

from pathlib import Path

from assistant import Assistant
from assistant.answer.retrieval import jaccard, shingles
from assistant.config import Settings
from assistant.text.analysis import detect_language
from ingest.build import ingest

from .fakes import FakeEmbedder

BASE = ("De stad organiseert een infomoment over samenleven in diversiteit voor verenigingen en buurtwerkers. "
        "Iedereen is welkom in het ontmoetingscentrum; inschrijven kan via de website van de stad.")


def _corpus(tmp_path: Path, files: dict[str, str]) -> Settings:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus)


def test_near_duplicates_do_not_crowd_the_top(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    s = _corpus(tmp_path, {
        "aankondiging.txt": "Aankondiging\n\n" + BASE,
        "programma.txt": "Programma\n\n" + BASE + " Het infomoment start om tien uur.",
        "ander.txt": "Taal\n\nHet taalbeleid van de stad zet in op oefenkansen Nederlands voor nieuwkomers.",
    })
    ingest(s, embedder=fake_embedder)
    a = Assistant.load(settings=s, embedder=fake_embedder)
    ans = a.ask("infomoment samenleven in diversiteit voor verenigingen", top_k=3)
    sources = [c.source for c in ans.citations + ans.related]
    assert sources.count("aankondiging.txt") + sources.count("programma.txt") == 1
    assert "ander.txt" in sources


def test_a_rare_name_wins_through_the_lexical_side(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    filler = "Lokale besturen werken aan integratie en samenleven in kleine en middelgrote steden. " * 3
    files = {f"doc{i}.txt": f"Titel {i}\n\n{filler}" for i in range(6)}
    files["doc3.txt"] = "Titel 3\n\n" + filler + "Het project Kwartierwerk van Zoersel koppelt buddy's aan nieuwkomers."
    s = _corpus(tmp_path, files)
    ingest(s, embedder=fake_embedder)
    ans = Assistant.load(settings=s, embedder=fake_embedder).ask("Wat doet Kwartierwerk?", top_k=3)
    assert (ans.citations + ans.related)[0].source == "doc3.txt"


def test_shingle_similarity() -> None:
    assert jaccard(shingles(BASE), shingles(BASE + " Extra zin.")) > 0.8
    assert jaccard(shingles(BASE), shingles("Iets heel anders over taalbeleid en oefenkansen.")) == 0.0


def test_language_detection() -> None:
    assert detect_language("Wat zijn pleinmakers?") == "nl"
    assert detect_language("What is 12work in Mechelen?") == "en"
    assert detect_language("Quelles sont les attentes de la VVSG ?") == "fr"
    assert detect_language("12work") == "nl"  # no evidence: the corpus language
