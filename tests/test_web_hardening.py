"""Hardening of the web service (issue 9): rate limits, the admin token before the body, invalid Unicode,
no Host reflection, read timeouts, one vote per answer and client.

Fast tests on the fake embedder. Timeouts and the unread upload body are tested on a real uvicorn
server on 127.0.0.1 with raw sockets, because a test client never sends a request slowly.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.stores.feedback import FeedbackStore
from bots.web import create_app
from bots.web.guards import relative_location
from bots.web.server import uvicorn_options

from .web_support import ServerThread

TOKEN = "hardening-token-123"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
QUESTION = "Wat kan een stad doen als de financiële middelen beperkt zijn?"
PROXY = ("127.0.0.1", 40000)  # the test client's address: a reverse proxy in the tests that say so


def error_of(r: Any, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    message = str(body["error"]["message"])
    assert message and "Traceback" not in message
    return message


@pytest.fixture
def make_client(fake_index: Settings, fake_embedder: Any) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        settings = fake_index.with_(**{"admin_token": TOKEN, **changes})
        client = TestClient(create_app(settings, embedder=fake_embedder), raise_server_exceptions=False,
                            client=PROXY)
        clients.append(client.__enter__())
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


# ---------------------------------------------------------------- rate limits


def test_ask_rate_limit_answers_429_in_dutch_with_retry_after(make_client: Any) -> None:
    client = make_client(ask_rate_limit=3)
    assert [client.post("/api/ask", json={"question": QUESTION}).status_code for _ in range(3)] == [200] * 3
    r = client.post("/api/ask", json={"question": QUESTION})
    message = error_of(r, 429, "rate_limited")
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= 20  # 3 per minute: the next one is free after at most 20 s
    assert "vragen" in message and f"{retry} s" in message
    # other endpoints are not limited
    assert client.get("/api/documents").status_code == 200
    metrics = client.get("/metrics").text
    assert 'wegwijzer_rate_limited_total{limit="ask"} 1.0' in metrics


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(make_client: Any) -> None:
    untrusted = make_client(ask_rate_limit=2)
    codes = [untrusted.post("/api/ask", json={"question": QUESTION},
                            headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]  # a made-up X-Forwarded-For does not buy a fresh limit

    behind_proxy = make_client(ask_rate_limit=2, trusted_proxies=("127.0.0.1",))

    def ask(client_ip: str) -> int:
        return int(behind_proxy.post("/api/ask", json={"question": QUESTION},
                                     headers={"X-Forwarded-For": client_ip}).status_code)

    assert [ask("192.0.2.10") for _ in range(3)] == [200, 200, 429]
    assert [ask("192.0.2.11") for _ in range(2)] == [200, 200]  # another person behind the proxy
    # a client cannot hide behind a forged address on the left: the proxy appends the real one
    assert ask("198.51.100.1, 192.0.2.10") == 429


def test_upload_rate_limit(make_client: Any) -> None:
    client = make_client(upload_rate_limit=2)
    for i in range(2):
        r = client.post("/api/admin/documents", headers=ADMIN, files={"file": (f"d{i}.md", b"# D\n\nTekst.\n")})
        assert r.status_code == 201, r.text
    r = client.post("/api/admin/documents", headers=ADMIN, files={"file": ("d3.md", b"# D\n\nTekst.\n")})
    assert "bestanden" in error_of(r, 429, "rate_limited") and int(r.headers["retry-after"]) >= 1
    assert client.get("/api/admin/status", headers=ADMIN).status_code == 200  # only uploads count


def test_a_limit_of_zero_is_off(make_client: Any) -> None:
    client = make_client(ask_rate_limit=0)
    assert {client.post("/api/ask", json={"question": QUESTION}).status_code for _ in range(40)} == {200}


# ---------------------------------------------------------------- one vote per answer and client


def test_ten_votes_on_one_answer_leave_one_row(make_client: Any, fake_index: Settings) -> None:
    client = make_client(trusted_proxies=("127.0.0.1",))
    answer_id = client.post("/api/ask", json={"question": QUESTION}).json()["answer_id"]
    for i in range(10):
        r = client.post("/api/feedback", json={"answer_id": answer_id, "helpful": i % 2 == 0, "comment": f"stem {i}"})
        assert r.status_code == 200
    rows = FeedbackStore(fake_index.feedback_db).feedback()
    assert len(rows) == 1
    assert rows[0].helpful is False and rows[0].comment == "stem 9"  # the last vote counts
    assert "127.0.0.1" not in rows[0].user_ref
    # someone else (another address behind the trusted proxy) votes on the same answer: a second row
    client.post("/api/feedback", json={"answer_id": answer_id, "helpful": True},
                headers={"X-Forwarded-For": "192.0.2.7"})
    assert len(FeedbackStore(fake_index.feedback_db).feedback()) == 2
    assert 'wegwijzer_feedback_total{helpful="false"} 1.0' in client.get("/metrics").text


# ---------------------------------------------------------------- invalid Unicode


@pytest.mark.parametrize(("path", "raw"), [
    ("/api/ask", b'{"question": "a \\udc80 b"}'),
    ("/api/ask", b'{"question": "\\ud800"}'),
    ("/api/feedback", b'{"answer_id": "abc", "helpful": true, "comment": "slecht \\udfff"}'),
    ("/api/feedback", b'{"answer_id": "\\udc80", "helpful": true}'),
    ("/api/ask", b'{"question": "ok", "\\udc80": 1}'),
    ("/api/ask", b'{"question": "caf\xe9 zonder UTF-8"}'),
])
def test_invalid_unicode_is_a_dutch_422_without_a_traceback(make_client: Any, caplog: pytest.LogCaptureFixture,
                                                            path: str, raw: bytes) -> None:
    client = make_client()
    with caplog.at_level(logging.INFO):
        r = client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    body = json.loads(r.content.decode("utf-8"))  # the answer itself is valid UTF-8
    assert body["error"]["code"] == "invalid_unicode"
    assert "ongeldige Unicode" in body["error"]["message"]
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING or rec.exc_info]


# ---------------------------------------------------------------- no Host reflection


@pytest.mark.parametrize("path", ["/api/documents/", "/readyz/", "/healthz/"])
def test_redirects_never_echo_the_host_header(make_client: Any, path: str) -> None:
    client = make_client()
    r = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert r.status_code in (301, 307, 308), (r.status_code, r.text)
    location = r.headers["location"]
    assert "evil" not in location and location == path.rstrip("/")


@pytest.mark.parametrize(("location", "expected"), [
    ("http://evil.example/api/ask", "/api/ask"),
    ("https://evil.example:8443/documents/a.md?passage=3#p-3", "/documents/a.md?passage=3#p-3"),
    ("http://host//evil.example", "/evil.example"),
    ("//evil.example/x", "/x"),
    ("/\\evil.example", "/evil.example"),
    ("/documents?x=1", "/documents?x=1"),
])
def test_relative_location(location: str, expected: str) -> None:
    assert relative_location(location) == expected


# ---------------------------------------------------------------- a real server, raw sockets


@pytest.fixture
def live(fake_index: Settings, fake_embedder: Any) -> Iterator[ServerThread]:
    settings = fake_index.with_(admin_token=TOKEN, header_timeout_s=1.0, body_timeout_s=1.0,
                                max_upload_mb=50)
    with ServerThread(create_app(settings, embedder=fake_embedder), **uvicorn_options(settings)) as server:
        yield server


def test_kept_alive_connections_send_at_once_on_a_listener_bound_as_workers_bind_it(
        fake_index: Settings, fake_embedder: Any) -> None:
    """With --workers N uvicorn binds the listener with protocol 0, and asyncio then leaves Nagle's algorithm on
    (each request after the first on a kept-alive connection waited ~40 ms for a delayed ACK). The server's
    protocol turns it off on every TCP connection."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn's Config.bind_socket
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    assert listener.proto == 0
    settings = fake_index.with_(admin_token=TOKEN)
    with ServerThread(create_app(settings, embedder=fake_embedder), sockets=[listener],
                      **uvicorn_options(settings)) as server:
        client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for _ in range(2):  # two requests on one kept-alive connection, each response read whole (with
            client.request("GET", "/healthz")  # Nagle off, head and body may arrive as separate segments)
            response = client.getresponse()
            assert response.status == 200 and response.read() == b'{"status":"ok"}'
        served = [c.transport.get_extra_info("socket") for c in server.server.server_state.connections]
        assert served and all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in served)
        client.close()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _read_until_closed(sock: socket.socket, deadline_s: float) -> tuple[bytes, float | None]:
    """What the server sends within ``deadline_s``; (data, seconds until it closed, or None if it did not)."""
    t0 = time.monotonic()
    data = b""
    sock.settimeout(0.2)
    while time.monotonic() - t0 < deadline_s:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data, time.monotonic() - t0
        if not chunk:
            return data, time.monotonic() - t0
        data += chunk
    return data, None


