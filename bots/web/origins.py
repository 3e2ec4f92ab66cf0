"""Which web pages may use the API from a browser (WEGWIJZER_CORS_ORIGINS), and a log line for each one refused.

A browser cannot read a response that CORS refused, so a widget on a page whose origin is not allowed
cannot tell "not allowed" from "server down". ``GET /api/widget`` is therefore readable from any origin
(it holds what the public widget.js holds) and says ``origin_allowed``; the widget shows an
administrator's fix. :class:`RefusedOriginLog` logs every refused origin once per interval and per
worker process, not once per request (an origin header is the client's to choose: the lines per
interval are capped too).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def origin_allowed(allowed: tuple[str, ...], origin: str | None, host: str | None) -> bool:
    """Whether a browser request with ``Origin: origin`` to ``Host: host`` may read the answer.

    No origin (not a cross-origin browser request) and the service's own address (the demo page, /beheer:
    compared by host and port, since a TLS proxy in front changes the scheme) are always allowed; otherwise
    the origin must be listed exactly, as Starlette's CORSMiddleware checks it, or the list must hold "*".
    """
    if not origin:
        return True
    if "*" in allowed or origin in allowed:
        return True
    return bool(host) and urlsplit(origin).netloc.lower() == (host or "").lower()


class RefusedOriginLog:
    """Logs a refused origin once per ``interval_s`` (at most ``cap`` lines per interval, then one summary)."""

    def __init__(self, interval_s: float = 3600.0, cap: int = 50, clock: Callable[[], float] = time.monotonic,
                 count: Callable[[], None] = lambda: None) -> None:
        self.interval_s = interval_s
        self.cap = cap
        self.clock = clock
        self.count = count
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}
        self._window = -1.0
        self._lines = 0
        self._suppressed = 0

    def refused(self, origin: str, path: str) -> bool:
        """Note a refused request; True when it was logged."""
        self.count()
        now = self.clock()
        with self._lock:
            if now - self._window >= self.interval_s:  # a new interval: the cap starts again
                if self._suppressed:
                    log.warning("%d more refused origins in the last %g s were not logged one by one",
                                self._suppressed, self.interval_s)
                self._window, self._lines, self._suppressed = now, 0, 0
                self._seen = {o: t for o, t in self._seen.items() if now - t < self.interval_s}
            last = self._seen.get(origin)
            if last is not None and now - last < self.interval_s:
                return False
            if self._lines >= self.cap:
                self._suppressed += 1
                return False
            self._seen[origin] = now
            self._lines += 1
        log.warning("refused a browser request from %s to %s: that origin is not in WEGWIJZER_CORS_ORIGINS (add it "
                    "there if this page may use Wegwijzer; logged once per %g s per origin)",
                    origin[:200], path[:200], self.interval_s)
        return True


class RefusedOriginsMiddleware:
    """Pure ASGI: notes every request whose origin CORS will refuse (the response itself is CORSMiddleware's)."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...], refusals: RefusedOriginLog) -> None:
        self.app = app
        self.allowed = allowed
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            origin = headers.get(b"origin", b"").decode("latin-1")
            host = headers.get(b"host", b"").decode("latin-1")
            if origin and not origin_allowed(self.allowed, origin, host):
                self.refusals.refused(origin, scope.get("path", ""))
        await self.app(scope, receive, send)
