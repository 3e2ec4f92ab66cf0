"""The assistant on the real model: retrieval quality on the dev set, the contract, adding a PDF."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.config import Settings
from assistant.evaluation import evaluate, format_report, read_questions
from assistant.messages import t
from ingest.build import ingest

from .conftest import CORPUS, DEV_SET, shared_models_dir
from .pdfs import make_pdf

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def dev_result(real_assistant: Assistant) -> dict:
    if not DEV_SET.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{DEV_SET} is missing: CI must measure the dev set")
        pytest.skip(f"{DEV_SET} is not present (it lives in ../shared beside the repository)")
    result = evaluate(lambda q: real_assistant.ask(q, top_k=5), read_questions(DEV_SET))
    print("\n" + format_report(result))
    return result


def test_dev_set_ranking_meets_the_bar(dev_result: dict) -> None:
    overall = dev_result["answerable"]["all"]
    assert overall["hit@1"] >= 0.85, format_report(dev_result)
    assert overall["hit@5"] == 1.0, format_report(dev_result)
    assert overall["mrr"] >= 0.90, format_report(dev_result)


def test_dev_set_abstention_is_exact(dev_result: dict) -> None:
    assert dev_result["abstention"]["n"] == 4
    assert dev_result["abstention"]["accuracy"] == 1.0, format_report(dev_result)
    assert dev_result["false_abstentions"] == 0, format_report(dev_result)


def test_answer_contract(real_assistant: Assistant) -> None:
    ans = real_assistant.ask("Wat zijn pleinmakers?", top_k=3)
    assert ans.found
    assert "[1]" in ans.text and "Pleinmakers" in ans.text
    assert 1 <= len(ans.citations) <= 3
    first = ans.citations[0]
    assert first.source == "plan-samenleven-inspiratiedag-werksessies.txt"
    assert first.title == "Inspiratiedag Plan Samenleven: programma en werksessies"
    assert first.page is None and "Pleinmakers" in first.section
    assert [c.n for c in ans.citations] == [1, 2, 3]
    assert ans.citations[0].score >= ans.citations[-1].score - 0.05
    json.dumps(ans.to_dict())  # JSON-ready


def test_no_answer_is_said_plainly_in_dutch(real_assistant: Assistant) -> None:
    ans = real_assistant.ask("Wat is het bedrag van het leefloon voor een alleenstaande in 2024?")
    assert not ans.found
    assert ans.text == t("answer.not_found")


@pytest.mark.parametrize("question, source", [
    ("What is 12work in Mechelen?", "plan-samenleven-inspiratiedag-werksessies.txt"),
    ("Quelles sont les attentes de la VVSG en matière de politique linguistique ?",
     "vvsg-memorandum-migratie-en-integratie.txt"),
])
def test_english_and_french_questions(real_assistant: Assistant, question: str, source: str) -> None:
    ans = real_assistant.ask(question)
    assert ans.found and ans.citations[0].source == source


def test_adding_a_pdf_embeds_only_that_document(real_index_settings: Settings, real_embedder,  # type: ignore[no-untyped-def]
                                                 tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    shutil.copytree(real_index_settings.index_dir, settings.index_dir, symlinks=True)
    make_pdf(corpus / "zoersel-smaakbrug.pdf", title="Nota: samen koken in Zoersel", pages=[
        "De gemeente Zoersel wil nieuwkomers en buren met elkaar in contact brengen. Deze nota beschrijft "
        "hoe de dienst Samenleven daarvoor een aanpak uitwerkte met vrijwilligers en verenigingen.",
        "Het kookatelier Smaakbrug vindt elke donderdagavond plaats in ontmoetingscentrum De Kroon. "
        "Nieuwkomers en buren koken er samen gerechten uit hun eigen keuken; de stad betaalt de "
        "ingrediënten en een tolk is aanwezig wanneer dat nodig is.",
        "Evaluatie: na één jaar namen 140 deelnemers deel. De coördinatie ligt bij de integratieambtenaar.",
    ])
    report = ingest(settings, embedder=real_embedder)
    print(f"\nre-ingest: {report.documents_embedded} document(s), {report.passages_embedded} passages embedded, "
          f"{report.documents_reused} reused")
    assert report.documents_embedded == 1 and report.documents_reused == 5
    new_passages = [d for d in Assistant.load(settings=settings, embedder=real_embedder).documents()
                    if d["source"] == "zoersel-smaakbrug.pdf"][0]["passages"]
    assert report.passages_embedded == new_passages

    ans = Assistant.load(settings=settings, embedder=real_embedder).ask(
        "Wanneer vindt het kookatelier Smaakbrug in Zoersel plaats?")
    assert ans.found
    top = ans.citations[0]
    assert top.source == "zoersel-smaakbrug.pdf" and top.page == 2
    assert "donderdagavond" in top.text and "ingrediënten" in top.text
    assert top.title == "Nota: samen koken in Zoersel"


def _cli(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEGWIJZER_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1",
           "WEGWIJZER_CORPUS_DIR": str(CORPUS)}
    return subprocess.run([sys.executable, "-m", "bots.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def test_cli_ask_json_and_missing_index(real_index_settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(real_index_settings.data_dir, data, symlinks=True)
    if not (data / "models").exists():
        (data / "models").symlink_to(shared_models_dir())
    out = _cli(["ask", "Wie begeleidt de werksessie over correspondentietesten?", "--json", "--top-k", "2"], data)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["found"] is True and len(answer["citations"]) == 2
    assert "Frank Philips" in answer["citations"][0]["text"]

    empty = _cli(["ask", "Wat zijn pleinmakers?"], tmp_path / "leeg")
    assert empty.returncode == 1
    assert "wegwijzer ingest" in empty.stderr and "Traceback" not in empty.stderr
