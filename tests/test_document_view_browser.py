"""The document view in a real browser (Debian's chromium): readable text, 360 px, favicon, the cited passage.

Every indexed document is opened at 360 px: no horizontal overflow (a long title wraps), no raw
markup in what a reader sees, plain-text headings shown as headings, and a citation link lands on
a highlighted passage inside the viewport.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from assistant.config import Settings
from bots.web import create_app
from bots.web.pages import document_url

from .browser_support import open_page
from .web_support import ServerThread, copy_index

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.real_model]

RAW_MARKUP = ("**", "<i>", "</i>", "<p>", "</p>", "<b>", "__")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, real_index_settings: Settings,
           real_embedder: Any) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("document-view")
    settings = copy_index(real_index_settings, real_index_settings.with_(data_dir=base / "data"))
    app = create_app(settings, embedder=real_embedder)
    with ServerThread(app) as srv:
        yield {"url": srv.url, "app": app}


@pytest.fixture(scope="module")
def phone(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    with open_page(browser, 360, 740) as page:
        yield page


def test_every_document_fits_360_pixels_and_shows_no_raw_markup(phone: Any, server: dict[str, Any],
                                                                tmp_path: Path) -> None:
    documents = httpx.get(server["url"] + "/api/documents").json()
    assert documents
    for doc in documents:
        phone.goto(server["url"] + document_url(doc["source"]))
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, (doc["source"], width)
        seen = phone.locator("main").inner_text()
        for raw in RAW_MARKUP:
            assert raw not in seen, (doc["source"], raw)
        if doc["source"].endswith((".txt", ".md")):
            assert phone.locator(".doc-text .doc-h").count() > 0, doc["source"]  # headings are sections
    phone.goto(server["url"] + document_url("vvsg-memorandum-migratie-en-integratie.txt"))
    headings = phone.locator(".doc-text .doc-h").all_inner_texts()
    assert "Wat ?" in headings and "Hoe ?" in headings
    phone.screenshot(path=str(tmp_path / "document-360.png"), full_page=False)
    assert phone.errors == []


def test_a_citation_link_lands_on_the_highlighted_passage(phone: Any, server: dict[str, Any]) -> None:
    assistant = server["app"].state.ctx.assistant()
    answer = assistant.ask("Wat zijn pleinmakers?")
    cited = answer.citations[0]
    phone.goto(server["url"] + document_url(cited.source, cited.passage_id))
    mark = phone.locator(f"#p-{cited.passage_id}")
    assert mark.evaluate("el => el.tagName") == "MARK"
    box = mark.bounding_box()
    assert box is not None and 0 <= box["y"] < 740 and box["x"] + min(box["width"], 360) <= 360
    marked = " ".join(phone.locator("mark.cited").all_inner_texts())
    assert " ".join(cited.text.split()[:6]) in " ".join(marked.split())


def test_favicon_is_served_and_linked(phone: Any, server: dict[str, Any]) -> None:
    r = httpx.get(server["url"] + "/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon" and r.content[:4] == b"\0\0\1\0"
    phone.goto(server["url"] + "/documents/" + quote("inclucities-toolkit-stad-voor-iedereen.md"))
    hrefs = phone.locator("link[rel=icon]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert "/favicon.ico" in hrefs
    svg = httpx.get(server["url"] + "/static/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content
