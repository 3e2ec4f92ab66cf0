"""Admin page sessions: a signed cookie that names a session record in the state store, a CSRF token per
session, sign-out that ends it everywhere.

A sign-in makes a session record (``assistant.stores.sessions``: who, their roles and groups, until when) in
the configured store and gives the cookie ``v2.<session id>.<signature>``; the signature is HMAC-SHA256
under a key derived from a random secret kept in the same store and from the admin token, so changing
``WEGWIJZER_ADMIN_TOKEN`` signs everybody out. Every request reads the record: with PostgreSQL a session
made on one replica is valid on every other, and a sign-out (the record ends) is refused by all of them, a
copied cookie too. A sign-in with the admin token is subject "beheertoken" with role "beheerder".

State-changing requests carry the session's CSRF token in the ``X-CSRF-Token`` header; it is an HMAC
of the session id, so it needs no storage, and it is compared in constant time. SameSite=Strict
alone is not enough: it does not cover same-site subdomains, and older browsers ignore it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from assistant.stores.sessions import ADMIN_ROLE, ADMIN_TOKEN_SUBJECT, SessionRecord, SessionStore

COOKIE = "wegwijzer_beheer"
COOKIE_PATH = "/beheer"
CSRF_HEADER = "x-csrf-token"
SECRET_FILE = "admin_session.key"  # before the state layer; adopted by the SQLite session store
VERSION = "v2"


@dataclass(frozen=True)
class Session:
    sid: str
    expires_at: int
    csrf: str
    subject: str = ADMIN_TOKEN_SUBJECT
    display_name: str = ADMIN_TOKEN_SUBJECT
    roles: tuple[str, ...] = (ADMIN_ROLE,)
    groups: tuple[str, ...] = ()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Sessions:
    """Issues and checks admin sessions for one admin token; usable from any worker process and replica."""

    def __init__(self, store: SessionStore, admin_token: str, lifetime_s: float) -> None:
        self.store = store
        self.admin_token = admin_token
        self.lifetime_s = lifetime_s
        self._key: bytes | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.admin_token)

    def _signing_key(self) -> bytes:
        if self._key is None:
            token = hashlib.sha256(self.admin_token.encode()).digest()
            self._key = hmac.new(self.store.secret(), b"wegwijzer-beheer-session|" + token, hashlib.sha256).digest()
        return self._key

    def _sign(self, text: str) -> str:
        return _b64(hmac.new(self._signing_key(), text.encode("ascii"), hashlib.sha256).digest())

    def token_matches(self, given: str) -> bool:
        return self.enabled and hmac.compare_digest(given.encode("utf-8", "replace"), self.admin_token.encode())

    def issue(self, now: float | None = None, *, subject: str = ADMIN_TOKEN_SUBJECT, display_name: str = "",
              roles: tuple[str, ...] = (ADMIN_ROLE,), groups: tuple[str, ...] = ()) -> tuple[str, Session]:
        """A new session, recorded in the store: (cookie value, session). Without arguments: the admin token's."""
        now = time.time() if now is None else now
        sid = secrets.token_urlsafe(18)
        record = SessionRecord(sid, subject, display_name or subject, tuple(roles), tuple(groups),
                               now + self.lifetime_s, now)
        self.store.create(record)
        body = f"{VERSION}.{sid}"
        return f"{body}.{self._sign(body)}", self._session(record)

    def _session(self, record: SessionRecord) -> Session:
        return Session(record.sid, int(record.expires_at), self._csrf(record.sid), record.subject,
                       record.display_name, record.roles, record.groups)

    def _csrf(self, sid: str) -> str:
        return self._sign(f"csrf.{sid}")

    def verify(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie value stands for, or None (absent, tampered, expired, signed out, token off)."""
        if not self.enabled or not cookie or len(cookie) > 200:
            return None
        parts = cookie.split(".")
        if len(parts) != 3 or parts[0] != VERSION or not parts[1]:
            return None
        try:
            body = ".".join(parts[:2])
            body.encode("ascii")
        except UnicodeEncodeError:
            return None
        if not hmac.compare_digest(parts[2].encode("ascii", "replace"), self._sign(body).encode("ascii")):
            return None
        record = self.store.get(parts[1], now)
        return None if record is None else self._session(record)

    @staticmethod
    def csrf_matches(session: Session, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest((given or "").encode("utf-8", "replace"), session.csrf.encode())

    def sign_out(self, session: Session) -> None:
        self.store.end(session.sid)

    def close(self) -> None:
        self.store.close()


def cookie_header(value: str, max_age: int, secure: bool) -> str:
    """The Set-Cookie value: HttpOnly, SameSite=Strict, scoped to /beheer, Secure over https."""
    parts = [f"{COOKIE}={value}", f"Path={COOKIE_PATH}", f"Max-Age={max(0, max_age)}", "HttpOnly",
             "SameSite=Strict"]
    if max_age <= 0:
        parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def cookie_from_header(raw: str | None) -> str | None:
    """Our cookie's value from a Cookie header (the first one: browsers send the most specific path first)."""
    if not raw:
        return None
    found = None
    for item in raw.split(";"):
        name, sep, value = item.strip().partition("=")
        if sep and name == COOKIE:
            found = found or value.strip()
    return found
