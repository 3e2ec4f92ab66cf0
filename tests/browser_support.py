"""Debian's Chromium driven by Playwright, for the browser tests (never `playwright install`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# Headless as root, and nothing that reaches for the network this machine does not have.
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@contextmanager
def chromium() -> Iterator[Any]:
    """A running Chromium browser (Playwright's sync API)."""
    api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (never playwright install)")
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser: Any, width: int, height: int, dialogs: bool = False) -> Iterator[Any]:
    """A page in a fresh Dutch (nl-BE) context of ``width`` x ``height``. ``page.errors`` collects the page's
    script errors; with ``dialogs``, ``page.dialogs`` collects alert texts (dismissed)."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="nl-BE")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    if dialogs:
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    try:
        yield page
    finally:
        context.close()


@contextmanager
def widget_site(base: Path, index_settings: Any, embedder: Any) -> Iterator[tuple[Path, Any, Any, Any]]:
    """A copy of the real index served by a real HTTP server, and an intranet on another origin (allowed by CORS)
    whose pages the test writes into the folder it gets: (pages folder, server, intranet, settings)."""
    from bots.web import create_app

    from .web_support import ServerThread, StaticSite, copy_index

    settings = copy_index(index_settings, index_settings.with_(data_dir=base / "data"))
    pages = base / "intranet"
    pages.mkdir()
    with StaticSite(pages, host="localhost") as intranet:
        app = create_app(settings.with_(cors_origins=(intranet.origin,)), embedder=embedder)
        with ServerThread(app) as server:
            yield pages, server, intranet, settings
