"""Checks that run before FastAPI reads a request body: admin token, per-client rate limits; and redirects
that never name a host the client made up.

All three are pure ASGI middleware, because FastAPI reads (and parses) a request body before it runs
an endpoint's dependencies: a token check in a dependency came after a 20 MB upload had been read.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bots.ratelimit import Limit, SharedLimiter
from bots.texts import t

from .errors import ApiError, send_error
from .identity import BEHEERDER
from .metrics import ASGIApp, Message, Metrics, Receive, Scope, Send
from .session import CSRF_HEADER, Sessions, cookie_from_header

ADMIN_PREFIX = "/api/admin"
BEHEER_API = "/beheer/api"
BEHEER_OPEN = frozenset({"/beheer/api/session", "/beheer/api/login"})  # what works without a session
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Set by the one endpoint that redirects to another site on purpose (the identity provider's sign-in page,
# bots/web/oidc.py); RelativeRedirects keeps that Location and drops the marker. A client cannot set it.
EXTERNAL_REDIRECT = "x-wegwijzer-external-redirect"


def admin_refusal(token: str, authorization: str | None) -> ApiError | None:
    """Why a request with this Authorization header may not use the admin API, or None when it may."""
    if not token:
        return ApiError(404, "admin_disabled", t("admin.disabled"))
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return ApiError(401, "unauthorized", t("admin.unauthorized"), headers={"WWW-Authenticate": "Bearer"})
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def client_address(scope: Scope) -> str:
    """The client's address (the proxy-headers middleware has replaced a trusted proxy's by then)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AdminGate:
    """Refuses admin requests without the right bearer token before a byte of their body is read.

    The refusal closes the connection, so the unread body need not be drained.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")):
            refusal = admin_refusal(self.token, _header(scope, b"authorization"))
            if refusal is not None:
                await send_error(send, refusal.status, refusal.code, refusal.message, refusal.headers, close=True)
                return
        await self.app(scope, receive, send)


class SessionGate:
    """The admin page's API: a valid session cookie, and for changes its CSRF token, before the body is read.

    404 while the admin token is off, 401 without a valid session (absent, tampered, expired, signed
    out), 403 when a state-changing request lacks the session's CSRF token in ``X-CSRF-Token``. The
    session goes to the endpoint in ``scope["state"]["beheer_session"]``.
    """

    def __init__(self, app: ASGIApp, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == BEHEER_API or path.startswith(BEHEER_API + "/")) \
                and path not in BEHEER_OPEN:
            refusal = None
            if not self.sessions.enabled:
                refusal = ApiError(404, "admin_disabled", t("admin.disabled"))
            else:
                session = self.sessions.verify(cookie_from_header(_header(scope, b"cookie")))
                if session is None:
                    refusal = ApiError(401, "signed_out", t("beheer.signed_out"))
                elif scope.get("method", "GET") not in SAFE_METHODS \
                        and not Sessions.csrf_matches(session, _header(scope, CSRF_HEADER.encode())):
                    refusal = ApiError(403, "csrf", t("beheer.csrf"))
                else:
                    state = scope.setdefault("state", {})
                    state["beheer_session"] = session
                    if session.principal.role != BEHEERDER:  # the lists show them only what their groups may read
                        state["beheer_audiences"] = frozenset(session.groups)
            if refusal is not None:
                await send_error(send, refusal.status, refusal.code, refusal.message, close=True)
                return
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class Rule:
    """Requests with ``method`` on ``path`` count against ``limit``; refusals say ``message`` (a key)."""

    method: str
    path: str
    limit: Limit
    message: str


class RateLimitMiddleware:
    """429 with Retry-After once a client passes a limit; checked before the body is read.

    The state is shared by all worker processes (all replicas, with a database) through ``SharedLimiter``.
    """

    def __init__(self, app: ASGIApp, limiter: SharedLimiter, rules: Sequence[Rule],
                 metrics: Metrics) -> None:
        self.app = app
        self.limiter = limiter
        self.rules = {(r.method, r.path): r for r in rules if r.limit.count > 0}
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self.rules.get((scope.get("method", ""), scope.get("path", ""))) if scope["type"] == "http" else None
        if rule is not None:
            decision = self.limiter.hit(rule.limit, client_address(scope))
            if not decision.allowed:
                self.metrics.observe_rate_limited(rule.limit.name)
                seconds = decision.retry_after_s
                await send_error(send, 429, "rate_limited", t(rule.message, seconds=seconds),
                                 {"Retry-After": str(seconds)}, close=True)
                return
        await self.app(scope, receive, send)


def relative_location(location: str) -> str:
    """An absolute redirect target made relative to this site, with no way to point elsewhere.

    Starlette builds the target of its trailing-slash redirect from the Host header, so a forged Host
    came back in Location. This service never redirects to another site, so the scheme and host are
    dropped, and leading slashes collapse to one (``//evil.example`` would be another site again).
    """
    parts = urlsplit(location)
    if not (parts.scheme or parts.netloc or location.startswith(("//", "\\", "/\\"))):
        return location
    path = "/" + parts.path.lstrip("/\\")
    return path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


class RelativeRedirects:
    """Rewrites every Location header to a same-site relative reference."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                if any(k.lower() == EXTERNAL_REDIRECT.encode() for k, _ in headers):
                    message["headers"] = [(k, v) for k, v in headers if k.lower() != EXTERNAL_REDIRECT.encode()]
                elif any(k.lower() == b"location" for k, _ in headers):
                    message["headers"] = [
                        (k, relative_location(v.decode("latin-1")).encode("latin-1")) if k.lower() == b"location"
                        else (k, v) for k, v in headers]
            await send(message)

        await self.app(scope, receive, send_wrapper)
