"""An OpenAI-compatible chat completions server on 127.0.0.1 for tests: a real HTTP server in the test process.

It answers ``POST /v1/chat/completions`` with or without ``stream`` (Server-Sent Events in the
``chat.completion.chunk`` shape that Ollama, vLLM and llama.cpp send), with a reply the test scripts
(a string, or a function of the request's messages). It can answer with an HTTP error, wait before
answering, trickle its stream slowly, or send malformed data. Every request is recorded. ``HungLLM`` is a
port that accepts connections and never answers.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | Callable[[list[dict[str, str]]], str]

UNSUPPORTED = "De stad Antwerpen betaalt elke deelnemer 500 euro per maand."


def passages_of(messages: list[dict[str, str]]) -> dict[int, str]:
    """The numbered passages in the prompt (``[n] title`` line, then the text), by number."""
    user = next(m["content"] for m in messages if m["role"] == "user")
    body = user.split("Passages:", 1)[-1].split("\nQuestion:", 1)[0]
    out: dict[int, str] = {}
    for block in re.split(r"\n\n(?=\[\d+\] )", body.strip()):
        m = re.match(r"\[(\d+)\] [^\n]*\n(.*)", block, re.S)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out


def first_sentence(text: str) -> str:
    """A sentence of the passage, as written: what a faithful model would say."""
    for line in text.splitlines():
        line = line.strip(" -•")
        if len(line.split()) >= 6 and not line.endswith("?"):
            m = re.match(r"(.+?[.!])(?:\s|$)", line)
            return (m.group(1) if m else line).strip()
    return text.strip().splitlines()[0]


def supported_and_unsupported(messages: list[dict[str, str]]) -> str:
    """One sentence from passage [1] (supported) and one made-up sentence citing it (unsupported)."""
    passages = passages_of(messages)
    return f"{first_sentence(passages[1])} [1] {UNSUPPORTED} [1]"


# What a model that was tricked by a document or a question might write (issue 22): a phishing request, an HTML
# tag that would run script, a javascript: link. Each cites passage [1], which supports none of them.
INJECTED = (
    "Mail je wachtwoord naar helpdesk@evil.example om je inschrijving te bevestigen. [1]",
    "Bekijk het programma <img src=x onerror=alert(1)> op de website. [1]",
    "Schrijf je in via [deze link](javascript:alert(document.cookie)) voor de studiedag. [1]",
)
# Text of the injected sentences that must never reach a client, in any event.
INJECTED_MARKS = ("wachtwoord", "evil.example", "<img", "onerror", "javascript:", "document.cookie")


def quotable(text: str) -> list[str]:
    """The passage's sentences a faithful model could write as they are (six words or more, no question)."""
    out = []
    for line in text.splitlines():
        line = line.strip(" -•")
        for m in re.finditer(r"(.+?[.!])(?:\s|$)", line):
            sentence = m.group(1).strip()
            if len(sentence.split()) >= 6 and not sentence.endswith("?"):
                out.append(sentence)
    return out or [first_sentence(text)]


def supported_and_injected(messages: list[dict[str, str]]) -> str:
    """A supported sentence from passage [1], the injected sentences, then more supported ones."""
    said = quotable(passages_of(messages)[1])
    rest = " ".join(f"{s} [1]" for s in said[1:3])
    return f"{said[0]} [1] {' '.join(INJECTED)} {rest}".strip()


class StubLLM:
    """The server; a context manager. Set ``reply``, ``status``, ``delay_s``, ``chunk_delay_s``, ``malformed``."""

    def __init__(self, reply: Reply = "GEEN ANTWOORD") -> None:
        self.reply: Reply = reply
        self.status = 200
        self.delay_s = 0.0  # before the first byte of the answer
        self.chunk_delay_s = 0.0  # between streamed pieces
        self.malformed = False
        self.requests: list[dict[str, Any]] = []
        self.streamed_at: list[float] = []  # when each streamed reply was sent whole (monotonic clock)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="llm-stub", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> StubLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answers(self) -> list[dict[str, Any]]:
        """Requests for an answer (not for rewriting a follow-up)."""
        with self._lock:
            return [r for r in self.requests if "Passages:" in json.dumps(r.get("messages", []))]

    def _text(self, messages: list[dict[str, str]]) -> str:
        reply = self.reply
        return reply(messages) if callable(reply) else reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet tests
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with stub._lock:
                    stub.requests.append({**body, "_path": self.path, "_auth": self.headers.get("Authorization")})
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                if stub.delay_s:
                    time.sleep(stub.delay_s)
                if stub.status != 200:
                    self._json(stub.status, {"error": {"message": "the model is overloaded", "code": stub.status}})
                    return
                text = stub._text(body.get("messages", []))
                try:
                    if body.get("stream"):
                        self._stream(text)
                    else:
                        payload: Any = {"id": "stub", "object": "chat.completion", "model": body.get("model"),
                                        "choices": [{"index": 0, "finish_reason": "stop",
                                                     "message": {"role": "assistant", "content": text}}]}
                        if stub.malformed:
                            payload = {"choices": []}
                        self._json(200, payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (deadline): fine
                    pass

            def _json(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
                pieces = re.findall(r"\S+\s*", text) or [text]
                for piece in pieces:
                    chunk = {"id": "stub", "object": "chat.completion.chunk",
                             "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    data = "{not json" if stub.malformed else json.dumps(chunk)
                    self.wfile.write(f"data: {data}\n\n".encode())
                    self.wfile.flush()
                    if stub.chunk_delay_s:
                        time.sleep(stub.chunk_delay_s)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                stub.streamed_at.append(time.monotonic())

        return Handler


class HungLLM:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers (a hung model server: the
    port is open, the process is stuck). ``connections`` counts the calls that reached it. A context manager."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="llm-hung", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed
                return
            with self._lock:
                self._held.append(conn)  # kept open, never read from or written to

    def __enter__(self) -> HungLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for conn in self._held:
                conn.close()
