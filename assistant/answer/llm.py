"""A client for the OpenAI-compatible chat API that Ollama, vLLM, llama.cpp's server, LiteLLM and Azure speak.

Only ``POST {base}/chat/completions`` is used, with or without ``stream`` (Server-Sent Events, read with
httpx-sse). Every call has one deadline for the whole answer, not a timeout per network read: a server
that trickles a token every few seconds is cut off as surely as one that never answers. The call runs in
a worker thread and the caller waits on it with the time that is left, so the caller gets its answer or
an :class:`LLMError` within the deadline, whatever the server does.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import connect_sse

from assistant.config import Settings
from assistant.errors import WegwijzerError

log = logging.getLogger(__name__)

Message = dict[str, str]

# Why a call failed; also the label of the fallback counter in /metrics.
UNREACHABLE, TIMEOUT, HTTP_ERROR, MALFORMED = "unreachable", "timeout", "http_error", "malformed"


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


class ChatClient:
    """Chat completions from one endpoint and model; thread-safe (one pooled httpx client)."""

    def __init__(self, base_url: str, model: str, api_key: str = "", max_tokens: int = 400,
                 temperature: float = 0.1) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, follow_redirects=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatClient:
        return cls(settings.llm_url, settings.llm_model, settings.llm_api_key, settings.llm_max_tokens)

    def close(self) -> None:
        self._http.close()

    def _body(self, messages: list[Message], stream: bool, max_tokens: int | None) -> dict[str, Any]:
        return {"model": self.model, "messages": messages, "stream": stream,
                "max_tokens": max_tokens or self.max_tokens, "temperature": self.temperature}

    @staticmethod
    def _timeout(deadline: Deadline) -> httpx.Timeout:
        left = max(deadline.left, 0.05)
        return httpx.Timeout(left, connect=min(left, 5.0))

    def complete(self, messages: list[Message], deadline: Deadline, max_tokens: int | None = None) -> str:
        """The whole reply at once (``stream: false``)."""
        future: Future[str] = Future()

        def call() -> None:
            try:
                response = self._http.post(self.url, json=self._body(messages, False, max_tokens),
                                           timeout=self._timeout(deadline))
                _check(response)
                future.set_result(_message_text(response.json()))
            except BaseException as exc:  # handed to the waiting caller
                future.set_exception(_translate(exc))

        threading.Thread(target=call, name="wegwijzer-llm", daemon=True).start()
        try:
            return future.result(timeout=max(deadline.left, 0.0))
        except TimeoutError:
            raise LLMError(TIMEOUT, "no complete answer before the deadline") from None

    def stream(self, messages: list[Message], deadline: Deadline, max_tokens: int | None = None) -> Iterator[str]:
        """The reply as it is written (``stream: true``): pieces of text, in order."""
        pieces: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()

        def call() -> None:
            try:
                with connect_sse(self._http, "POST", self.url, json=self._body(messages, True, max_tokens),
                                 timeout=self._timeout(deadline)) as source:
                    _check(source.response)
                    for event in source.iter_sse():
                        if stop.is_set():
                            return
                        if event.data.strip() == "[DONE]":
                            break
                        piece = _delta_text(event.data)
                        if piece:
                            pieces.put(piece)
                pieces.put(_DONE)
            except BaseException as exc:
                pieces.put(_translate(exc))

        threading.Thread(target=call, name="wegwijzer-llm-stream", daemon=True).start()
        try:
            while True:
                left = deadline.left
                if left <= 0:
                    raise LLMError(TIMEOUT, "the answer was not complete before the deadline")
                try:
                    item = pieces.get(timeout=left)
                except queue.Empty:
                    raise LLMError(TIMEOUT, "the answer was not complete before the deadline") from None
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()


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


def _message_text(data: Any) -> str:
    choice = data["choices"][0]
    content = choice["message"].get("content")
    if not isinstance(content, str):
        raise LLMError(MALFORMED, "the reply has no text content")
    return content


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
