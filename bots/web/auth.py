"""Who may do what, as FastAPI dependencies: the session, the role an admin route needs, the widget's reader.

``Editor``/``Manager`` on a /beheer route: the session ``guards.SessionGate`` verified (cookie, CSRF)
and a role at least ``redacteur``/``beheerder``; on an /api/admin route: the bearer token (checked
by ``guards.AdminGate``), which acts as ``beheerder``. A missing role is a 403 in Dutch, and an audit
event. ``ReaderGate`` puts a signed-in reader's groups where the web service looks for the asker's
audiences (``scope["state"]["audiences"]``, read by the documents-per-audience work's
``request_audiences``), and refuses anonymous questions when WEGWIJZER_WIDGET_SIGNIN is on.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bots.texts import t

from . import audit
from .context import WebContext, get_context
from .errors import ApiError, send_error
from .guards import ADMIN_PREFIX, client_address
from .identity import BEHEERDER, LEZER, REDACTEUR, VIA_BEARER, Caller, Principal, token_principal
from .metrics import ASGIApp, Receive, Scope, Send
from .session import READER_COOKIE, Session, Sessions, cookie_from_header

ASK_PATHS = frozenset({"/api/ask", "/api/ask/stream"})
SIGN_IN_PATH = "/beheer/aanmelden"
READER_STATE = "wegwijzer_reader"
AUDIENCES_STATE = "audiences"  # the asker's groups; absent: anonymous, documents for everyone only


def beheer_session(request: Request) -> Session:
    """The session ``guards.SessionGate`` verified for this request (it refused the request otherwise)."""
    session = request.scope.get("state", {}).get("beheer_session")
    if not isinstance(session, Session):
        raise ApiError(401, "signed_out", t("beheer.signed_out"))
    return session


BeheerSession = Annotated[Session, Depends(beheer_session)]


def role_label(role: str) -> str:
    return t(f"auth.role.{role}")


class NeedRole:
    """A dependency: the caller, when their role is at least ``role``; else 403 (recorded in the audit trail)."""

    def __init__(self, role: str) -> None:
        self.role = role

    def __call__(self, request: Request, ctx: Annotated[WebContext, Depends(get_context)]) -> Caller:
        path = request.url.path
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            principal = token_principal(VIA_BEARER)  # guards.AdminGate let only the right token through
        else:
            principal = beheer_session(request).principal
        caller = Caller(principal, client_address(request.scope))
        if not principal.may(self.role):
            audit.record(ctx.audit, caller, audit.FORBIDDEN, f"{request.method} {path}"[:300],
                                                needed=self.role)
            raise ApiError(403, "forbidden_role", t("auth.forbidden", needed=role_label(self.role),
                                                    role=role_label(principal.role)))
        return caller


Reader = Annotated[Caller, Depends(NeedRole(LEZER))]
Editor = Annotated[Caller, Depends(NeedRole(REDACTEUR))]
Manager = Annotated[Caller, Depends(NeedRole(BEHEERDER))]


def reader_principal(scope: Scope, sessions: Sessions) -> Principal | None:
    """The person signed in to the widget (the reader cookie, sent with /api requests), or None."""
    for key, value in scope.get("headers") or []:
        if key == b"cookie":
            session = sessions.verify(cookie_from_header(bytes(value).decode("latin-1"), READER_COOKIE))
            if session is not None:
                return session.principal
    return None


def audiences_for(request: Request) -> frozenset[str]:
    """The audiences ``ReaderGate`` found for this request's asker; none when anonymous."""
    found = request.scope.get("state", {}).get(AUDIENCES_STATE)
    return frozenset(found) if isinstance(found, frozenset) else frozenset()


class ReaderGate:
    """A signed-in reader (the widget's sign-in cookie): their groups become the request's audiences. With
    ``required`` (WEGWIJZER_WIDGET_SIGNIN), questions without one get a 401 with a Dutch message and the sign-in
    link, before the body is read."""

    def __init__(self, app: ASGIApp, sessions: Sessions, sign_in_url: str, required: bool) -> None:
        self.app = app
        self.sessions = sessions
        self.sign_in_url = sign_in_url
        self.required = required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            principal = reader_principal(scope, self.sessions)
            if principal is not None:
                state = scope.setdefault("state", {})
                state[READER_STATE] = principal
                state[AUDIENCES_STATE] = frozenset(principal.groups)
            elif self.required and scope.get("path") in ASK_PATHS and scope.get("method") == "POST":
                await send_error(send, 401, "sign_in_required", t("auth.widget_sign_in", url=self.sign_in_url),
                                 close=True)
                return
        await self.app(scope, receive, send)
