"""The same answers on PostgreSQL as on the file backend, on the real model and the shipped corpus.

An ingest with WEGWIJZER_DATABASE_URL (its data directory holds nothing but what the model needs) and the
file backend's index of the same corpus answer every dev question identically: the same rank of the gold
passage, the same refusals, the same text and the same cited passages. So the quality figures are equal.
"""

from __future__ import annotations

import os

import pytest

from assistant import Assistant
from assistant.config import Settings
from assistant.evaluation import evaluate, read_questions
from ingest.build import ingest

from .conftest import CORPUS, DEV_SET

pytestmark = [pytest.mark.real_model, pytest.mark.timeout(900)]

NEARMISS_SET = DEV_SET.with_name("dev_nearmiss.jsonl")


@pytest.fixture(scope="module")
def questions() -> list:  # type: ignore[type-arg]
    if not DEV_SET.is_file() or not NEARMISS_SET.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{DEV_SET.parent} is missing: CI must measure the dev sets")
        pytest.skip(f"{DEV_SET.parent} is not present (it lives in ../shared beside the repository)")
    return read_questions(DEV_SET) + read_questions(NEARMISS_SET)


def test_postgres_answers_equal_the_file_backend(questions, real_assistant: Assistant, real_embedder,  # type: ignore[no-untyped-def]
                                                 pg_url: str, tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "replica-data", corpus_dir=CORPUS, database_url=pg_url)
    report = ingest(settings, embedder=real_embedder)
    assert report.ok and report.passages == real_assistant.reader.passage_count
    assert not settings.index_dir.exists()  # the index went to the database
    pg = Assistant.load(settings=settings, embedder=real_embedder, follow=False)
    assert pg.reader.manifest.documents == real_assistant.reader.manifest.documents

    answers: dict[str, dict[str, object]] = {"file": {}, "postgres": {}}

    def asker(name: str, assistant: Assistant):  # type: ignore[no-untyped-def]
        def ask(question: str):  # type: ignore[no-untyped-def]
            answer = assistant.ask(question)
            answers[name][question] = (answer.found, answer.text,
                                       [(c.source, c.passage_id, c.start, c.end) for c in answer.citations],
                                       [(c.source, c.passage_id) for c in answer.related])
            return answer
        return ask

    on_files = evaluate(asker("file", real_assistant), questions)
    on_pg = evaluate(asker("postgres", pg), questions)
    keys = ("id", "found", "rank", "states_fact")
    per_question = [[{k: r[k] for k in keys} for r in result["questions"]] for result in (on_files, on_pg)]
    assert per_question[1] == per_question[0]
    assert on_pg["answerable"] == on_files["answerable"] and on_pg["reading"] == on_files["reading"]
    different = [q for q in answers["file"] if answers["file"][q] != answers["postgres"][q]]
    assert different == [], different[:3]
    assert len(answers["file"]) >= 40
