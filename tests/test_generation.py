"""Generated answers against a real OpenAI-compatible HTTP server on 127.0.0.1 (tests/llm_stub.py), with the
real model and index: verification keeps what the cited passage supports and removes the rest, streaming
and not; a stream sends a sentence only after it passed the check (issue 22), and the mode header says how
the answer was made; an endpoint that is down, errs, is slow or sends garbage falls back to the extractive
answer within the timeout, and /metrics counts it. Without the settings nothing is sent anywhere.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant import Assistant
from assistant.answer.generate import Checked
from assistant.config import Settings
from assistant.stores.conversation import SQLiteConversationStore
from bots.web import create_app

from .llm_stub import (
    INJECTED_MARKS,
    UNSUPPORTED,
    StubLLM,
    first_sentence,
    passages_of,
    quotable,
    supported_and_injected,
    supported_and_unsupported,
)
from .web_support import ServerThread

pytestmark = pytest.mark.real_model

QUESTION = "Hoeveel kost deelname aan de studiedag in Brussel?"


@pytest.fixture
def stub() -> Iterator[StubLLM]:
    with StubLLM(supported_and_unsupported) as server:
        yield server


def make_assistant(tmp_path: Path, real_index_settings: Settings, real_embedder: Any, **llm: Any) -> Assistant:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=real_index_settings.corpus_dir, **llm)
    return Assistant.load(index_dir=real_index_settings.index_dir, settings=settings, embedder=real_embedder,
                          follow=False, conversations=SQLiteConversationStore(tmp_path / "conv.sqlite3"))


@pytest.fixture
def llm_client(tmp_path: Path, real_index_settings: Settings, real_embedder: Any, stub: StubLLM
               ) -> Iterator[TestClient]:
    assistant = make_assistant(tmp_path, real_index_settings, real_embedder, llm_url=stub.url, llm_model="stub-1",
                               llm_api_key="geheim", llm_timeout_s=10.0)
    with TestClient(create_app(assistant.settings, assistant=assistant), raise_server_exceptions=False) as c:
        yield c


def events(response: Any) -> list[tuple[str, dict[str, Any]]]:
    """The Server-Sent Events of a response, parsed."""
    out = []
    for block in response.text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def metric(client: TestClient, name: str, label: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name) and label in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def expected_supported(stub: StubLLM) -> str:
    return first_sentence(passages_of(stub.answers()[-1]["messages"])[1])


# ---------------------------------------------------------------- verification keeps and removes


def test_generated_answer_keeps_the_supported_sentence_and_removes_the_unsupported(
        llm_client: TestClient, stub: StubLLM) -> None:
    body = llm_client.post("/api/ask", json={"question": QUESTION}).json()
    assert body["mode"] == "generated" and body["found"] is True
    supported = expected_supported(stub)
    assert " ".join(supported.split()) in " ".join(body["text"].split())
    assert "Antwerpen" not in body["text"] and "500" not in body["text"]
    assert body["text"].rstrip().endswith("[1]")
    prompt_passages = passages_of(stub.answers()[-1]["messages"])
    assert " ".join(prompt_passages[1].split())[:200] in " ".join(body["citations"][0]["text"].split())
    assert len(body["citations"]) == 1 and body["related"]  # the other passages are related reading
    request = stub.answers()[-1]
    assert request["model"] == "stub-1" and request["stream"] is True and request["_auth"] == "Bearer geheim"
    assert metric(llm_client, "wegwijzer_llm_answers_total", 'outcome="generated"') == 1
    assert metric(llm_client, "wegwijzer_llm_sentences_total", 'verdict="removed"') == 1
    assert metric(llm_client, "wegwijzer_llm_sentences_total", 'verdict="kept"') == 1


CONTRADICTION = "Een pleinmaker is zelden aanwezig in de buurt en maakt geen deel uit van het buurtnetwerk."


def supported_and_contradicted(messages: list[dict[str, str]]) -> str:
    """A sentence of the pleinmakers passage as written, then one that says its opposite, both citing it."""
    n, text = next((n, t) for n, t in passages_of(messages).items() if "regelmatig aanwezig" in t)
    return f"{first_sentence(text)} [{n}] {CONTRADICTION} [{n}]"


def test_a_sentence_that_contradicts_its_passage_is_never_shown(llm_client: TestClient, stub: StubLLM) -> None:
    """Issue 22: the source says pleinmakers are regularly present and part of the neighbourhood network; a model
    that writes the opposite, citing that source, keeps only its faithful sentence, and the stream never carries
    the contradiction."""
    stub.reply = supported_and_contradicted
    question = {"question": "Wat zijn pleinmakers?"}
    body = llm_client.post("/api/ask", json=question).json()
    assert body["mode"] == "generated" and body["found"] is True
    assert "zelden" not in body["text"] and "geen deel" not in body["text"]
    supported = first_sentence(next(t for t in passages_of(stub.answers()[-1]["messages"]).values()
                                    if "regelmatig aanwezig" in t))
    assert " ".join(supported.split()) in " ".join(body["text"].split())
    raw = llm_client.post("/api/ask/stream", json=question).text
    assert "zelden" not in raw and "geen deel uit" not in raw


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """An answer without what differs between two askings (its ids, its latency)."""
    return {k: v for k, v in body.items() if k not in ("answer_id", "conversation_id", "latency_ms")}


def test_the_stream_sends_only_checked_sentences_then_the_answer_ask_gives(
        llm_client: TestClient, stub: StubLLM) -> None:
    stub.reply = supported_and_injected
    asked = llm_client.post("/api/ask", json={"question": QUESTION})
    assert asked.headers["X-Wegwijzer-Antwoord"] == "gegenereerd"
    response = llm_client.post("/api/ask/stream", json={"question": QUESTION})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["X-Wegwijzer-Antwoord"] == "gegenereerd"
    raw = response.text
    for mark in (*INJECTED_MARKS, UNSUPPORTED):  # in no event of any kind, not even escaped
        assert mark not in raw and json.dumps(mark)[1:-1] not in raw, mark
    seen = events(response)
    kinds = [kind for kind, _ in seen]
    assert set(kinds) == {"sentence", "answer"} and kinds[-1] == "answer" and kinds.count("answer") == 1
    final = seen[-1][1]
    assert final["mode"] == "generated" and final["found"] is True
    said = quotable(passages_of(stub.answers()[-1]["messages"])[1])
    first = seen[0][1]
    assert " ".join(said[0].split()) in " ".join(first["text"].split()) and first["text"].endswith("[1]")
    shown = [data for kind, data in seen if kind == "sentence"]
    assert all(final["text"].startswith(d["so_far"]) and d["text"] in d["so_far"] for d in shown)
    assert shown[-1]["so_far"] == final["text"]  # every sentence of the answer was sent once it was checked
    assert comparable(final) == comparable(asked.json())  # the same answer as /api/ask for the same model output
    assert [r["stream"] for r in stub.answers()] == [True, True]  # /api/ask reads the reply as a stream too


def test_checked_sentences_arrive_while_the_model_still_writes(
        tmp_path: Path, real_index_settings: Settings, real_embedder: Any) -> None:
    with StubLLM(supported_and_injected) as stub:
        stub.chunk_delay_s = 0.08  # the injected sentences and the rest take seconds to write
        assistant = make_assistant(tmp_path, real_index_settings, real_embedder, llm_url=stub.url,
                                   llm_model="stub-1", llm_timeout_s=30.0)
        with ServerThread(create_app(assistant.settings, assistant=assistant)) as server, httpx.Client() as http:
            arrived: list[tuple[float, str]] = []
            with http.stream("POST", server.url + "/api/ask/stream", json={"question": QUESTION},
                             timeout=60) as response:
                assert response.headers["X-Wegwijzer-Antwoord"] == "gegenereerd"
                for line in response.iter_lines():
                    arrived.append((time.monotonic(), line))
    raw = "\n".join(line for _, line in arrived)
    assert not any(mark in raw for mark in INJECTED_MARKS)
    first = next(at for at, line in arrived if line == "event: sentence")
    assert first < stub.streamed_at[-1] - 1.0  # shown well before the model had finished
    assert raw.count("event: answer") == 1 and "event: sentence" in raw


def test_the_model_declining_or_writing_nothing_supported_is_the_standard_refusal(
        llm_client: TestClient, stub: StubLLM) -> None:
    for reply in ("GEEN ANTWOORD", f"{UNSUPPORTED} [1] De burgemeester heet Jan Peeters. [2]", "Een zin zonder bron."):
        stub.reply = reply
        body = llm_client.post("/api/ask", json={"question": QUESTION}).json()
        assert body["found"] is False and body["citations"] == [] and body["related"], reply
        assert body["text"].startswith("Ik vond geen antwoord") and body["mode"] == "generated"
    assert metric(llm_client, "wegwijzer_llm_answers_total", 'outcome="declined"') == 1
    assert metric(llm_client, "wegwijzer_llm_answers_total", 'outcome="unsupported"') == 2


# ---------------------------------------------------------------- failures fall back within the timeout


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_endpoint_down_gives_a_found_extractive_answer_within_15_seconds(
        tmp_path: Path, real_index_settings: Settings, real_embedder: Any) -> None:
    assistant = make_assistant(tmp_path, real_index_settings, real_embedder,
                               llm_url=f"http://127.0.0.1:{closed_port()}/v1", llm_model="x", llm_timeout_s=10.0)
    with TestClient(create_app(assistant.settings, assistant=assistant), raise_server_exceptions=False) as client:
        started = time.monotonic()
        body = client.post("/api/ask", json={"question": QUESTION}).json()
        assert time.monotonic() - started < 15
        assert body["found"] is True and body["mode"] == "extractive" and "gratis" in body["text"]
        response = client.post("/api/ask/stream", json={"question": QUESTION})
        streamed = events(response)
        assert [k for k, _ in streamed] == ["answer"] and streamed[0][1]["mode"] == "extractive"
        assert response.headers["X-Wegwijzer-Antwoord"] == "extractief"
        assert client.post("/api/ask", json={"question": QUESTION}).headers["X-Wegwijzer-Antwoord"] == "extractief"
        assert metric(client, "wegwijzer_llm_answers_total", 'outcome="fallback_unreachable"') == 3


@pytest.mark.parametrize(("setup", "reason"), [
    ({"status": 500}, "http_error"),
    ({"status": 429}, "http_error"),
    ({"malformed": True}, "malformed"),
    ({"delay_s": 6.0}, "timeout"),
    ({"chunk_delay_s": 0.4}, "timeout"),  # a stream that trickles past the deadline
])
def test_errors_and_slowness_fall_back_to_the_extractive_answer_within_the_timeout(
        tmp_path: Path, real_index_settings: Settings, real_embedder: Any, stub: StubLLM,
        setup: dict[str, Any], reason: str) -> None:
    for key, value in setup.items():
        setattr(stub, key, value)
    stub.reply = lambda m: supported_and_unsupported(m) + " Nog een zin met veel woorden erin. [1]" * 10
    assistant = make_assistant(tmp_path, real_index_settings, real_embedder, llm_url=stub.url, llm_model="x",
                               llm_timeout_s=1.5)
    with TestClient(create_app(assistant.settings, assistant=assistant), raise_server_exceptions=False) as client:
        for path in ("/api/ask", "/api/ask/stream"):
            if reason == "timeout" and "chunk_delay_s" in setup and path == "/api/ask":
                continue  # a whole reply at once cannot trickle
            started = time.monotonic()
            response = client.post(path, json={"question": QUESTION})
            took = time.monotonic() - started
            body = response.json() if path == "/api/ask" else events(response)[-1][1]
            assert body["found"] is True and body["mode"] == "extractive" and "gratis" in body["text"], path
            assert took < 1.5 + 5, (path, took)  # the deadline, plus retrieval on a busy machine
        assert metric(client, "wegwijzer_llm_answers_total", f'outcome="fallback_{reason}"') >= 1


def test_without_the_settings_nothing_is_generated_or_sent(
        tmp_path: Path, real_index_settings: Settings, real_embedder: Any, stub: StubLLM) -> None:
    assistant = make_assistant(tmp_path, real_index_settings, real_embedder)
    assert assistant.writer is None
    answer = assistant.ask(QUESTION)
    assert answer.mode == "extractive" and answer.found
    assert list(assistant.stream(QUESTION))[-1].mode == "extractive"
    assert all(not isinstance(e, Checked) for e in assistant.stream(QUESTION))
    assert stub.requests == []


def test_a_follow_up_may_be_rewritten_by_the_model(
        tmp_path: Path, real_index_settings: Settings, real_embedder: Any, stub: StubLLM) -> None:
    def reply(messages: list[dict[str, str]]) -> str:
        if "Follow-up question" in messages[-1]["content"]:
            return "Hoeveel kost deelname aan de studiedag over participatief integratiebeleid?"
        return supported_and_unsupported(messages)

    stub.reply = reply
    assistant = make_assistant(tmp_path, real_index_settings, real_embedder, llm_url=stub.url, llm_model="x")
    first = assistant.ask("Waar vindt de studiedag over participatief lokaal integratiebeleid plaats?",
                          conversation="gesprek-0001")
    second = assistant.ask("En hoeveel kost die?", conversation="gesprek-0001")
    assert first.conversation_id == second.conversation_id == "gesprek-0001"
    rewrite = [r for r in stub.requests if "Follow-up question" in r["messages"][-1]["content"]]
    assert rewrite and "Waar vindt de studiedag" in rewrite[0]["messages"][-1]["content"]
    turn = assistant.history("gesprek-0001").last  # type: ignore[union-attr]
    assert turn.how == "rewritten" and turn.query.startswith("Hoeveel kost deelname")
    assert second.mode == "generated" and second.found and "gratis" in second.citations[0].text
