"""A client for the OpenAI-compatible chat API that Ollama, vLLM, llama.cpp's server, LiteLLM and Azure speak.

Only ``POST {base}/chat/completions`` is used, always with ``stream`` (Server-Sent Events, read with
httpx-sse): only a stream shows that the model is alive before its whole answer is there. Every call has
two deadlines, not a timeout per network read: the first event of the stream must come within
``first_token_s`` (an endpoint that accepts connections and never answers costs seconds, not the whole
answer's time), and the whole answer by the call's :class:`Deadline` (a server that trickles a token
every few seconds is cut off as surely as one that never answers). The call runs in a worker thread and
the caller waits on it with the time that is left, so the caller gets its answer or an :class:`LLMError`
within the deadline, whatever the server does. A :class:`~assistant.answer.breaker.CircuitBreaker` hears
of every outcome; while it is open, calls fail at once (``circuit_open``) without reaching the server.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import connect_sse

from assistant.answer.breaker import CircuitBreaker
from assistant.config import Settings
from assistant.errors import WegwijzerError

log = logging.getLogger(__name__)

Message = dict[str, str]

# Why a call failed; also the label of the fallback counter in /metrics.
UNREACHABLE, TIMEOUT, HTTP_ERROR, MALFORMED = "unreachable", "timeout", "http_error", "malformed"
CIRCUIT_OPEN = "circuit_open"  # not sent: the breaker is open (see assistant.answer.breaker)
FIRST_TOKEN_S = 3.0  # default wait for the first event of a stream


class LLMError(WegwijzerError):
    """The language model endpoint did not deliver an answer (``reason`` is one of the constants above)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Deadline:
    """A point in time (monotonic clock) by which the whole answer must be in."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    @property
    def left(self) -> float:
        return self.at - time.monotonic()


_DONE = object()
_ALIVE = object()  # the stream's first event arrived (it may carry no text: a role, reasoning)


def circuit_file(settings: Settings) -> Path:
    """Where every process on this data directory keeps the language model's circuit state."""
    return settings.data_dir / "llm_circuit.json"


def breaker_for(settings: Settings) -> CircuitBreaker:
    """The circuit breaker of the configured endpoint, shared through the data directory."""
    endpoint = settings.llm_url.rstrip("/") + "/chat/completions " + settings.llm_model
    return CircuitBreaker(endpoint, circuit_file(settings), failures=settings.llm_circuit_failures,
                          cooldown_s=settings.llm_circuit_cooldown_s, probe_s=settings.llm_timeout_s)


class ChatClient:
    """Chat completions from one endpoint and model; thread-safe (one pooled httpx client)."""

    def __init__(self, base_url: str, model: str, api_key: str = "", max_tokens: int = 400,
                 temperature: float = 0.1, first_token_s: float = FIRST_TOKEN_S,
                 breaker: CircuitBreaker | None = None) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.first_token_s = first_token_s
        self.breaker = breaker or CircuitBreaker(f"{self.url} {model}")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, follow_redirects=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatClient:
        return cls(settings.llm_url, settings.llm_model, settings.llm_api_key, settings.llm_max_tokens,
                   first_token_s=settings.llm_first_token_s, breaker=breaker_for(settings))

    def close(self) -> None:
        self._http.close()

    def _body(self, messages: list[Message], max_tokens: int | None) -> dict[str, Any]:
        return {"model": self.model, "messages": messages, "stream": True,
                "max_tokens": max_tokens or self.max_tokens, "temperature": self.temperature}

    @staticmethod
    def _timeout(deadline: Deadline) -> httpx.Timeout:
        left = max(deadline.left, 0.05)
        return httpx.Timeout(left, connect=min(left, 5.0))

    def complete(self, messages: list[Message], deadline: Deadline, max_tokens: int | None = None) -> str:
        """The whole reply at once (read as a stream, under the same two deadlines)."""
        return "".join(self.stream(messages, deadline, max_tokens))

    def stream(self, messages: list[Message], deadline: Deadline, max_tokens: int | None = None) -> Iterator[str]:
        """The reply as it is written: pieces of text, in order. Raises :class:`LLMError` at once while the
        circuit breaker is open."""
        if not self.breaker.allow():
            raise LLMError(CIRCUIT_OPEN, "the circuit breaker is open after repeated failures")
        try:
            yield from self._stream(messages, deadline, max_tokens)
        except LLMError as exc:
            self.breaker.failure(exc.reason, costly=exc.reason == TIMEOUT)
            raise
        self.breaker.success()

    def _stream(self, messages: list[Message], deadline: Deadline, max_tokens: int | None) -> Iterator[str]:
        pieces: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()

        def call() -> None:
            try:
                with connect_sse(self._http, "POST", self.url, json=self._body(messages, max_tokens),
                                 timeout=self._timeout(deadline)) as source:
                    _check(source.response)
                    for event in source.iter_sse():
                        if stop.is_set():
                            return
                        pieces.put(_ALIVE)
                        if event.data.strip() == "[DONE]":
                            break
                        piece = _delta_text(event.data)
                        if piece:
                            pieces.put(piece)
                pieces.put(_DONE)
            except BaseException as exc:
                pieces.put(_translate(exc))

        threading.Thread(target=call, name="wegwijzer-llm-stream", daemon=True).start()
        first = Deadline.after(self.first_token_s)
        alive = False
        try:
            while True:
                left = deadline.left if alive else min(deadline.left, first.left)
                if left <= 0:
                    raise _late(alive, self.first_token_s)
                try:
                    item = pieces.get(timeout=left)
                except queue.Empty:
                    raise _late(alive, self.first_token_s) from None
                if item is _ALIVE:
                    alive = True
                    continue
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()


def _late(alive: bool, first_token_s: float) -> LLMError:
    if alive:
        return LLMError(TIMEOUT, "the answer was not complete before the deadline")
    return LLMError(TIMEOUT, f"no reply within {first_token_s:g} s (time to first token)")


def _check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        try:
            body = response.read()[:300].decode("utf-8", "replace")
        except httpx.HTTPError:
            body = ""
        raise LLMError(HTTP_ERROR, f"HTTP {response.status_code} {body}".strip())
    kind = response.headers.get("content-type", "")
    if "json" not in kind and "event-stream" not in kind:
        raise LLMError(MALFORMED, f"unexpected content type {kind!r}")


def _translate(exc: BaseException) -> BaseException:
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return LLMError(TIMEOUT, str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.TransportError):
        return LLMError(UNREACHABLE, str(exc) or type(exc).__name__)
    if isinstance(exc, (ValueError, KeyError, TypeError, IndexError)):
        return LLMError(MALFORMED, str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.HTTPError):
        return LLMError(HTTP_ERROR, str(exc))
    return exc


def _delta_text(raw: str) -> str:
    data = json.loads(raw)
    if "error" in data:
        raise LLMError(HTTP_ERROR, str(data["error"])[:300])
    choices = data.get("choices") or []
    if not choices:
        return ""
    delta = choices[0].get("delta") or {}
    content = delta.get("content")
    return content if isinstance(content, str) else ""
