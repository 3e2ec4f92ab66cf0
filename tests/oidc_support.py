"""A real OpenID provider for the sign-in tests (panva's oidc-provider, tests/oidc/), and the steps a person takes.

``OidcProvider`` starts ``node tests/oidc/provider.mjs`` on a free 127.0.0.1 port with test users in groups;
``sign_in`` walks the authorization code flow with httpx as a browser would: to the provider, its login
form, its consent form, and back to Wegwijzer.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import subprocess
import time
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from bots.localdb import free_port

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "wegwijzer"
CLIENT_SECRET = "wegwijzer-test-secret"  # noqa: S105 - the test provider's own client

# Test users and their groups at the identity provider. The mapping of groups to roles is Wegwijzer's
# (ROLE_SETTINGS); "gast" is in no group that maps to one.
USERS = {
    "els": {"name": "Els Redacteur", "groups": ["redactie", "personeel"]},
    "lars": {"name": "Lars Lezer", "groups": ["personeel"]},
    "bea": {"name": "Bea Beheerder", "groups": ["/ict-beheer"]},  # Keycloak writes full group paths
    "gast": {"name": "Gast Zonder Groep", "groups": ["extern"]},
}
ROLE_SETTINGS = {"role_lezer": ("personeel",), "role_redacteur": ("redactie",), "role_beheerder": ("ict-beheer",)}


class OidcProvider:
    """``node provider.mjs`` on a free port; ``issuer`` once it says it is ready.

    The issuer says ``localhost`` while Wegwijzer's test servers say 127.0.0.1: two sites, as in production,
    so the browser applies its cross-site cookie rules on the way to the provider and back.
    """

    def __init__(self, users: dict[str, Any], host: str = "localhost") -> None:
        node = shutil.which("node")
        if node is None:
            pytest.fail("Node.js is missing: the sign-in tests need it (Node 20+, see README)")
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("the test OpenID provider is not installed: run `npm ci` in tests/oidc (make test does)")
        self.port = free_port()
        env = {**os.environ, "OIDC_TEST_USERS": json.dumps(users), "NODE_ENV": "test"}
        self.process = subprocess.Popen([node, "provider.mjs", str(self.port), host], cwd=OIDC_DIR, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.issuer = ""

    def __enter__(self) -> OidcProvider:
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            if selector.select(timeout=0.5):
                line = self.process.stdout.readline()
                if line.startswith("ready "):
                    self.issuer = line.split()[1]
                    return self
        self.__exit__()
        err = self.process.stderr.read() if self.process.stderr else ""
        raise RuntimeError(f"the test OpenID provider did not start: {err[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _form(page: httpx.Response) -> tuple[str, dict[str, str]]:
    """The provider page's form: its absolute action and its hidden fields."""
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert action is not None, page.text[:2000]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return urljoin(str(page.url), unescape(action.group(1))), hidden


def sign_in(client: httpx.Client, base: str, login: str, start: str = "/beheer/aanmelden") -> httpx.Response:
    """Sign in as ``login`` at the provider, starting at Wegwijzer's ``start``; the last response (back home)."""
    page = client.get(base + start, follow_redirects=True)
    assert page.status_code == 200 and 'value="login"' in page.text, page.text[:2000]
    action, fields = _form(page)
    page = client.post(action, data={**fields, "login": login, "password": "wachtwoord"}, follow_redirects=True)
    if 'value="consent"' in page.text:  # the first sign-in of this user at this client asks for consent
        action, fields = _form(page)
        page = client.post(action, data=fields, follow_redirects=True)
    return page


def abort(client: httpx.Client, base: str) -> httpx.Response:
    """Start a sign-in and cancel it at the provider (its "abort" link): back with error=access_denied."""
    page = client.get(base + "/beheer/aanmelden", follow_redirects=True)
    link = re.search(r'href="([^"]*/abort)"', page.text)
    assert link is not None, page.text[:2000]
    return client.get(urljoin(str(page.url), unescape(link.group(1))), follow_redirects=True)


def csrf(client: httpx.Client, base: str) -> dict[str, str]:
    """The session's CSRF header (a signed-in page reads it from /beheer/api/session)."""
    body = client.get(base + "/beheer/api/session").json()
    assert body["signed_in"], body
    return {"X-CSRF-Token": body["csrf"]}
