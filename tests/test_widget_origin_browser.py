"""The widget on a page whose origin is not in WEGWIJZER_CORS_ORIGINS (issue 20), in real Chromium.

Before, such a widget said "Wegwijzer is niet bereikbaar. Controleer je verbinding" and its starter
questions silently vanished: a browser cannot read a response that CORS refused. Now ``GET /api/widget``
is readable from any origin and says whether the page's origin is allowed; the widget shows the
administrator's fix (add the address to WEGWIJZER_CORS_ORIGINS), and the server logs the refused origin
once per interval, not once per request. The same service on an allowed origin works as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from assistant.config import Settings
from bots.texts import t
from bots.web import create_app
from bots.web.origins import RefusedOriginLog, origin_allowed

from .browser_support import open_page
from .web_support import ServerThread, StaticSite, copy_index

QUESTION = "Wat kan een stad doen als de financiële middelen beperkt zijn?"


def host_page(service: str) -> str:
    return ('<!doctype html><html lang="nl-BE"><head><meta charset="utf-8"><title>Intranet</title>'
            f'<script src="{service}/widget.js" defer></script></head><body><h1>Intranet</h1></body></html>')


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory, real_index_settings: Settings,
          real_embedder: Any) -> Iterator[dict[str, Any]]:
    """One service; an intranet it allows (on "localhost") and one it does not (on "127.0.0.1")."""
    base = tmp_path_factory.mktemp("widget-origin")
    settings = copy_index(real_index_settings, real_index_settings.with_(data_dir=base / "data"))
    allowed_dir, refused_dir = base / "allowed", base / "refused"
    allowed_dir.mkdir()
    refused_dir.mkdir()
    with StaticSite(allowed_dir, host="localhost") as allowed, StaticSite(refused_dir, host="127.0.0.1") as refused:
        app = create_app(settings.with_(cors_origins=(allowed.origin,)), embedder=real_embedder)
        with ServerThread(app) as server:
            for folder in (allowed_dir, refused_dir):
                (folder / "index.html").write_text(host_page(server.url), encoding="utf-8")
            yield {"service": server.url, "allowed": allowed.origin, "refused": refused.origin}


def test_origin_rules() -> None:
    listed = ("https://intranet.stad.be",)
    assert origin_allowed(listed, None, "wegwijzer.stad.be")  # not a cross-origin browser request
    assert origin_allowed(listed, "https://intranet.stad.be", "wegwijzer.stad.be")
    assert not origin_allowed(listed, "https://intranet.stad.be:8443", "wegwijzer.stad.be")  # exact, like CORS
    assert not origin_allowed(listed, "https://evil.example", "wegwijzer.stad.be")
    assert not origin_allowed(listed, "null", "wegwijzer.stad.be")  # a file or a sandboxed frame
    assert origin_allowed(listed, "https://wegwijzer.stad.be", "wegwijzer.stad.be")  # its own pages (TLS proxy)
    assert origin_allowed(("*",), "https://anything.example", "wegwijzer.stad.be")


def test_a_refused_origin_is_logged_once_per_interval_and_the_lines_are_capped(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = [0.0]
    counted = []
    refusals = RefusedOriginLog(interval_s=3600, cap=3, clock=lambda: clock[0], count=lambda: counted.append(1))
    with caplog.at_level(logging.WARNING, logger="bots.web.origins"):
        assert refusals.refused("https://a.example", "/api/ask")
        assert not refusals.refused("https://a.example", "/api/widget")
        clock[0] = 3599
        assert not refusals.refused("https://a.example", "/api/ask")
        clock[0] = 3600.5
        assert refusals.refused("https://a.example", "/api/ask")  # an hour later: again
        for n in range(5):  # invented origins cannot flood the log
            refusals.refused(f"https://spam{n}.example", "/api/ask")
        clock[0] = 7300
        refusals.refused("https://b.example", "/api/ask")
    lines = [r.getMessage() for r in caplog.records]
    assert sum("a.example" in line for line in lines) == 2 and len(counted) == 10
    assert sum("spam" in line for line in lines) == 2 and any("3 more refused origins" in line for line in lines)
    assert all("WEGWIJZER_CORS_ORIGINS" in line for line in lines if "refused a browser request" in line)


@pytest.mark.browser
@pytest.mark.real_model
def test_the_widget_on_a_refused_origin_says_so_with_the_fix_and_the_server_logs_it_once(
        browser: Any, sites: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    refused = sites["refused"]
    text = t("widget.ui.originRefused", origin=refused)
    with caplog.at_level(logging.WARNING, logger="bots.web.origins"), open_page(browser, 1280, 860) as page:
        console: list[str] = []
        page.on("console", lambda msg: console.append(msg.text))
        page.goto(refused + "/index.html")
        page.evaluate("() => { window.refusedEvents = []; document.addEventListener('wegwijzer-origin-refused', "
                      "e => window.refusedEvents.push(e.detail.origin)); }")
        page.locator("wegwijzer-chat .launcher").click()
        notice = page.locator("wegwijzer-chat .starters .refused")
        notice.wait_for(timeout=15_000)
        assert notice.inner_text().strip() == text
        assert refused in text and "WEGWIJZER_CORS_ORIGINS" in text and "niet toegelaten" in text
        assert notice.get_attribute("role") == "alert"
        assert page.locator("wegwijzer-chat .starter").count() == 0  # no starters that could only fail
        assert any(text in line for line in console)
        page.locator("wegwijzer-chat textarea[id$='-q']").fill(QUESTION)  # asking anyway: the same reason
        page.keyboard.press("Enter")
        error = page.locator("wegwijzer-chat .msg.error")
        error.wait_for(timeout=30_000)
        assert error.inner_text().strip().endswith(text)
        assert t("widget.ui.networkError") not in error.inner_text()
        page.reload()  # again from the same origin (settings may come from the cache): still one log line
        launcher = page.locator("wegwijzer-chat .launcher")
        launcher.wait_for()
        if launcher.get_attribute("aria-expanded") != "true":  # the open panel is restored after a reload
            launcher.click()
        page.locator("wegwijzer-chat .starters .refused").wait_for(timeout=15_000)
        assert page.errors == []
    logged = [r.getMessage() for r in caplog.records if "refused a browser request" in r.getMessage()]
    assert len(logged) == 1 and refused in logged[0] and "WEGWIJZER_CORS_ORIGINS" in logged[0], logged
    scrape = httpx.get(sites["service"] + "/metrics").text
    assert any(line.startswith("wegwijzer_cors_refused_total ") and float(line.split()[1]) >= 2
               for line in scrape.splitlines())


@pytest.mark.browser
@pytest.mark.real_model
def test_the_widget_on_an_allowed_origin_shows_its_starters_and_answers(
        browser: Any, sites: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bots.web.origins"), open_page(browser, 1280, 860) as page:
        page.goto(sites["allowed"] + "/index.html")
        page.locator("wegwijzer-chat .launcher").click()
        page.locator("wegwijzer-chat .starter").first.wait_for(timeout=15_000)
        assert page.locator("wegwijzer-chat .starters .refused").count() == 0
        page.locator("wegwijzer-chat .starter").first.click()
        page.locator("wegwijzer-chat .msg.bot:not(.thinking)").first.wait_for(timeout=30_000)
        assert page.locator("wegwijzer-chat .msg.error").count() == 0
        assert page.errors == []
    assert not [r for r in caplog.records if "refused a browser request" in r.getMessage()]


def test_the_widget_settings_say_whether_the_asking_page_is_allowed(fake_index: Settings, fake_embedder: Any) -> None:
    from fastapi.testclient import TestClient

    allowed = "https://intranet.stad.be"
    with TestClient(create_app(fake_index.with_(cors_origins=(allowed,)), embedder=fake_embedder)) as c:
        refused = c.get("/api/widget", headers={"Origin": "https://elders.example"})
        assert refused.status_code == 200 and refused.json()["origin_allowed"] is False
        assert refused.headers["access-control-allow-origin"] == "*"  # readable there, or the widget cannot know
        assert "origin" in refused.headers["vary"].lower()
        ok = c.get("/api/widget", headers={"Origin": allowed})
        assert ok.json()["origin_allowed"] is True and ok.headers["access-control-allow-origin"] in (allowed, "*")
        assert c.get("/api/widget").json()["origin_allowed"] is True  # no Origin: not a cross-origin page
        # only the widget's settings are open to every origin; questions stay refused by CORS
        ask = c.post("/api/ask", json={"question": "Wat zijn pleinmakers?"}, headers={"Origin": "https://elders.example"})
        assert "access-control-allow-origin" not in ask.headers
