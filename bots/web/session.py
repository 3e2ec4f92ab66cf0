"""Admin page sessions: a signed cookie every worker accepts, a CSRF token per session, sign-out that sticks.

A sign-in (through the identity provider, or with the admin token as break-glass) gives the cookie
``v2.<session id>.<expiry>.<who>.<signature>``; ``who`` is the signed-in principal (subject, name,
role, how, groups) as base64 JSON, and the signature is HMAC-SHA256 under a key derived from a random
secret kept in the data directory (created once, like the feedback salt) and from the admin token
itself, so changing ``WEGWIJZER_ADMIN_TOKEN`` signs everybody out. The same sessions serve the widget
when it asks for sign-in (``READER_COOKIE``, scoped to /api). Nothing per session is stored while it is
valid; at sign-out its id goes into a small SQLite table shared by the workers (until it would have
expired anyway), so a copied cookie stops working too.

State-changing requests carry the session's CSRF token in the ``X-CSRF-Token`` header; it is an HMAC
of the session id, so it needs no storage either, and it is compared in constant time. SameSite=Strict
alone is not enough: it does not cover same-site subdomains, and older browsers ignore it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.stores.sqlitefile import open_shared
from assistant.stores.statefiles import create_private, private_file, private_folder

from .identity import ROLES, Principal, token_principal

log = logging.getLogger(__name__)

COOKIE = "wegwijzer_beheer"
COOKIE_PATH = "/beheer"
READER_COOKIE = "wegwijzer_lezer"  # the widget's sign-in (WEGWIJZER_WIDGET_SIGNIN): sent with /api requests only
READER_COOKIE_PATH = "/api"
CSRF_HEADER = "x-csrf-token"
SECRET_FILE = "admin_session.key"
VERSION = "v2"
MAX_COOKIE = 3800  # browsers keep 4 KB per cookie; the groups are capped well below (identity.MAX_GROUPS)


@dataclass(frozen=True)
class Session:
    sid: str
    expires_at: int
    csrf: str
    principal: Principal = token_principal()


def _encode_principal(p: Principal) -> str:
    raw = json.dumps([p.subject, p.name, p.role, p.via, list(p.groups)], ensure_ascii=False, separators=(",", ":"))
    return _b64(raw.encode("utf-8"))


def _decode_principal(text: str) -> Principal | None:
    try:
        subject, name, role, via, groups = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError):
        return None
    if role not in ROLES or not all(isinstance(x, str) for x in (subject, name, via, *groups)):
        return None
    return Principal(subject, name, role, via, tuple(groups))


def local_secret(path: Path) -> bytes:
    """32 random bytes kept in ``path`` (mode 0600), created once; racing workers all read the winner's."""
    try:
        secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
        private_file(path)
        return secret
    except FileNotFoundError:
        pass
    private_folder(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    create_private(tmp, secrets.token_hex(32))
    try:
        os.link(tmp, path)  # atomic and exclusive
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class SignedOut:
    """Session ids that were signed out before they expired; one SQLite file for every worker."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._con is None:
            con = open_shared(self.path, synchronous=None)
            con.execute("CREATE TABLE IF NOT EXISTS signed_out (sid TEXT PRIMARY KEY, expires_at REAL NOT NULL)")
            self._con = con
        return self._con

    def add(self, sid: str, expires_at: float) -> None:
        with self._lock:
            con = self._connect()
            con.execute("INSERT OR REPLACE INTO signed_out VALUES (?, ?)", (sid, expires_at))
            con.execute("DELETE FROM signed_out WHERE expires_at < ?", (time.time(),))

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            try:
                row = self._connect().execute("SELECT 1 FROM signed_out WHERE sid = ?", (sid,)).fetchone()
            except sqlite3.Error as exc:  # fail closed: an unreadable list means nobody is signed in
                log.warning("cannot read the signed-out admin sessions (%s): %s", self.path, exc)
                return True
        return row is not None

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


class Sessions:
    """Issues and checks admin sessions for one admin token; usable from any worker process."""

    def __init__(self, data_dir: Path, admin_token: str, lifetime_s: float, signed_out_db: Path) -> None:
        self.data_dir = Path(data_dir)
        self.admin_token = admin_token
        self.lifetime_s = lifetime_s
        self.signed_out = SignedOut(signed_out_db)
        self._key: bytes | None = None

    oidc = False  # sign-in through the identity provider is configured (set by the web context)

    @property
    def enabled(self) -> bool:
        """Sign-in is possible: with the admin token (break-glass) or through the identity provider."""
        return bool(self.admin_token) or self.oidc

    def _signing_key(self) -> bytes:
        if self._key is None:
            secret = local_secret(self.data_dir / SECRET_FILE)
            token = hashlib.sha256(self.admin_token.encode()).digest()
            self._key = hmac.new(secret, b"wegwijzer-beheer-session|" + token, hashlib.sha256).digest()
        return self._key

    def _sign(self, text: str) -> str:
        return _b64(hmac.new(self._signing_key(), text.encode("ascii"), hashlib.sha256).digest())

    def token_matches(self, given: str) -> bool:
        return self.enabled and hmac.compare_digest(given.encode("utf-8", "replace"), self.admin_token.encode())

    def issue(self, principal: Principal | None = None, now: float | None = None) -> tuple[str, Session]:
        """A new session for ``principal`` (default: the admin token's break-glass sign-in): (cookie value, session)."""
        principal = principal or token_principal()
        now = time.time() if now is None else now
        sid = secrets.token_urlsafe(18)
        expires = int(now + self.lifetime_s)
        body = f"{VERSION}.{sid}.{expires}.{_encode_principal(principal)}"
        return f"{body}.{self._sign(body)}", Session(sid, expires, self._csrf(sid), principal)

    def _csrf(self, sid: str) -> str:
        return self._sign(f"csrf.{sid}")

    def verify(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie value stands for, or None (absent, tampered, expired, signed out, token off)."""
        if not self.enabled or not cookie or len(cookie) > MAX_COOKIE:
            return None
        parts = cookie.split(".")
        if len(parts) != 5 or parts[0] != VERSION or not parts[2].isdigit():
            return None
        try:
            body = ".".join(parts[:4])
            body.encode("ascii")
        except UnicodeEncodeError:
            return None
        if not hmac.compare_digest(parts[4].encode("ascii", "replace"), self._sign(body).encode("ascii")):
            return None
        expires = int(parts[2])
        if expires <= (time.time() if now is None else now):
            return None
        principal = _decode_principal(parts[3])
        if principal is None or (principal.subject == token_principal().subject and not self.admin_token):
            return None  # the break-glass sign-in ends when the admin token is switched off
        if parts[1] in self.signed_out:
            return None
        return Session(parts[1], expires, self._csrf(parts[1]), principal)

    @staticmethod
    def csrf_matches(session: Session, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest((given or "").encode("utf-8", "replace"), session.csrf.encode())

    def sign_out(self, session: Session) -> None:
        self.signed_out.add(session.sid, session.expires_at)

    def close(self) -> None:
        self.signed_out.close()


def cookie_header(value: str, max_age: int, secure: bool, reader: bool = False) -> str:
    """The Set-Cookie value: HttpOnly, SameSite=Strict, scoped to /beheer, Secure over https.

    ``reader``: the widget's sign-in, scoped to /api and SameSite=Lax (it only lets people ask questions).
    """
    name, path, same_site = (READER_COOKIE, READER_COOKIE_PATH, "Lax") if reader else (COOKIE, COOKIE_PATH, "Strict")
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max(0, max_age)}", "HttpOnly",
             f"SameSite={same_site}"]
    if max_age <= 0:
        parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def cookie_from_header(raw: str | None, cookie: str = COOKIE) -> str | None:
    """Our cookie's value from a Cookie header (the first one: browsers send the most specific path first)."""
    if not raw:
        return None
    found = None
    for item in raw.split(";"):
        name, sep, value = item.strip().partition("=")
        if sep and name == cookie:
            found = found or value.strip()
    return found
