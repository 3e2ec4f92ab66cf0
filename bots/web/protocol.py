"""uvicorn's h11 protocol with the two read timeouts uvicorn lacks: request headers and request body.

uvicorn has a keep-alive timeout, but it is reset by every byte received, and nothing bounds how long
a request's line and headers may take (encode/uvicorn#157 proposed ``--timeout-request-start`` and
``--timeout-request-complete``; neither exists). A client sending one header byte every few seconds
(slowloris), or stopping in the middle of a body, held a connection and its buffers for ever.

ASGI middleware cannot help with the headers (the app is called only once they are complete), so
this is a protocol class, passed to uvicorn as ``http=``:

* **header timeout**: from the connection's first moment, or the first byte of a next request on a
  kept-alive connection, until its headers are complete. Not reset by data.
* **body timeout**: the longest silence while a request body is expected and uvicorn is reading
  (time during which uvicorn itself paused reading, because the app has not taken the body yet,
  does not count). Reset by every piece of body, so a slow but steady upload is fine.

On either timeout the client gets a 408 with the usual Dutch error body (when no response has started)
and the connection is closed.

It also turns Nagle's algorithm off on every TCP connection. asyncio does that only for sockets that
report ``IPPROTO_TCP``, and with ``--workers N`` uvicorn binds the listening socket with protocol 0
(Kludex/uvicorn#3149, open), so each request after the first on a kept-alive connection waited ~40 ms for
the client's delayed ACK: 56-60 ms per answer at concurrency 1 against 16 ms with one worker.

It subclasses uvicorn's H11Protocol (uvicorn's default when httptools is not installed, as here) and
uses only its documented-in-code attributes: ``conn``, ``transport``, ``flow``, ``cycle``;
tests/test_web_hardening.py fails if a uvicorn upgrade changes them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from bots.texts import t

from .errors import error_json

log = logging.getLogger(__name__)


def _timeout_response() -> bytes:
    body = error_json("request_timeout", t("request.timeout"))
    head = ("HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("latin-1") + body


def _no_delay(transport: asyncio.BaseTransport) -> None:
    """Send small writes at once (TCP_NODELAY) on a TCP connection; other sockets are left alone."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # a connection reset before this line ran
            pass


class TimeoutH11Protocol(H11Protocol):
    """H11Protocol plus a header timeout and a body (idle) timeout, in seconds."""

    def __init__(self, *args: Any, header_timeout: float = 10.0, body_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ hooks

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _no_delay(transport)
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._header_timer is None:
            self._arm_header_timer()  # the first bytes of a next request on a kept-alive connection
        super().data_received(data)
        self._follow_state()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_state()  # pipelined requests may have been parsed just now

    # ------------------------------------------------------------------ timers

    def _follow_state(self) -> None:
        state = self.conn.their_state
        if state is not h11.IDLE and self._header_timer is not None:
            self._header_timer.cancel()  # headers complete
            self._header_timer = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        if state is h11.SEND_BODY and not self.transport.is_closing():
            self._body_timer = self.loop.call_later(self.body_timeout, self._on_body_timeout)

    def _arm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout, self._on_header_timeout)

    def _cancel_timers(self) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        # Between requests with nothing received, uvicorn's keep-alive timeout is in charge; a connection
        # that never sent a byte, or sent part of a request, is ours to close.
        if self.cycle is not None and not self.cycle.response_complete:
            return
        self._give_up("headers", answer=bool(self.conn.trailing_data[0]))  # silence for a connection that sent nothing

    def _on_body_timeout(self) -> None:
        self._body_timer = None
        if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
            return
        if self.flow.read_paused:  # uvicorn stopped reading until the app takes the body: not the client's fault
            self._body_timer = self.loop.call_later(self.body_timeout, self._on_body_timeout)
            return
        cycle = self.cycle
        answer = cycle is not None and not cycle.response_started
        if cycle is not None:
            cycle.disconnected = True  # the app's receive() now returns http.disconnect; its send() is ignored
            cycle.message_event.set()
        self._give_up("body", answer)

    def _give_up(self, what: str, answer: bool) -> None:
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info("closing the connection of %s: request %s incomplete after the timeout", client, what)
        if answer:
            self.transport.write(_timeout_response())
        self.transport.close()
