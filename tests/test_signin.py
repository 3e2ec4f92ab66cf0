"""Sign-in through a real OpenID provider (panva's oidc-provider, started by the test), roles and the audit trail.

The flow is the real one: Wegwijzer (a real uvicorn server) sends the person to the provider with
state, nonce and a PKCE challenge (the provider requires PKCE); the provider's login and consent forms
are posted with httpx; the provider sends them back with a code that Wegwijzer exchanges. Groups come
from the provider's userinfo endpoint. The browser test is tests/test_signin_browser.py.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from assistant.config import ConfigError, Settings
from bots.texts import t
from bots.web import create_app
from bots.web.identity import BEHEERDER, LEZER, REDACTEUR, groups_from_claims, role_for
from bots.web.session import COOKIE, READER_COOKIE
from ingest.jobs import Reindexer

from .fakes import FakeEmbedder
from .oidc_support import CLIENT_ID, CLIENT_SECRET, ROLE_SETTINGS, abort, csrf, sign_in
from .web_support import ServerThread

TOKEN = "noodtoegang-789"


def oidc_settings(base: Settings, issuer: str, **changes: Any) -> Settings:
    return base.with_(oidc_issuer=issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
                      upload_rate_limit=0, login_rate_limit=0, max_upload_mb=0.25,
                      **{**ROLE_SETTINGS, **changes})


@dataclass
class Site:
    url: str
    settings: Settings


@pytest.fixture
def site(fake_index: Settings, fake_embedder: FakeEmbedder, oidc_issuer: str) -> Iterator[Site]:
    """Wegwijzer with sign-in through the provider (and the admin token as break-glass), on a real server."""
    settings = oidc_settings(fake_index, oidc_issuer, admin_token=TOKEN)
    jobs = Reindexer(settings, embedder_factory=FakeEmbedder)
    with ServerThread(create_app(settings, embedder=fake_embedder, jobs=jobs)) as server:
        yield Site(server.url, settings)


def browser_client() -> httpx.Client:
    return httpx.Client(timeout=30.0)


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    return str(body["message"])


def audit(site: Site) -> list[dict[str, Any]]:
    r = httpx.get(site.url + "/api/admin/audit", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    return list(r.json()["events"])


def upload(client: httpx.Client, site: Site, name: str = "nota.txt") -> httpx.Response:
    text = "Het onthaalbureau is op maandag open van negen tot twaalf uur. " * 3
    return client.post(site.url + "/beheer/api/documents", headers=csrf(client, site.url),
                       files={"file": (name, text.encode(), "text/plain")}, data={"title": "Nota onthaal"})


# ---------------------------------------------------------------- the flow


def test_the_authorization_request_carries_pkce_state_and_nonce(site: Site, oidc_issuer: str) -> None:
    with browser_client() as client:
        r = client.get(site.url + "/beheer/aanmelden")
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == oidc_issuer  # kept absolute: the one redirect to another site
    query = parse_qs(target.query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [site.url + "/beheer/aanmelden/terug"]
    state_cookie = r.headers["set-cookie"]
    assert "path=/beheer/aanmelden;" in state_cookie.lower() and "httponly" in state_cookie.lower()


def test_an_editor_can_upload_a_reader_cannot(site: Site) -> None:
    with browser_client() as editor:
        home = sign_in(editor, site.url, "els")
        assert home.status_code == 200 and str(home.url) == site.url + "/beheer"
        session = editor.get(site.url + "/beheer/api/session").json()
        assert session["user"] == {"name": "Els Redacteur", "subject": "els", "role": REDACTEUR,
                                   "role_label": t("auth.role.redacteur"), "via": "oidc"}
        r = upload(editor, site)
        assert r.status_code == 201, r.text
        assert r.json()["source"] == "nota.txt"
        assert editor.get(site.url + "/beheer/api/documents").status_code == 200
        # a redacteur is not a beheerder: no audit trail, no exports
        error(editor.get(site.url + "/beheer/api/audit"), 403, "forbidden_role")
        error(editor.get(site.url + "/beheer/api/feedback.csv"), 403, "forbidden_role")

    with browser_client() as reader:
        sign_in(reader, site.url, "lars")
        assert reader.get(site.url + "/beheer/api/session").json()["user"]["role"] == LEZER
        message = error(upload(reader, site, "ander.txt"), 403, "forbidden_role")
        assert message == t("auth.forbidden", needed=t("auth.role.redacteur"), role=t("auth.role.lezer"))
        error(reader.get(site.url + "/beheer/api/documents"), 403, "forbidden_role")
        r = reader.delete(site.url + "/beheer/api/documents/nota.txt", headers=csrf(reader, site.url))
        error(r, 403, "forbidden_role")
    assert (site.settings.corpus_dir / "nota.txt").is_file()
    assert not (site.settings.corpus_dir / "ander.txt").exists()

    events = audit(site)
    uploads = [e for e in events if e["action"] == "upload"]
    assert [(e["subject"], e["name"], e["role"], e["via"], e["target"]) for e in uploads] == [
        ("els", "Els Redacteur", REDACTEUR, "oidc", "nota.txt")]
    assert uploads[0]["address"] == "127.0.0.1" and uploads[0]["detail"]["size"] > 0
    refused = [e for e in events if e["action"] == "forbidden"]
    assert {e["subject"] for e in refused} >= {"els", "lars"}
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)  # newest first


def test_a_beheerder_reads_the_audit_trail_and_exports_it(site: Site) -> None:
    with browser_client() as editor:
        sign_in(editor, site.url, "els")
        assert upload(editor, site).status_code == 201
        r = editor.patch(site.url + "/beheer/api/documents/nota.txt", headers=csrf(editor, site.url),
                         json={"publisher": "Stad Gent"})
        assert r.status_code == 200, r.text
        r = editor.post(site.url + "/beheer/api/logout", headers=csrf(editor, site.url))
        assert r.status_code == 200
    with browser_client() as manager:
        sign_in(manager, site.url, "bea")
        assert manager.get(site.url + "/beheer/api/session").json()["user"]["role"] == BEHEERDER
        events = manager.get(site.url + "/beheer/api/audit").json()["events"]
        actions = [(e["action"], e["subject"]) for e in events]
        for expected in [("sign_in", "bea"), ("sign_out", "els"), ("reindex", "els"), ("metadata", "els"),
                         ("upload", "els"), ("sign_in", "els")]:
            assert expected in actions, actions
        change = next(e for e in events if e["action"] == "metadata")
        assert change["target"] == "nota.txt" and change["detail"]["changed"]["publisher"] == ["", "Stad Gent"]
        r = manager.get(site.url + "/beheer/api/audit.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
        assert rows[0][:3] == [t("csv.date"), t("csv.audit.action"), t("csv.audit.name")]
        assert [t("audit.action.upload"), "Els Redacteur", "els"] in [row[1:4] for row in rows[1:]]
        assert manager.get(site.url + "/beheer/api/feedback.csv").status_code == 200


def test_a_person_whose_groups_give_no_role_is_refused_and_it_is_recorded(site: Site) -> None:
    with browser_client() as guest:
        page = sign_in(guest, site.url, "gast")
        assert page.status_code == 403
        assert t("auth.no_role", name="Gast Zonder Groep") in html.unescape(page.text)
        assert guest.get(site.url + "/beheer/api/session").json()["signed_in"] is False
        assert COOKIE not in guest.cookies
    failed = [e for e in audit(site) if e["action"] == "sign_in_failed"]
    assert failed and failed[0]["subject"] == "gast" and failed[0]["detail"]["reason"] == "no_role"


def test_an_aborted_or_forged_return_signs_nobody_in(site: Site) -> None:
    with browser_client() as client:
        page = abort(client, site.url)
        assert page.status_code == 401 and t("auth.aborted") in html.unescape(page.text)
        # a return that this browser never started (no state cookie): refused
        r = client.get(site.url + "/beheer/aanmelden/terug?code=abc&state=xyz")
        assert r.status_code == 401 and t("auth.failed").split(":")[0] in r.text
        assert client.get(site.url + "/beheer/api/session").json()["signed_in"] is False
    reasons = [e["detail"]["reason"] for e in audit(site) if e["action"] == "sign_in_failed"]
    assert "access_denied" in reasons and len(reasons) == 2


def test_sign_out_ends_the_session_and_offers_the_providers_sign_out(site: Site, oidc_issuer: str) -> None:
    with browser_client() as client:
        sign_in(client, site.url, "els")
        copied = client.cookies.get(COOKIE)
        r = client.post(site.url + "/beheer/api/logout", headers=csrf(client, site.url))
        body = r.json()
        end = urlsplit(body["end_session_url"])
        assert f"{end.scheme}://{end.netloc}{end.path}" == f"{oidc_issuer}/session/end"
        assert parse_qs(end.query)["post_logout_redirect_uri"] == [site.url + "/beheer"]
        # the provider accepts that request: it shows its sign-out confirmation, not an error
        page = client.get(body["end_session_url"], follow_redirects=True)
        assert page.status_code == 200 and "logout" in page.text.lower()
    with browser_client() as thief:  # a copy of the cookie stops working at sign-out
        thief.cookies.set(COOKIE, copied or "", domain="127.0.0.1", path="/beheer")
        assert thief.get(site.url + "/beheer/api/session").json()["signed_in"] is False
        error(thief.get(site.url + "/beheer/api/documents"), 401, "signed_out")


def test_a_changed_role_is_recorded(fake_index: Settings, fake_embedder: FakeEmbedder, oidc_issuer: str) -> None:
    """Els is redacteur; the municipality then takes the redactie group out of the mapping."""
    for role_redacteur, expected in ((("redactie",), REDACTEUR), ((), LEZER)):
        settings = oidc_settings(fake_index, oidc_issuer, role_redacteur=role_redacteur)
        with ServerThread(create_app(settings, embedder=fake_embedder)) as server, browser_client() as client:
            sign_in(client, server.url, "els")
            assert client.get(server.url + "/beheer/api/session").json()["user"]["role"] == expected
    from assistant.stores.factory import open_stores

    store = open_stores(settings).audit()
    try:
        changes = [e for e in store.list() if e.action == "role_change"]
    finally:
        store.close()
    assert len(changes) == 1 and changes[0].actor == "els"
    assert changes[0].detail == {"name": "Els Redacteur", "via": "oidc", "before": REDACTEUR, "after": LEZER}


def test_without_the_admin_token_only_the_provider_signs_in(fake_index: Settings, fake_embedder: FakeEmbedder,
                                                           oidc_issuer: str) -> None:
    settings = oidc_settings(fake_index, oidc_issuer)
    with ServerThread(create_app(settings, embedder=fake_embedder)) as server, browser_client() as client:
        state = client.get(server.url + "/beheer/api/session").json()
        assert state["enabled"] and state["oidc"] and not state["token_sign_in"]
        error(client.post(server.url + "/beheer/api/login", json={"token": ""}), 404, "admin_disabled")
        error(client.get(server.url + "/api/admin/status"), 404, "admin_disabled")  # no token: no bearer API
        sign_in(client, server.url, "bea")
        assert client.get(server.url + "/beheer/api/audit").status_code == 200


def test_the_bearer_api_is_audited_with_who_and_what(site: Site) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    r = httpx.post(site.url + "/api/admin/documents", headers=headers,
                   files={"file": ("script.txt", b"Openingsuren van het loket: maandag tot vrijdag. " * 4)})
    assert r.status_code == 201, r.text
    r = httpx.patch(site.url + "/api/admin/documents/script.txt", headers=headers, json={"title": "Loket"})
    assert r.status_code == 200 and r.json()["catalog"] == {"title": "Loket"}
    r = httpx.delete(site.url + "/api/admin/documents/script.txt", headers=headers)
    assert r.status_code == 200
    events = [(e["action"], e["subject"], e["via"], e["target"]) for e in audit(site)]
    assert events[:4] == [("delete", "beheertoken", "bearer", "script.txt"),
                          ("reindex", "beheertoken", "bearer", events[1][3]),
                          ("metadata", "beheertoken", "bearer", "script.txt"),
                          ("upload", "beheertoken", "bearer", "script.txt")]


def test_break_glass_sign_in_is_audited(site: Site) -> None:
    with browser_client() as client:
        assert client.post(site.url + "/beheer/api/login", json={"token": "fout"}).status_code == 401
        r = client.post(site.url + "/beheer/api/login", json={"token": TOKEN})
        assert r.json()["user"]["role"] == BEHEERDER and r.json()["user"]["via"] == "token"
    events = [(e["action"], e["via"]) for e in audit(site)]
    assert events[:2] == [("sign_in", "token"), ("sign_in_failed", "token")]


# ---------------------------------------------------------------- the widget


def test_the_widget_can_ask_for_sign_in(fake_index: Settings, fake_embedder: FakeEmbedder, oidc_issuer: str) -> None:
    settings = oidc_settings(fake_index, oidc_issuer, widget_signin=True, public_url="")
    with ServerThread(create_app(settings, embedder=fake_embedder)) as server, browser_client() as client:
        message = error(client.post(server.url + "/api/ask", json={"question": "Wat is inburgering?"}), 401,
                        "sign_in_required")
        assert message == t("auth.widget_sign_in", url="/beheer/aanmelden?voor=widget")
        home = sign_in(client, server.url, "lars", start="/beheer/aanmelden?voor=widget")
        assert home.status_code == 200 and urlsplit(str(home.url)).path == "/"
        assert READER_COOKIE in client.cookies and COOKIE not in client.cookies  # no way into /beheer
        r = client.post(server.url + "/api/ask", json={"question": "Wat is inburgering?"})
        assert r.status_code == 200, r.text
        assert client.get(server.url + "/beheer/api/session").json()["signed_in"] is False
        copied = client.cookies.get(READER_COOKIE)
        r = client.post(server.url + "/api/afmelden")
        assert r.status_code == 200 and r.json()["end_session_url"].startswith(oidc_issuer + "/session/end")
        error(client.post(server.url + "/api/ask", json={"question": "Wat is inburgering?"}), 401, "sign_in_required")
        client.cookies.set(READER_COOKIE, copied or "", domain="127.0.0.1", path="/")  # a copy is no use either
        error(client.post(server.url + "/api/ask", json={"question": "Wat is inburgering?"}), 401, "sign_in_required")


def test_a_signed_in_readers_groups_become_the_requests_audiences(fake_index: Settings, oidc_issuer: str) -> None:
    """What the documents-per-audience filter reads (``scope["state"]["audiences"]``): the reader's groups; a
    /beheer session of a non-beheerder gets ``beheer_audiences`` from SessionGate."""
    import asyncio
    import threading

    from bots.web.auth import AUDIENCES_STATE, ReaderGate, audiences_for
    from bots.web.identity import Principal

    app = create_app(oidc_settings(fake_index, oidc_issuer), embedder=FakeEmbedder())
    sessions = app.state.ctx.sessions
    value, _ = sessions.issue_for(Principal("lars", "Lars", LEZER, "oidc", ("personeel", "onthaal")))
    seen: list[dict[str, Any]] = []

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope.get("state", {})))

    gate = ReaderGate(endpoint, sessions, "/beheer/aanmelden?voor=widget", required=False)
    for headers in ([(b"cookie", f"{READER_COOKIE}={value}".encode())], []):
        # In a thread of its own: a worker that also drives Chromium (Playwright) has a running loop here.
        call = threading.Thread(target=asyncio.run, args=(
            gate({"type": "http", "method": "POST", "path": "/api/ask", "headers": headers}, None, None),))
        call.start()
        call.join()
    assert seen[0][AUDIENCES_STATE] == frozenset({"personeel", "onthaal"}) and AUDIENCES_STATE not in seen[1]
    from starlette.requests import Request

    assert audiences_for(Request({"type": "http", "state": seen[0]})) == frozenset({"personeel", "onthaal"})
    app.state.ctx.close()


# ---------------------------------------------------------------- pure parts


def test_groups_map_to_the_highest_role(settings: Settings) -> None:
    s = settings.with_(**ROLE_SETTINGS)
    assert role_for(["personeel"], s) == LEZER
    assert role_for(["personeel", "redactie"], s) == REDACTEUR
    assert role_for(["redactie", "ict-beheer"], s) == BEHEERDER
    assert role_for(["extern"], s) is None
    assert role_for([], settings) == LEZER  # no lezer groups configured: whoever the provider signs in may ask
    assert groups_from_claims({"groups": ["/ict-beheer", "a"]}, "groups") == ("/ict-beheer", "ict-beheer", "a")
    assert groups_from_claims({"roles": "a, b"}, "roles") == ("a", "b")
    assert groups_from_claims({"groups": {"x": 1}}, "groups") == ()


def test_sign_in_settings_are_checked() -> None:
    env = {"WEGWIJZER_OIDC_ISSUER": "https://login.microsoftonline.com/t/v2.0/", "WEGWIJZER_OIDC_CLIENT_ID": "c",
           "WEGWIJZER_ROLE_REDACTEUR": "a, b", "WEGWIJZER_WIDGET_SIGNIN": "ja"}
    s = Settings.from_env(env)
    assert s.oidc_enabled and s.oidc_issuer.endswith("/v2.0") and s.role_redacteur == ("a", "b")
    assert s.widget_signin and s.oidc_groups_claim == "groups" and s.audit_retention_days == 365
    with pytest.raises(ConfigError, match="CLIENT_ID"):
        Settings.from_env({"WEGWIJZER_OIDC_ISSUER": "https://idp.example"})
    with pytest.raises(ConfigError, match="OIDC_ISSUER"):
        Settings.from_env({"WEGWIJZER_OIDC_ISSUER": "idp.example", "WEGWIJZER_OIDC_CLIENT_ID": "c"})
    with pytest.raises(ConfigError, match="WIDGET_SIGNIN"):
        Settings.from_env({"WEGWIJZER_WIDGET_SIGNIN": "aan"})


# ---------------------------------------------------------------- behind a load balancer (PostgreSQL)


@pytest.mark.timeout(300)
def test_on_postgresql_a_sign_in_on_one_replica_works_on_the_other_and_sign_out_ends_it_on_both(
        pg_settings: Settings, fake_embedder: FakeEmbedder, oidc_issuer: str, tmp_path: Any) -> None:
    """Two replicas with their own (empty) data directories share one database. The sign-in starts on one and
    comes back to the other (the provider returns to the public address, whichever replica answers it)."""
    from ingest.build import ingest

    ingest(pg_settings, embedder=fake_embedder)
    one = oidc_settings(pg_settings, oidc_issuer, data_dir=tmp_path / "replica-1", watch=False)
    two = oidc_settings(pg_settings, oidc_issuer, data_dir=tmp_path / "replica-2", watch=False)
    with ServerThread(create_app(two, embedder=fake_embedder)) as b:
        first = oidc_settings(pg_settings, oidc_issuer, data_dir=one.data_dir, watch=False, public_url=b.url)
        with ServerThread(create_app(first, embedder=fake_embedder)) as a, browser_client() as client:
            home = sign_in(client, a.url, "els")  # starts on replica 1, the provider sends Els back to replica 2
            assert str(home.url) == b.url + "/beheer"
            for replica in (a.url, b.url):
                assert client.get(replica + "/beheer/api/session").json()["user"]["subject"] == "els", replica
            cookie = client.cookies.get(COOKIE)
            r = client.post(a.url + "/beheer/api/logout", headers=csrf(client, a.url))
            assert r.status_code == 200
        with browser_client() as thief:
            thief.cookies.set(COOKIE, cookie or "", domain="127.0.0.1", path="/beheer")
            assert thief.get(b.url + "/beheer/api/session").json()["signed_in"] is False
    from assistant.stores.factory import open_stores

    store = open_stores(pg_settings).audit()
    actions = [(e.action, e.actor) for e in store.list()]
    assert ("sign_in", "els") in actions and ("sign_out", "els") in actions
