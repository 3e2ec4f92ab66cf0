"""Issue 22: the AI notice, /transparantie, erasing a web conversation, and a person's data in the feedback store."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.stores.feedback import SCHEMA_VERSION, FeedbackStore
from assistant.transparency import EVALUATION_FILE, evaluation_summary, load_evaluation
from bots.texts import t
from bots.web import create_app
from bots.web.app import widget_script
from bots.web.transparency import IndexFacts, render_transparency

from .web_support import copy_index

XSS = "<script>alert(1)</script>"


# ---------------------------------------------------------------- settings


def test_the_notice_and_the_contact_are_settings_with_catalogue_defaults(tmp_path: Path) -> None:
    plain = Settings.from_env({"WEGWIJZER_DATA_DIR": str(tmp_path)})
    assert plain.ai_notice == "" and plain.contact == "" and plain.public_url == ""
    custom = Settings.from_env({"WEGWIJZER_DATA_DIR": str(tmp_path), "WEGWIJZER_AI_NOTICE": "  Dit is een\nrobot. ",
                                "WEGWIJZER_CONTACT": "privacy@stad.be", "WEGWIJZER_PUBLIC_URL": "https://ww.stad.be/"})
    assert custom.ai_notice == "Dit is een robot." and custom.public_url == "https://ww.stad.be"
    with pytest.raises(ConfigError, match="WEGWIJZER_PUBLIC_URL"):
        Settings.from_env({"WEGWIJZER_PUBLIC_URL": "ww.stad.be"})
    with pytest.raises(ConfigError, match="WEGWIJZER_AI_NOTICE"):
        Settings.from_env({"WEGWIJZER_AI_NOTICE": "x" * 301})


def test_the_widget_script_carries_the_notice_or_the_municipalitys_own() -> None:
    body = widget_script("")[0].decode()
    assert json.dumps(t("notice.ai"), ensure_ascii=False) in body
    own = widget_script("Je praat met een computerprogramma van Stad Voorbeeld.")
    assert "Je praat met een computerprogramma van Stad Voorbeeld." in own[0].decode()
    assert t("notice.ai") not in own[0].decode() and own[1] != widget_script("")[1]


# ---------------------------------------------------------------- the page, pure


def test_the_page_escapes_everything_and_follows_the_settings(tmp_path: Path) -> None:
    index = IndexFacts(version="v1", created_at=1.7e9, model="multilingual-e5-small", dim=384, backend="onnx",
                       documents=[{"source": "a.txt", "title": f"Titel {XSS}", "publisher": XSS, "date": ""}])
    settings = Settings(data_dir=tmp_path, corpus_dir=tmp_path, contact=f"dpo@stad.be {XSS}",
                        ai_notice=f"Robot {XSS}")
    html = render_transparency(settings, index, None)
    assert XSS not in html and "&lt;script&gt;" in html
    assert "Robot &lt;script&gt;" in html and "dpo@stad.be" in html
    assert t("transparency.how.extractive") in html and t("transparency.eval.none") in html
    assert t("transparency.documents.unknown") in html  # the missing date says so
    assert '<html lang="nl-BE">' in html and html.count("<h1>") == 1 and '<main id="inhoud"' in html

    generated = render_transparency(settings.with_(llm_url="http://llm:11434/v1", llm_model="mistral-7b"), index,
                                    None)
    assert "mistral-7b" in generated and "nagekeken" in generated and "llm:11434" not in generated
    assert t("transparency.data.llm") in generated


def test_evaluation_figures_come_from_the_summary_bench_writes(tmp_path: Path) -> None:
    quality = {"sets": {"dev": {"questions": 30, "answerable": 26}},
               "results": {"dev": {"wegwijzer": {"answerable": {"all": {"hit@1": 0.88, "hit@5": 1.0}},
                                                 "abstention": {"n": 4, "accuracy": 1.0}, "false_abstentions": 0}}}}
    verify = {"claims": 339, "cross_validated": {"kept_unsupported": 0.019, "removed_supported": 0.031}}
    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps(evaluation_summary("2026-12-06 10:00 UTC", quality, verify)), encoding="utf-8")
    evaluation = load_evaluation(path)
    assert evaluation is not None and evaluation.retrieval[0].hit_at_1 == 0.88
    html = render_transparency(Settings(data_dir=tmp_path, corpus_dir=tmp_path), IndexFacts(), evaluation)
    assert "2026-12-06 10:00 UTC" in html and "88%" in html and "1,9%" in html and "3,1%" in html
    assert t("transparency.no_index") in html

    # a benchmark whose result changed shape is left out; a damaged file means "no figures", never an error
    assert evaluation_summary("x", {"results": {"dev": {}}}, {"claims": 1})["retrieval"] == []
    path.write_text("{niet json", encoding="utf-8")
    assert load_evaluation(path) is None and load_evaluation(tmp_path / "nergens.json") is None


def test_the_shipped_evaluation_summary_is_readable() -> None:
    evaluation = load_evaluation(EVALUATION_FILE)
    assert evaluation is not None and evaluation.retrieval and evaluation.verification is not None


# ---------------------------------------------------------------- the page and the erasure over HTTP, real index


@pytest.fixture(scope="module")
def real_client(tmp_path_factory: pytest.TempPathFactory, real_index_settings: Settings,
                real_embedder: Any) -> Iterator[tuple[TestClient, Settings]]:
    base = tmp_path_factory.mktemp("transparency")
    settings = copy_index(real_index_settings, real_index_settings.with_(data_dir=base / "data"))
    with TestClient(create_app(settings, embedder=real_embedder), raise_server_exceptions=False) as client:
        yield client, settings


@pytest.mark.real_model
def test_transparantie_names_the_embedding_model_and_the_documents(real_client: tuple[TestClient, Settings],
                                                                   real_assistant: Any) -> None:
    client, settings = real_client
    response = client.get("/transparantie")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    assert '<html lang="nl-BE">' in html and t("transparency.title") in html
    model = real_assistant.status()["model"]["name"]
    assert model == settings.embedding_model and model in html
    documents = real_assistant.documents()
    assert len(documents) >= 5
    for doc in documents:
        assert f">{doc['title']}<" in unescape(html)
        assert f'href="/documents/{doc["source"]}"' in html
    # the settings in force, not fixed text
    assert t("transparency.data.questions", days=settings.question_retention_days) in html
    assert str(settings.conversation_max_turns) in html and t("notice.ai") in html
    # linked from the document list
    assert 'href="/transparantie"' in client.get("/documents").text


@pytest.mark.real_model
def test_deleting_a_conversation_erases_its_turns_on_the_server(real_client: tuple[TestClient, Settings]) -> None:
    client, settings = real_client
    first = client.post("/api/ask", json={"question": "Welke werksessie van de inspiratiedag gaat over sport?"})
    cid = first.json()["conversation_id"]

    def turns() -> int:
        with sqlite3.connect(settings.conversations_db) as con:
            row = con.execute("SELECT turns FROM conversations WHERE id = ?", (cid,)).fetchone()
        return len(json.loads(row[0])) if row else 0

    client.post("/api/ask", json={"question": "Wie begeleidt die sessie?", "conversation_id": cid})
    assert turns() == 2
    gone = client.delete(f"/api/conversations/{cid}")
    assert gone.status_code == 204 and not gone.content and turns() == 0
    assert client.delete(f"/api/conversations/{cid}").status_code == 204  # again: nothing left, no error

    # after erasing, the follow-up has no context any more
    after = client.post("/api/ask", json={"question": "Wie begeleidt die sessie?", "conversation_id": cid}).json()
    assert "Tim Lamon" not in after["text"]

    for bad in ("kort", "x" * 65, "a b c d e f g h", "..%2F..%2Fetc"):
        response = client.delete(f"/api/conversations/{bad}")
        assert response.status_code in (404, 422), (bad, response.status_code)
        if response.status_code == 422:
            body = response.json()
            assert body["error"]["code"] == "invalid_conversation"
            assert body["error"]["message"] == t("conversation.bad_id")


@pytest.mark.real_model
def test_cors_lets_the_widget_delete_from_another_origin(real_index_settings: Settings, real_embedder: Any,
                                                         tmp_path: Path) -> None:
    origin = "https://intranet.stad.test"
    settings = copy_index(real_index_settings, real_index_settings.with_(data_dir=tmp_path / "data",
                                                                         cors_origins=(origin,)))
    with TestClient(create_app(settings, embedder=real_embedder)) as client:
        pre = client.options("/api/conversations/abcdefgh1234", headers={
            "Origin": origin, "Access-Control-Request-Method": "DELETE"})
    assert pre.status_code == 200 and "DELETE" in pre.headers["access-control-allow-methods"]


# ---------------------------------------------------------------- the store: a person's own data


def _fill(store: FeedbackStore) -> None:
    store.record_answer("a1", "telegram", "Wat zijn pleinmakers?", True, [{"source": "x.txt"}], user_ref="alice")
    store.record_answer("a2", "telegram", "Wie betaalt de studiedag?", False, [], user_ref="alice")
    store.record_answer("b1", "telegram", "Een vraag van Bob", True, [], user_ref="bob")
    store.record_answer("w1", "web", "Een vraag op het web", True, [])
    store.add_feedback("a1", "telegram", True, user_ref="alice")
    store.add_feedback("a1", "telegram", False, user_ref="bob")  # Bob's vote on Alice's answer
    store.add_feedback("b1", "telegram", False, comment="mist iets", user_ref="alice")


def check_personal_data(store: FeedbackStore) -> None:
    _fill(store)
    data = store.personal_data("alice")
    assert [q for _, q, _ in data.questions] == ["Wie betaalt de studiedag?", "Wat zijn pleinmakers?"]
    assert sorted(h for _, h, _ in data.votes) == [False, True]
    assert store.personal_data("").questions == [] and store.personal_data("niemand").votes == []

    ids, votes = store.forget_person("alice")
    assert sorted(ids) == ["a1", "a2"] and votes == 2
    assert store.personal_data("alice") == type(data)([], [])
    assert store.lookup_answer("a1") is None and store.lookup_answer("b1") is not None
    rows = {(r.answer_id, r.user_ref): r for r in store.feedback()}
    assert set(rows) == {("a1", "bob")}  # Bob's vote stays, without the copy of Alice's question
    assert rows[("a1", "bob")].question == "" and rows[("a1", "bob")].sources == []
    assert store.forget_person("") == ([], 0) and store.lookup_answer("w1") is not None


def test_a_person_sees_and_erases_their_questions_and_votes(tmp_path: Path) -> None:
    check_personal_data(FeedbackStore(tmp_path / "feedback.sqlite3"))


def test_an_existing_feedback_file_gains_the_askers_pseudonym(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as con:  # a version-2 file, as the previous release wrote it
        con.executescript("""
            CREATE TABLE answers (answer_id TEXT PRIMARY KEY, created_at REAL NOT NULL, channel TEXT NOT NULL,
                                  question TEXT NOT NULL, found INTEGER NOT NULL, sources TEXT NOT NULL);
            CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL,
                answer_id TEXT NOT NULL, channel TEXT NOT NULL, helpful INTEGER NOT NULL,
                comment TEXT NOT NULL DEFAULT '', question TEXT NOT NULL, sources TEXT NOT NULL,
                user_ref TEXT NOT NULL DEFAULT '');
            CREATE UNIQUE INDEX feedback_one_vote ON feedback(answer_id, user_ref);
            INSERT INTO answers VALUES ('oud', 1.0, 'web', 'Een oude vraag', 1, '[]');
            PRAGMA user_version = 2;
        """)
    store = FeedbackStore(path)
    assert store.lookup_answer("oud") == ("Een oude vraag", [])
    check_personal_data(store)
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_the_postgres_store_sees_and_erases_a_persons_data_too(pg_url: str) -> None:
    from assistant.stores.feedback import PostgresFeedbackStore

    check_personal_data(PostgresFeedbackStore(pg_url))


def test_docs_transparency_md_has_every_register_field() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "transparency.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.M)
    for field in ("Naam", "Doel", "Wettelijke basis", "Gegevens", "Menselijk toezicht", "Risico",
                  "DPIA", "Evaluatie", "Contact"):
        assert any(h.startswith(field) for h in headings), field
