"""Sign-in on /beheer in a real browser (Debian's chromium through Playwright) through the real OpenID provider.

The provider is another site (``localhost``) than Wegwijzer (127.0.0.1), so the browser applies its
cross-site cookie rules on the way there and back, as with Entra ID or Keycloak. A redacteur sees who
is signed in and the documents, not the audit trail or the exports; a lezer sees that the page is not
for them; a beheerder sees the audit trail with the redacteur's sign-in. Sign-out goes on to the
provider's own sign-out page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.config import Settings
from bots.texts import t

from .browser_support import open_page
from .fakes import FakeEmbedder
from .oidc_support import CLIENT_ID, CLIENT_SECRET, ROLE_SETTINGS
from .web_support import ServerThread

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture
def site(fake_index: Settings, fake_embedder: FakeEmbedder, oidc_issuer: str) -> Iterator[str]:
    from bots.web import create_app

    settings = fake_index.with_(oidc_issuer=oidc_issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
                                **ROLE_SETTINGS)
    with ServerThread(create_app(settings, embedder=fake_embedder)) as server:
        yield server.url


def sign_in(page: Any, url: str, login: str) -> None:
    page.goto(url + "/beheer")
    link = page.get_by_role("link", name=t("beheer.ui.login.oidc"))
    expect(link).to_be_visible()
    expect(page.locator("#login-form")).to_be_hidden()  # no admin token: no break-glass form
    link.click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("wachtwoord")
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    if page.locator("input[name=prompt][value=consent]").count():
        page.locator("button[type=submit]").click()
    page.wait_for_url(url + "/beheer")


def test_sign_in_through_the_provider_in_a_browser(browser: Any, site: str, oidc_issuer: str) -> None:
    with open_page(browser, 1280, 900) as page:
        sign_in(page, site, "els")
        expect(page.locator("#who")).to_have_text(t("beheer.ui.who", name="Els Redacteur",
                                                    role=t("auth.role.redacteur")))
        expect(page.locator("#docs-table tbody tr").first).to_be_visible()
        expect(page.locator("#audit")).to_be_hidden()
        expect(page.locator("a[href='/beheer/api/feedback.csv']")).to_be_hidden()
        page.get_by_role("button", name=t("beheer.ui.signout")).click()
        page.wait_for_url(re.compile(re.escape(oidc_issuer) + "/session/end.*"))
        assert page.errors == []

    with open_page(browser, 1280, 900) as page:
        sign_in(page, site, "lars")
        expect(page.locator("#noaccess")).to_be_visible()
        expect(page.locator("#who")).to_have_text(t("beheer.ui.who", name="Lars Lezer", role=t("auth.role.lezer")))
        expect(page.locator("#app")).to_be_hidden()

    with open_page(browser, 1280, 900) as page:
        sign_in(page, site, "bea")
        audit = page.locator("#audit")
        expect(audit).to_be_visible()
        expect(audit.locator("tbody tr", has_text="Els Redacteur").first).to_be_visible()
        expect(audit.locator("tbody tr", has_text=t("beheer.ui.audit.action.sign_out")).first).to_be_visible()
        expect(page.locator("a[href='/beheer/api/audit.csv']")).to_be_visible()
        assert page.errors == []
