"""Sign-in through the municipality's identity provider: OpenID Connect, authorization code flow with PKCE.

Authlib's Starlette client does the protocol: discovery (``<issuer>/.well-known/openid-configuration``),
state, nonce and the PKCE verifier (kept in a short-lived signed cookie scoped to /beheer/aanmelden),
the code exchange, and the ID token's signature, issuer, audience, expiry and nonce. Works with any
certified provider (Entra ID, Keycloak, ...). Groups come from the claim ``WEGWIJZER_OIDC_GROUPS_CLAIM``
in the ID token or, when it is not there (oidc-provider, Keycloak without the mapper on the ID token),
from the userinfo endpoint; ``identity.role_for`` maps them to a role.

    GET /beheer/aanmelden[?voor=widget&terug=/pad]   to the identity provider
    GET /beheer/aanmelden/terug                      back: a session for /beheer (or the widget), audited
    POST /api/afmelden                               the widget's sign-out (/beheer signs out at /beheer/api/logout)
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from assistant.config import Settings
from bots.texts import t

from . import audit
from .context import Ctx, WebContext
from .errors import ApiError
from .guards import EXTERNAL_REDIRECT, client_address
from .identity import VIA_OIDC, Caller, Principal, groups_from_claims, role_for
from .session import COOKIE_PATH, READER_COOKIE, cookie_from_header, cookie_header
from .templating import render

log = logging.getLogger(__name__)

CALLBACK_PATH = "/beheer/aanmelden/terug"
STATE_COOKIE = "wegwijzer_aanmelden"
STATE_COOKIE_PATH = "/beheer/aanmelden"
STATE_MAX_AGE_S = 600  # a sign-in must come back within ten minutes
FOR_WIDGET = "widget"
PAGE_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
ERRORS = (OAuthError, httpx.HTTPError, ValueError, KeyError)  # a provider that misbehaves, or a forged return

router = APIRouter(include_in_schema=False)


class Oidc:
    """The identity provider as configured: its Authlib client, and the URLs Wegwijzer gives it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        kwargs: dict[str, Any] = {"scope": settings.oidc_scopes, "code_challenge_method": "S256", "timeout": 10.0}
        if not settings.oidc_client_secret:
            kwargs["token_endpoint_auth_method"] = "none"  # a public client: PKCE alone
        self.client: Any = OAuth().register(
            "gemeente", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret or None,
            server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration", client_kwargs=kwargs)

    def base_url(self, request: Request) -> str:
        """Where people reach this service: WEGWIJZER_PUBLIC_URL behind a proxy, else the request's own."""
        return self.settings.public_url or str(request.base_url).rstrip("/")

    async def end_session_url(self, request: Request) -> str:
        """The provider's sign-out page (RP-initiated logout), back to /beheer after; "" when it has none."""
        try:
            metadata = await self.client.load_server_metadata()
        except ERRORS as exc:
            log.warning("identity provider unreachable at sign-out: %s", exc)
            return ""
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return ""
        query = urlencode({"client_id": self.settings.oidc_client_id,
                           "post_logout_redirect_uri": f"{self.base_url(request)}{COOKIE_PATH}"})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def _oidc(ctx: WebContext) -> Oidc:
    oidc = ctx.oidc
    if oidc is None:
        raise ApiError(404, "oidc_disabled", t("auth.oidc_disabled"))
    return oidc


def _page(status: int, message: str) -> HTMLResponse:
    """A small Dutch page for what went wrong on the way back from the identity provider."""
    body = render("signin_problem.html", title=t("auth.page_title"), message=message)
    return HTMLResponse(body, status_code=status, headers={"Content-Security-Policy": PAGE_CSP,
                                                          "Cache-Control": "no-store"})


def _safe_return(raw: str | None) -> str:
    """A path on this site to come back to (never another site: no scheme, host or ``//``)."""
    if not raw or not raw.startswith("/") or raw.startswith(("//", "/\\")) or len(raw) > 500:
        return ""
    return raw


@router.get("/beheer/aanmelden")
async def sign_in(request: Request, ctx: Ctx, voor: str = "", terug: str = "") -> Response:
    """Start a sign-in: to the identity provider, with state, nonce and a PKCE challenge."""
    oidc = _oidc(ctx)
    request.session.clear()
    request.session["voor"] = FOR_WIDGET if voor == FOR_WIDGET else "beheer"
    request.session["terug"] = _safe_return(terug)
    try:
        response: Response = await oidc.client.authorize_redirect(request, oidc.base_url(request) + CALLBACK_PATH)
    except ERRORS as exc:
        log.warning("identity provider unreachable: %s", exc)
        return _page(502, t("auth.provider_unreachable"))
    response.headers[EXTERNAL_REDIRECT] = "1"  # guards.RelativeRedirects keeps this one absolute
    response.headers["Cache-Control"] = "no-store"
    return response


async def _claims(oidc: Oidc, request: Request) -> dict[str, Any]:
    token = await oidc.client.authorize_access_token(request)
    claims = dict(token.get("userinfo") or {})
    if not claims.get("sub"):
        raise ValueError("no ID token")
    if oidc.settings.oidc_groups_claim not in claims and (await oidc.client.load_server_metadata()).get(
            "userinfo_endpoint"):
        more = dict(await oidc.client.userinfo(token=token))
        if more.get("sub") != claims["sub"]:  # OpenID Connect Core 5.3.2: must match, else ignore it
            raise ValueError("userinfo is about somebody else")
        claims = {**more, **claims}
    return claims


@router.get(CALLBACK_PATH)
async def sign_in_return(request: Request, ctx: Ctx) -> Response:
    """Back from the identity provider: check everything, map groups to a role, start a session."""
    oidc = _oidc(ctx)
    address = client_address(request.scope)
    voor = request.session.get("voor", "beheer")
    back = request.session.get("terug") or ""
    nobody = Caller(Principal("", "", "", VIA_OIDC), address)
    try:
        claims = await _claims(oidc, request)
    except ERRORS as exc:
        request.session.clear()
        error = str(getattr(exc, "error", "") or type(exc).__name__)
        log.warning("failed sign-in from %s: %s", address, exc)
        audit.record(ctx.audit, nobody, audit.SIGN_IN_FAILED, reason=error[:200])
        key = "auth.aborted" if error == "access_denied" else "auth.failed"
        return _page(401, t(key))
    request.session.clear()
    subject = str(claims["sub"])
    name = str(claims.get("name") or claims.get("preferred_username") or claims.get("email") or subject)[:200]
    groups = groups_from_claims(claims, oidc.settings.oidc_groups_claim)
    role = role_for(groups, oidc.settings)
    if role is None:
        who = Caller(Principal(subject, name, "", VIA_OIDC, groups), address)
        audit.record(ctx.audit, who, audit.SIGN_IN_FAILED, reason="no_role", groups=list(groups))
        return _page(403, t("auth.no_role", name=name))
    principal = Principal(subject, name, role, VIA_OIDC, groups)
    caller = Caller(principal, address)
    previous = audit.last_role(ctx.audit, subject)
    audit.record(ctx.audit, caller, audit.SIGN_IN, voor, groups=list(groups))
    if previous is not None and previous != role:
        audit.record(ctx.audit, caller, audit.ROLE_CHANGE, subject, before=previous, after=role)
    value, _ = ctx.sessions.issue_for(principal)
    widget = voor == FOR_WIDGET
    response = RedirectResponse(back or ("/" if widget else COOKIE_PATH), status_code=303,
                                headers={"Cache-Control": "no-store"})
    response.headers.append("set-cookie", cookie_header(value, int(ctx.sessions.lifetime_s),
                                                        request.url.scheme == "https", reader=widget))
    return response


@router.post("/api/afmelden")
async def reader_sign_out(request: Request, ctx: Ctx) -> JSONResponse:
    """The widget's sign-out: ends the reader's session everywhere, and names the provider's sign-out page."""
    principal = None
    session = ctx.sessions.verify(cookie_from_header(request.headers.get("cookie"), READER_COOKIE))
    if session is not None:
        principal = session.principal
        ctx.sessions.sign_out(session)
        audit.record(ctx.audit, Caller(principal, client_address(request.scope)), audit.SIGN_OUT, FOR_WIDGET)
    end = await ctx.oidc.end_session_url(request) if ctx.oidc is not None and principal is not None else ""
    response = JSONResponse({"signed_in": False, "message": t("beheer.signed_out_ok"), "end_session_url": end},
                            headers={"Cache-Control": "no-store"})
    response.headers.append("set-cookie", cookie_header("", 0, request.url.scheme == "https", reader=True))
    return response
