"""Documents per audience on the real model and the real corpus, through the Python contract and the web API.

The shipped corpus plus one staff-only note (``audience = ["personeel"]``): the issue's checks, as a person
would try them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant import Assistant
from assistant.config import Settings
from assistant.evaluation import read_questions
from bots.web.app import create_app
from bots.web.audience import request_audiences
from ingest.build import ingest
from tests.test_audience import NOTE, NOTE_TITLE, QUESTION, SECRET_WORDS, STAFF, add_note

pytestmark = pytest.mark.real_model

ABOUT_THE_NOTE = [QUESTION, "Hoeveel dagen per week mag ik thuiswerken?", "Via welk formulier vraag ik thuiswerk aan?",
                  "Wanneer moet ik bereikbaar zijn als ik thuiswerk?"]
HELD_OUT = Path(__file__).resolve().parent.parent / "bench" / "questions" / "test_answerable.jsonl"


@pytest.fixture(scope="module")
def staff_settings(real_index_settings: Settings, real_embedder: Any,
                   tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real index of the shipped corpus plus the note (only the note is embedded: the rest is reused)."""
    base = tmp_path_factory.mktemp("audience-real")
    shutil.copytree(real_index_settings.corpus_dir, base / "corpus")
    shutil.copytree(real_index_settings.index_dir, base / "data" / "index", symlinks=True)
    settings = Settings(data_dir=base / "data", corpus_dir=base / "corpus")
    add_note(settings.corpus_dir)
    report = ingest(settings, embedder=real_embedder)
    assert report.ok and report.documents_embedded == 1 and not report.skipped
    return settings


@pytest.fixture(scope="module")
def staff_assistant(staff_settings: Settings, real_embedder: Any) -> Iterator[Assistant]:
    a = Assistant.load(settings=staff_settings, embedder=real_embedder, follow=False)
    yield a
    a.close()


def shows_nothing_of_the_note(data: dict[str, Any]) -> bool:
    passages = data["citations"] + data["related"]
    return NOTE not in {c["source"] for c in passages} and \
        not any(w in data["text"] or any(w in c["text"] for c in passages) for w in SECRET_WORDS)


def test_ask_never_cites_lists_or_quotes_it_without_the_audience(staff_assistant: Assistant) -> None:
    for question in ABOUT_THE_NOTE:
        answer = staff_assistant.ask(question)
        assert shows_nothing_of_the_note(answer.to_dict()), question
    staff = staff_assistant.ask(QUESTION, audiences=STAFF)
    assert staff.found and staff.citations[0].source == NOTE and "45 euro" in staff.text


def test_the_web_api_shows_nothing_of_it_to_anonymous_askers_also_in_a_conversation(
        staff_settings: Settings, real_embedder: Any) -> None:
    with TestClient(create_app(staff_settings, embedder=real_embedder)) as client:
        for question in ABOUT_THE_NOTE:
            body = client.post("/api/ask", json={"question": question}).json()
            assert shows_nothing_of_the_note(body), question
        assert client.get(f"/documents/{NOTE}").status_code == 404
        assert NOTE_TITLE not in client.get("/documents").text

        # a staff member's turn, then the same conversation continued anonymously
        client.app.dependency_overrides[request_audiences] = lambda: STAFF  # type: ignore[attr-defined]
        staff = client.post("/api/ask", json={"question": QUESTION}).json()
        assert staff["found"] and staff["citations"][0]["source"] == NOTE
        assert client.get(staff["citations"][0]["url"]).status_code == 200
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
        cid = staff["conversation_id"]
        for follow in ("Kan je dat samenvatten?", "En hoeveel dagen per week?", "Wie moet dat goedkeuren?"):
            body = client.post("/api/ask", json={"question": follow, "conversation_id": cid}).json()
            assert shows_nothing_of_the_note(body), follow
        stream = client.post("/api/ask/stream", json={"question": "Kan je dat samenvatten?", "conversation_id": cid})
        answer = json.loads(stream.text.split("event: answer\ndata: ", 1)[1].split("\n", 1)[0])
        assert shows_nothing_of_the_note(answer)
        assert client.get(staff["citations"][0]["url"]).status_code == 404


def test_answers_for_everyone_stay_as_they_were(staff_assistant: Assistant, real_assistant: Assistant) -> None:
    """A hidden document changes no public answer's verdict or first source (held-out questions)."""
    questions = read_questions(HELD_OUT)
    changed = []
    for q in questions:
        before, after = real_assistant.ask(q.question), staff_assistant.ask(q.question)
        first = (before.citations or before.related)[0].source, (after.citations or after.related)[0].source
        if before.found != after.found or first[0] != first[1]:
            changed.append(q.question)
    assert not changed, changed
