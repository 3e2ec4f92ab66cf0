"""The OpenAI-compatible client (assistant/answer/llm.py) against a real HTTP server on 127.0.0.1: whole and
streamed replies, errors, and one deadline for the whole answer however the server behaves."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from assistant.answer.breaker import CircuitBreaker
from assistant.answer.llm import HTTP_ERROR, MALFORMED, TIMEOUT, UNREACHABLE, ChatClient, Deadline, LLMError

from .llm_stub import StubLLM

MESSAGES = [{"role": "user", "content": "Zeg iets."}]


@pytest.fixture
def stub() -> Iterator[StubLLM]:
    with StubLLM("Een antwoord in vijf woorden. [1]") as server:
        yield server


def test_whole_and_streamed_replies(stub: StubLLM) -> None:
    client = ChatClient(stub.url, "model-x", api_key="sleutel", max_tokens=50)
    assert client.complete(MESSAGES, Deadline.after(5)) == "Een antwoord in vijf woorden. [1]"
    pieces = list(client.stream(MESSAGES, Deadline.after(5)))
    assert len(pieces) == 6 and "".join(pieces) == "Een antwoord in vijf woorden. [1]"
    first, second = stub.requests
    assert first["stream"] is True and second["stream"] is True  # a whole reply is read as a stream too
    assert first["model"] == "model-x" and first["max_tokens"] == 50 and first["messages"] == MESSAGES
    assert first["_auth"] == "Bearer sleutel" and first["_path"] == "/v1/chat/completions"
    assert ChatClient(stub.url, "m").complete(MESSAGES, Deadline.after(5)) and stub.requests[-1]["_auth"] is None


@pytest.mark.parametrize(("setup", "reason"), [({"status": 500}, HTTP_ERROR), ({"status": 401}, HTTP_ERROR),
                                               ({"malformed": True}, MALFORMED)])
def test_errors_are_named(stub: StubLLM, setup: dict[str, object], reason: str) -> None:
    for key, value in setup.items():
        setattr(stub, key, value)
    client = ChatClient(stub.url, "m")
    for call in (lambda: client.complete(MESSAGES, Deadline.after(5)),
                 lambda: list(client.stream(MESSAGES, Deadline.after(5)))):
        with pytest.raises(LLMError) as err:
            call()
        assert err.value.reason == reason


def test_a_closed_port_is_unreachable_at_once() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(LLMError) as err:
        ChatClient(f"http://127.0.0.1:{port}/v1", "m").complete(MESSAGES, Deadline.after(10))
    assert err.value.reason == UNREACHABLE and time.monotonic() - started < 2


def test_one_deadline_for_the_whole_answer(stub: StubLLM) -> None:
    client = ChatClient(stub.url, "m", breaker=CircuitBreaker("m", cooldown_s=0))  # deadlines here, not the breaker
    stub.delay_s = 3.0  # silent before answering
    started = time.monotonic()
    with pytest.raises(LLMError) as err:
        client.complete(MESSAGES, Deadline.after(0.5))
    assert err.value.reason == TIMEOUT and time.monotonic() - started < 1.0
    stub.delay_s, stub.chunk_delay_s = 0.0, 0.3  # a token every 0.3 s: never silent for long, but too slow
    stub.reply = "woord " * 20
    started = time.monotonic()
    got: list[str] = []
    with pytest.raises(LLMError) as err:
        for piece in client.stream(MESSAGES, Deadline.after(1.0)):
            got.append(piece)
    assert err.value.reason == TIMEOUT and 0.9 < time.monotonic() - started < 1.5 and 1 <= len(got) < 20
