"""Conversations: the store (bounded, shared, durable), the signals of a follow-up, and follow-ups over the API.

The store and the signals are tested alone; the API tests run on the fake model (shapes, storage) and
on the real model (a follow-up finds what the earlier turn was about; a change of topic does not drag
the old topic along). The conversations here are written for these tests, not taken from the bench set.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant import Assistant
from assistant.answer.followup import asks_about_item, asks_anew, complete, numbered, ordinal, signals, with_context
from assistant.config import REPO_ROOT, Settings
from assistant.errors import ConfigError, InvalidQuestionError
from assistant.stores.conversation import SQLiteConversationStore, Turn, new_conversation_id, valid_conversation_id
from bots.web import create_app

# ---------------------------------------------------------------- the store


def turn(question: str, **kw: Any) -> Turn:
    return Turn(question=question, query=kw.pop("query", question), **kw)


def test_turns_are_kept_in_order_and_bounded(tmp_path: Path) -> None:
    store = SQLiteConversationStore(tmp_path / "c.sqlite3", max_turns=3)
    cid = new_conversation_id()
    assert valid_conversation_id(cid) and store.load(cid) is None
    for i in range(5):
        conv = store.append(cid, turn(f"vraag {i}", cited=(i, i + 1), found=True))
    assert [t.question for t in conv.turns] == ["vraag 2", "vraag 3", "vraag 4"]
    loaded = store.load(cid)
    assert loaded is not None and loaded.turns == conv.turns and loaded.last.cited == (4, 5)  # type: ignore[union-attr]


def test_conversations_expire_restart_and_are_cleaned_up(tmp_path: Path) -> None:
    store = SQLiteConversationStore(tmp_path / "c.sqlite3", ttl_s=0.3, cleanup_s=0)
    old, fresh = new_conversation_id(), new_conversation_id()
    store.append(old, turn("eerste vraag"))
    time.sleep(0.4)
    assert store.load(old) is None  # expired: a follow-up would stand alone
    restarted = store.append(old, turn("nieuwe vraag"))
    assert [t.question for t in restarted.turns] == ["nieuwe vraag"]
    time.sleep(0.4)
    store.append(fresh, turn("nog een"))  # a write cleans up what expired, from any process
    assert store.count() == 1 and store.load(fresh) is not None
    store.clear(fresh)
    assert store.load(fresh) is None and store.count() == 0


def test_conversations_survive_a_restart_and_are_shared_between_processes(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cid = new_conversation_id()
    SQLiteConversationStore(path).append(cid, turn("in dit proces"))
    code = ("import sys; from assistant.stores.conversation import SQLiteConversationStore, Turn; "
            "s = SQLiteConversationStore(sys.argv[1]); s.append(sys.argv[2], Turn('in een ander proces', 'q'))")
    subprocess.run([sys.executable, "-c", code, str(path), cid], check=True, cwd=REPO_ROOT, timeout=60)
    loaded = SQLiteConversationStore(path).load(cid)
    assert loaded is not None and [t.question for t in loaded.turns] == ["in dit proces", "in een ander proces"]


def test_bad_ids_and_bounds_are_refused(tmp_path: Path) -> None:
    store = SQLiteConversationStore(tmp_path / "c.sqlite3")
    for bad in ("", "kort", "x" * 65, "a b c d e f", "../../etc/passwd"):
        assert not valid_conversation_id(bad)
        with pytest.raises(ValueError):
            store.append(bad, turn("vraag"))
    with pytest.raises(ValueError):
        SQLiteConversationStore(tmp_path / "d.sqlite3", max_turns=0)


def test_settings_for_conversations_and_the_language_model() -> None:
    s = Settings.from_env({"WEGWIJZER_CONVERSATION_TTL_MIN": "30", "WEGWIJZER_CONVERSATION_MAX_TURNS": "5",
                           "WEGWIJZER_CONVERSATION_CLEANUP_MIN": "1", "WEGWIJZER_LLM_URL": "http://llm:11434/v1/",
                           "WEGWIJZER_LLM_MODEL": "llama3.1:8b", "WEGWIJZER_LLM_TIMEOUT_S": "12",
                           "WEGWIJZER_SUGGESTED_QUESTIONS": "Wat zijn pleinmakers? | Wie is Levl?"})
    assert (s.conversation_ttl_s, s.conversation_max_turns, s.conversation_cleanup_s) == (1800, 5, 60)
    assert s.llm_url == "http://llm:11434/v1" and s.llm_enabled and s.llm_timeout_s == 12
    assert s.suggested_questions == ("Wat zijn pleinmakers?", "Wie is Levl?")
    assert not Settings.from_env({}).llm_enabled
    for env, needle in (({"WEGWIJZER_LLM_URL": "http://x/v1"}, "WEGWIJZER_LLM_MODEL"),
                        ({"WEGWIJZER_LLM_URL": "llm:11434", "WEGWIJZER_LLM_MODEL": "m"}, "http(s)-adres"),
                        ({"WEGWIJZER_SUGGESTED_QUESTIONS": "a?|b?|c?|d?|e?"}, "hoogstens 4"),
                        ({"WEGWIJZER_CONVERSATION_MAX_TURNS": "0"}, "MAX_TURNS = '0': moet minstens 1 zijn")):
        with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
            Settings.from_env(env)


# ---------------------------------------------------------------- what the form of a question says


@pytest.mark.parametrize(("question", "kind"), [
    ("Wie organiseert die workshop?", "pointer"),
    ("Waar gaat dat door?", "pointer"),
    ("Welke steden doen daaraan mee?", "pointer"),
    ("Wat kost het?", "pointer"),
    ("Who leads it?", "pointer"),
    ("Qui y participe ?", "pointer"),
    ("En over huisvesting?", "elliptic"),
    ("And in Genk?", "elliptic"),
    ("Et pour les écoles ?", "elliptic"),
    ("Kan je dat korter samenvatten?", "summary"),
    ("Vat dit samen", "summary"),
    ("Can you summarize that?", "summary"),
    ("Hoe bereiken steden hun inwoners met een migratieachtergrond via buurtwerk?", "ambiguous"),
    ("Welke organisaties die met nieuwkomers werken worden genoemd in het memorandum?", "ambiguous"),
    ("Welke rol speelt het Agentschap Integratie en Inburgering bij taallessen?", "none"),
    ("Is there a fee for the study day in Brussels?", "none"),
])
def test_signals_read_the_form_of_the_question(question: str, kind: str) -> None:
    s = signals(question)
    found = ("summary" if s.summary else "elliptic" if s.elliptic else "pointer" if s.pointer
             else "ambiguous" if s.ambiguous else "none")
    assert found == kind, s
    assert s.strong == (kind in ("pointer", "elliptic", "summary"))


def test_an_ellipsis_is_completed_from_the_previous_question() -> None:
    assert complete("En over huisvesting?", "Wat zegt de nota over onderwijs?") == "Wat zegt de nota over huisvesting?"
    assert complete("En namens Lier?", "Wie spreekt namens de stad Gent op de studiedag?") == \
        "Wie spreekt namens Lier op de studiedag?"
    assert complete("And the second?", "What is the first goal of the VVSG's plan?") == \
        "What is the second goal of the VVSG's plan?"
    assert complete("En wanneer?", "Wat zegt de nota over onderwijs?") is None  # no phrase to replace
    assert complete("Wie begeleidt die sessie?", "Wat is TALim?") is None  # not elliptic
    long = "Eerste vraag over iets? " * 40
    assert len(with_context("En dan?", long, max_chars=200)) <= 200
    assert with_context("Wie leidt die?", "Wat is TALim?") == "Wat is TALim? Wie leidt die?"


def test_an_ellipsis_with_a_question_of_its_own_may_stand_alone() -> None:
    assert asks_anew("En wanneer is de lunch?") and asks_anew("And who pays for it?")
    assert not asks_anew("En over werk?") and not asks_anew("En wat met werk?") and not asks_anew("And the fourth?")
    assert not asks_anew("Wanneer is de lunch?")  # not elliptic at all


def test_an_ordinal_follow_up_names_a_place_in_a_list() -> None:
    assert [ordinal(q) for q in ("En de tweede?", "Wat is het derde?", "And the fourth?", "Et le cinquième ?",
                                 "Welke prioriteit komt op de tweede plaats?")] == [2, 3, 4, 5, 2]
    assert ordinal("En over werk?") is None
    # a full question of its own with an ordinal does not lean on the conversation
    assert ordinal("Wat is de eerste prioriteit die de VVSG voor het overkoepelend actieplan voorstelt?") is None
    # asking about the item rather than for it
    asked = "Met welke sleutelfactor begint de benchmark?"
    assert not asks_about_item("Welke sleutelfactor komt op de tweede plaats?", asked, 2)
    assert asks_about_item("Welk voorbeeld uit Mechelen geven ze bij die tweede?", asked, 2)
    text = "In vier thema's:\n- 1 Gendergevoelige integratie\n- 2 Bouwen\n- 3 Integratie op de arbeidsmarkt\n31 maart"
    at = numbered(text, 3)
    assert at is not None and text[at:].startswith("Integratie op de arbeidsmarkt")
    assert numbered("2) Taalbeleid:", 2) == 3 and numbered("2\nSleutelfactor", 2) == 1
    assert numbered("31 maart 2023", 3) is None and numbered(text, 5) is None


# ---------------------------------------------------------------- the API (fake model)


@pytest.fixture
def client(fake_index: Settings, fake_embedder: Any) -> Iterator[TestClient]:
    with TestClient(create_app(fake_index, embedder=fake_embedder), raise_server_exceptions=False) as c:
        yield c


def test_the_api_starts_continues_and_refuses_conversations(client: TestClient, fake_index: Settings) -> None:
    first = client.post("/api/ask", json={"question": "Wat zijn pleinmakers?"}).json()
    cid = first["conversation_id"]
    assert valid_conversation_id(cid)
    second = client.post("/api/ask", json={"question": "Wie begeleidt die sessie?", "conversation_id": cid}).json()
    assert second["conversation_id"] == cid
    other = client.post("/api/ask", json={"question": "Wat zijn pleinmakers?"}).json()
    assert other["conversation_id"] != cid  # no id: a new conversation
    stored = SQLiteConversationStore(fake_index.conversations_db).load(cid)
    assert stored is not None and [t.question for t in stored.turns] == ["Wat zijn pleinmakers?",
                                                                         "Wie begeleidt die sessie?"]
    unknown = new_conversation_id()  # unknown or expired: it starts anew under that id
    assert client.post("/api/ask", json={"question": "En over werk?", "conversation_id": unknown}
                       ).json()["conversation_id"] == unknown
    for bad in ("kort", "../x/../y", 42, "x" * 100):
        r = client.post("/api/ask", json={"question": "Wat zijn pleinmakers?", "conversation_id": bad})
        assert r.status_code == 422 and "conversation_id" in r.json()["error"]["message"], bad


def test_widget_settings_endpoint(client: TestClient) -> None:
    body = client.get("/api/widget").json()
    assert 2 <= len(body["suggestions"]) <= 4 and all(q.endswith("?") for q in body["suggestions"])
    assert body["max_question_chars"] == 1000 and body["streaming"] is False and body["timeout_s"] == 30


def test_the_widget_waits_longer_than_the_language_models_deadline(fake_index: Settings, fake_embedder: Any) -> None:
    settings = fake_index.with_(llm_url="http://127.0.0.1:9/v1", llm_model="m", llm_timeout_s=90.0)
    with TestClient(create_app(settings, embedder=fake_embedder)) as c:
        body = c.get("/api/widget").json()
    assert body["streaming"] is True and body["timeout_s"] > 90


def test_the_assistant_refuses_a_malformed_conversation_id(fake_index_readonly: Settings, fake_embedder: Any) -> None:
    assistant = Assistant.load(settings=fake_index_readonly, embedder=fake_embedder, follow=False)
    with pytest.raises(InvalidQuestionError, match="gesprek"):
        assistant.ask("Wat zijn pleinmakers?", conversation="../x")
    assert assistant.ask("Wat zijn pleinmakers?").conversation_id == ""  # outside a conversation: not stored


# ---------------------------------------------------------------- follow-ups on the real model, over the API

# (turns, gold of the last turn's first citation, how the last turn must be searched)
CASES = [
    (["Welke werksessie van de inspiratiedag gaat over sport?", "Wie begeleidt die sessie?"], "Tim Lamon", "context"),
    (["Wat is 12work?", "Hoeveel mensen vonden daarmee al een job?"], "50-tal mensen", "context"),
    (["Wie begeleidt de werksessie over sport namens Gent?", "En namens Dendermonde?"], "Dorien Heuninck",
     "context"),
    (["Wat is het adres van de KBR waar de studiedag plaatsvindt?", "And when does registration close?"],
     "Registratie sluit op 20 maart 2023", "context"),
    (["Wie begeleidt de werksessie over sport?", "Hoeveel kost deelname aan de studiedag in Brussel?"],
     "Deelname aan deze studiedag is gratis", "alone"),
    (["Wat doet de stad Genk met het project TALim?", "Welke organisaties werken samen in het Whole-COMM project?"],
     "Whole-COMM", "alone"),
]


@pytest.fixture(scope="module")
def real_client(tmp_path_factory: pytest.TempPathFactory, real_index_settings: Settings,
                real_embedder: Any) -> Iterator[TestClient]:
    from .web_support import copy_index

    base = tmp_path_factory.mktemp("conversations")
    settings = copy_index(real_index_settings, real_index_settings.with_(data_dir=base / "data", ask_rate_limit=0))
    with TestClient(create_app(settings, embedder=real_embedder), raise_server_exceptions=False) as c:
        c.settings = settings  # type: ignore[attr-defined]
        yield c


def converse(client: TestClient, questions: list[str]) -> tuple[list[dict[str, Any]], str]:
    cid = None
    answers = []
    for q in questions:
        body: dict[str, Any] = {"question": q}
        if cid:
            body["conversation_id"] = cid
        answers.append(client.post("/api/ask", json=body).json())
        cid = answers[-1]["conversation_id"]
    return answers, str(cid)


@pytest.mark.real_model
def test_follow_ups_and_topic_changes_over_the_api(real_client: TestClient) -> None:
    store = SQLiteConversationStore(real_client.settings.conversations_db)  # type: ignore[attr-defined]
    right, hows = [], []
    for questions, gold, how in CASES:
        answers, cid = converse(real_client, questions)
        last = answers[-1]
        right.append(bool(last["citations"]) and gold.casefold() in " ".join(last["citations"][0]["text"].split()
                                                                              ).casefold())
        hows.append((store.load(cid).last.how, how))  # type: ignore[union-attr]
    assert all(got == want for got, want in hows), hows  # follow-ups read in context, topic changes alone
    assert sum(right) >= len(CASES) - 1, list(zip([c[0][-1] for c in CASES], right, strict=True))


@pytest.mark.real_model
def test_a_follow_up_leads_with_what_it_asks_even_when_the_last_answer_showed_it(real_client: TestClient) -> None:
    # the list item about werk, which the first answer showed inside its list, now by itself and first
    (first, work), _ = converse(real_client, ["Wat zegt het VVSG-memorandum over onderwijs?", "En over werk?"])
    assert "taskforce Werk en Migratiediversiteit" in first["text"]
    assert work["text"].startswith("Werk: nood aan taskforce Werk en Migratiediversiteit [1]")
    assert "taskforce Onderwijs" not in work["text"]  # not the list again
    # who leads it: the session's own "Begeleiding: …", not the sentence about the city quoted before
    (training, leader), _ = converse(real_client, ["Wat leer je in een omstaandertraining van de stad Gent?",
                                                   "En wie leidt die werksessie?"])
    assert leader["text"].startswith("Begeleiding: Katrien Staelens")
    assert training["text"].split(" [1]")[0] not in leader["text"]


@pytest.mark.real_model
def test_an_item_asked_for_by_its_place_is_quoted_by_itself(real_client: TestClient) -> None:
    # the third of a numbered list the previous answer quoted, not the list again
    (listed, third), _ = converse(real_client, ["Rond welke thema's zijn er IncluCities toolkits gemaakt?",
                                                "Wat is het derde?"])
    assert "Integratie op de arbeidsmarkt" in listed["text"]
    assert third["text"].startswith("3 Integratie op de arbeidsmarkt [1]") and "Gendergevoelige" not in third["text"]
    # the second of a series of numbered sections: the next key factor's own passage, not the table of contents
    (_, second), _ = converse(real_client, ["Met welke sleutelfactor begint de IncluCities benchmark?",
                                            "En de tweede?"])
    assert second["text"].startswith("Versterken van individuen en organisaties")
    assert second["citations"][0]["text"].lstrip().startswith("2")


@pytest.mark.real_model
def test_summarise_answers_from_the_previous_answers_passages(real_client: TestClient) -> None:
    (first, summary), _ = converse(real_client, ["Hoe werkt het project 12work in Mechelen?",
                                                 "Kan je dat samenvatten?"])
    assert first["found"] and summary["found"]
    assert {c["passage_id"] for c in summary["citations"]} <= {c["passage_id"] for c in first["citations"]}
    assert summary["citations"][0]["passage_id"] == first["citations"][0]["passage_id"]
    assert summary["text"].count("[1]") >= 2  # more than the one sentence: a summary
    # the same question outside a conversation has nothing to summarise
    alone = real_client.post("/api/ask", json={"question": "Kan je dat samenvatten?"}).json()
    assert not alone["found"] or alone["citations"][0]["passage_id"] != first["citations"][0]["passage_id"]


@pytest.mark.real_model
def test_a_follow_up_in_a_new_conversation_stands_alone(real_client: TestClient) -> None:
    (_, follow), cid = converse(real_client, ["Welke werksessie van de inspiratiedag gaat over sport?",
                                              "Wie begeleidt die sessie?"])
    fresh = real_client.post("/api/ask", json={"question": "Wie begeleidt die sessie?"}).json()
    assert fresh["conversation_id"] != cid
    assert "Tim Lamon" in follow["citations"][0]["text"]
    assert not fresh["citations"] or "Tim Lamon" not in fresh["citations"][0]["text"]
