"""The FastAPI application: wiring only. Endpoints live in ``api`` and ``admin``."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from assistant import Assistant
from assistant.config import Settings, get_settings
from assistant.model.embedding import Embedder
from bots.ratelimit import Limit
from bots.texts import CATALOGUE, section, t
from ingest.jobs import Reindexer

from . import admin, api, beheer, oidc, transparency
from .auth import SIGN_IN_PATH, ReaderGate
from .context import WebContext
from .errors import install_error_handlers
from .guards import AdminGate, RateLimitMiddleware, RelativeRedirects, Rule, SessionGate
from .limits import BodyLimitMiddleware
from .metrics import MetricsMiddleware
from .origins import RefusedOriginLog, RefusedOriginsMiddleware
from .pages import CSP

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MAX_JSON_BODY = 64 * 1024
# The line of widget.js that the catalogue's widget texts replace when it is served.
WIDGET_MESSAGES = 'var MESSAGES = {"nl": {}}; // @wegwijzer-messages'

DESCRIPTION = """Wegwijzer beantwoordt vragen over lokaal integratiebeleid met passages uit de documenten,
telkens met bronvermelding. Fouten hebben altijd de vorm `{"error": {"code": "...", "message": "..."}}`
met een Nederlandstalige boodschap."""


def create_app(settings: Settings | None = None, assistant: Assistant | None = None,
               embedder: Embedder | None = None, jobs: Reindexer | None = None) -> FastAPI:
    """The web service. Tests inject ``assistant``, ``embedder`` or ``jobs`` (how re-index jobs run);
    otherwise the lifespan loads them once."""
    settings = settings or get_settings()
    ctx = WebContext(settings, assistant=assistant, embedder=embedder, jobs=jobs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.open()
        if assistant is None:
            ctx.start()
        yield
        ctx.close()

    app = FastAPI(title="Wegwijzer", version="1.0", description=DESCRIPTION, lifespan=lifespan,
                  openapi_tags=[{"name": "vragen"}, {"name": "documenten"}, {"name": "beheer"}])
    app.state.ctx = ctx
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(admin.router)
    app.include_router(beheer.router)
    app.include_router(oidc.router)
    app.include_router(transparency.router)
    if settings.oidc_enabled:
        ctx.oidc = oidc.Oidc(settings)

    @app.get("/", include_in_schema=False)
    def demo_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "demo.html", media_type="text/html; charset=utf-8",
                            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/widget.js", include_in_schema=False)
    def widget(request: Request) -> Response:
        body, etag = widget_script(settings.ai_notice)
        headers = {"Cache-Control": "public, max-age=300", "ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # Each add wraps the previous. From the outside in: the client's address from a trusted proxy's
    # X-Forwarded-For (off unless WEGWIJZER_TRUSTED_PROXIES), security headers, relative redirects,
    # metrics (they see every response), a log line for each origin CORS refuses (once an hour), CORS (answers
    # preflights, and lets the widget read a 429),
    # rate limits, the admin token and the admin page's session (all before any body is read), and the body
    # size limits.
    app.add_middleware(BodyLimitMiddleware, limit=MAX_JSON_BODY, upload_limit=settings.max_upload_bytes,
                       upload_prefix=("/api/admin/documents", "/beheer/api/documents"))
    app.add_middleware(SessionGate, sessions=ctx.sessions)
    if settings.oidc_enabled:
        app.add_middleware(ReaderGate, sessions=ctx.sessions, required=settings.widget_signin,
                           sign_in_url=f"{settings.public_url}{SIGN_IN_PATH}?voor=widget")
    if settings.oidc_enabled:
        # Authlib keeps a sign-in's state, nonce and PKCE verifier here until the provider sends the person back:
        # signed (itsdangerous), ten minutes, only sent to /beheer/aanmelden; Lax, because the way back is a
        # top-level navigation from the provider's site.
        # The key comes from the session store's secret: with PostgreSQL, every replica can read a sign-in's state.
        state_key = hmac.new(ctx.sessions.store.secret(), b"wegwijzer-oidc-state", hashlib.sha256).hexdigest()
        app.add_middleware(SessionMiddleware, secret_key=state_key, session_cookie=oidc.STATE_COOKIE,
                           path=oidc.STATE_COOKIE_PATH, max_age=oidc.STATE_MAX_AGE_S, same_site="lax",
                           https_only=settings.public_url.startswith("https://"))
    app.add_middleware(AdminGate, token=settings.admin_token)
    app.add_middleware(RateLimitMiddleware, limiter=ctx.limiter, metrics=ctx.metrics, rules=[
        Rule("POST", "/api/ask", Limit("ask", settings.ask_rate_limit, 60.0), "rate.ask"),
        Rule("POST", "/api/ask/stream", Limit("ask", settings.ask_rate_limit, 60.0), "rate.ask"),
        Rule("POST", "/api/admin/documents", Limit("upload", settings.upload_rate_limit, 3600.0), "rate.upload"),
        Rule("POST", "/beheer/api/documents", Limit("upload", settings.upload_rate_limit, 3600.0), "rate.upload"),
        Rule("POST", "/beheer/api/login", Limit("login", settings.login_rate_limit, 900.0), "rate.login"),
        Rule("GET", SIGN_IN_PATH, Limit("login", settings.login_rate_limit, 900.0), "rate.login"),
    ])
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                       allow_methods=["GET", "POST", "DELETE"], allow_headers=["Content-Type"],
                       expose_headers=[api.MODE_HEADER], allow_credentials=False, max_age=600)
    app.add_middleware(RefusedOriginsMiddleware, allowed=settings.cors_origins,
                       refusals=RefusedOriginLog(count=ctx.metrics.observe_cors_refused))
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)
    app.add_middleware(RelativeRedirects)
    app.add_middleware(_SecurityHeaders)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    return app


@lru_cache(maxsize=4)
def widget_script(ai_notice: str = "") -> tuple[bytes, str]:
    """widget.js with the catalogue's widget texts (``widget.ui.*``, every language) filled in, and its ETag.

    ``ai_notice`` is the municipality's own AI notice (WEGWIJZER_AI_NOTICE), else the catalogue's: it is in the
    script itself, so the first view shows it before any request. Built once per process; a widget.js without
    the marker line fails at the first request, not in a browser.
    """
    source = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    if source.count(WIDGET_MESSAGES) != 1:
        raise RuntimeError(f"widget.js must hold the line {WIDGET_MESSAGES!r} exactly once")
    texts = {lang: {**section("widget.ui.", lang), "notice": ai_notice or t("notice.ai", lang)}
             for lang in CATALOGUE.languages()}
    data = json.dumps(texts, ensure_ascii=False, sort_keys=True)
    body = source.replace(WIDGET_MESSAGES, f"var MESSAGES = {data};").encode("utf-8")
    return body, '"' + hashlib.sha256(body).hexdigest()[:24] + '"'


class _SecurityHeaders:
    """nosniff, a referrer policy and the answering worker's process id on every response.

    With ``--workers N`` the process id tells which worker answered (logs, load tests, the worker tests).
    """

    def __init__(self, app):  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                headers.append((b"x-wegwijzer-worker", str(os.getpid()).encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (multi-worker): settings from the environment."""
    return create_app(get_settings())
