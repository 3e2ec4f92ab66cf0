"""Who is asking: a person signed in through the identity provider, the break-glass admin token, or a script.

Roles nest: ``lezer`` asks, ``redacteur`` also uploads, edits metadata, deletes and re-indexes,
``beheerder`` also reads the audit trail and exports. The identity provider's groups decide the role
(settings ``WEGWIJZER_ROLE_*``); the highest matching role wins. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from assistant.config import Settings

LEZER, REDACTEUR, BEHEERDER = "lezer", "redacteur", "beheerder"
ROLES = (LEZER, REDACTEUR, BEHEERDER)  # each holds the rights of the ones before it
_RANK = {role: rank for rank, role in enumerate(ROLES)}

VIA_OIDC, VIA_TOKEN, VIA_BEARER = "oidc", "token", "bearer"
TOKEN_SUBJECT = "beheertoken"  # the break-glass sign-in and scripts have no person behind them
MAX_GROUPS = 64  # a session carries at most this many group names (they ride in a signed cookie)


@dataclass(frozen=True)
class Principal:
    """A signed-in person (or the admin token): stable subject, display name, role, how, and their groups."""

    subject: str
    name: str
    role: str
    via: str
    groups: tuple[str, ...] = ()

    def may(self, role: str) -> bool:
        return _RANK.get(self.role, -1) >= _RANK[role]


@dataclass(frozen=True)
class Caller:
    """A principal with the address the request came from: what an audit event records as who and where."""

    principal: Principal
    address: str


def token_principal(via: str = VIA_TOKEN) -> Principal:
    """The admin token: the break-glass sign-in on /beheer (``token``) or a script's bearer header (``bearer``)."""
    return Principal(TOKEN_SUBJECT, TOKEN_SUBJECT, BEHEERDER, via)


def role_for(groups: Iterable[str], settings: Settings) -> str | None:
    """The highest role these groups give, or None when they give none.

    Without ``WEGWIJZER_ROLE_LEZER`` everybody the identity provider signs in may ask (the provider's own
    assignment of users to the application decides who that is); with it, only those groups and the higher roles.
    """
    have = set(groups)
    if have & set(settings.role_beheerder):
        return BEHEERDER
    if have & set(settings.role_redacteur):
        return REDACTEUR
    if not settings.role_lezer or have & set(settings.role_lezer):
        return LEZER
    return None


def groups_from_claims(claims: dict[str, object], claim: str) -> tuple[str, ...]:
    """The groups in ``claims[claim]``: a list of names (Keycloak, Entra ID, oidc-provider) or one space- or
    comma-separated string; Keycloak's full-path names (``/personeel``) also match without their slash."""
    raw = claims.get(claim)
    if isinstance(raw, str):
        items: list[object] = list(raw.replace(",", " ").split())
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        return ()
    out: list[str] = []
    for item in items:
        if isinstance(item, str) and item.strip():
            name = item.strip()[:200]
            out.append(name)
            if name.startswith("/") and name.count("/") == 1:
                out.append(name[1:])
    return tuple(dict.fromkeys(out))[:MAX_GROUPS]