def test_upload_without_a_valid_token_is_refused_before_the_body_is_read(live: ServerThread) -> None:
    """Headers of a 20 MB upload, then nothing: the refusal must come without waiting for a single body byte."""
    head = ("POST /api/admin/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 20000000\r\n")
    for auth, status in (("", 401), ("Authorization: Bearer fout\r\n", 401)):
        with _connect(live.port) as sock:
            sock.sendall((head + auth + "\r\n").encode())
            data, closed_after = _read_until_closed(sock, deadline_s=0.8)  # well inside the 1 s body timeout
            assert data.startswith(f"HTTP/1.1 {status} ".encode()), data[:200]
            assert b'"unauthorized"' in data and closed_after is not None
    # the observation is real: with the right token the server does wait for the body
    with _connect(live.port) as sock:
        sock.sendall((head + f"Authorization: Bearer {TOKEN}\r\n\r\n").encode())
        data, _ = _read_until_closed(sock, deadline_s=0.6)
        assert data == b""


def test_slow_headers_are_cut_off_after_the_header_timeout(live: ServerThread) -> None:
    with _connect(live.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        t0 = time.monotonic()
        received, closed = b"", None
        while time.monotonic() - t0 < 6:  # one header byte every 0.2 s: never complete, never idle
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = time.monotonic() - t0
                break
            data, gone = _read_until_closed(sock, deadline_s=0.2)
            received += data
            if gone is not None:
                closed = time.monotonic() - t0
                break
        assert closed is not None and closed < 2.5, closed
        assert received.startswith(b"HTTP/1.1 408 "), received[:200]
        assert "te traag" in json.loads(received.partition(b"\r\n\r\n")[2])["error"]["message"]


def test_a_connection_that_sends_nothing_is_closed(live: ServerThread) -> None:
    with _connect(live.port) as sock:
        data, closed = _read_until_closed(sock, deadline_s=5)
        assert closed is not None and closed < 2.5 and data == b""


def test_a_body_that_stops_halfway_is_cut_off_after_the_body_timeout(live: ServerThread,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), _connect(live.port) as sock:
        sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 200\r\n\r\n{\"question\": \"Wat")
        data, closed = _read_until_closed(sock, deadline_s=5)
        assert closed is not None and closed < 2.5, closed
        assert data.startswith(b"HTTP/1.1 408 "), data[:200]
        time.sleep(0.3)  # the app, told the client left, unwinds without an error in the log
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


def test_a_slow_but_steady_body_and_keep_alive_still_work(live: ServerThread) -> None:
    body = json.dumps({"question": QUESTION}).encode()
    with _connect(live.port) as sock:
        sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        pieces = [body[i:i + 20] for i in range(0, len(body), 20)]
        for piece in pieces:  # 0.5 s apart: longer in total than the timeout, never silent that long
            time.sleep(0.5)
            sock.sendall(piece)
        assert _response(sock).startswith(b"HTTP/1.1 200 ")
        # and the connection stays usable for a next request
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _response(sock).startswith(b"HTTP/1.1 200 ")


def _response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length."""
    sock.settimeout(10)
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    head, _, body = raw.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return raw


# ---------------------------------------------------------------- settings


def test_hardening_settings_are_read_and_checked() -> None:
    from assistant.errors import ConfigError

    s = Settings.from_env({"WEGWIJZER_ASK_RATE_LIMIT": "12", "WEGWIJZER_UPLOAD_RATE_LIMIT": "0",
                           "WEGWIJZER_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16, ::1",
                           "WEGWIJZER_HEADER_TIMEOUT_S": "2.5", "WEGWIJZER_QUESTION_RETENTION_DAYS": "30",
                           "WEGWIJZER_TELEGRAM_QUESTIONS_PER_MINUTE": "4"})
    assert (s.ask_rate_limit, s.upload_rate_limit, s.header_timeout_s, s.body_timeout_s) == (12, 0, 2.5, 30.0)
    assert s.trusted_proxies == ("10.0.0.5", "10.1.0.0/16", "::1")
    assert s.question_retention_days == 30 and s.telegram_questions_per_minute == 4
    defaults = Settings.from_env({})
    assert (defaults.ask_rate_limit, defaults.question_retention_days, defaults.trusted_proxies) == (30, 90, ())
    for name, value, needle in [("WEGWIJZER_TRUSTED_PROXIES", "10.0.0.5, proxy.intern", "'proxy.intern'"),
                                ("WEGWIJZER_ASK_RATE_LIMIT", "-1", "moet minstens 0 zijn"),
                                ("WEGWIJZER_HEADER_TIMEOUT_S", "nan", "moet minstens 0.1 zijn"),
                                ("WEGWIJZER_BODY_TIMEOUT_S", "veel", "moet een getal zijn"),
                                ("WEGWIJZER_QUESTION_RETENTION_DAYS", "0", "moet minstens 1 zijn")]:
        with pytest.raises(ConfigError, match=needle):
            Settings.from_env({name: value})
