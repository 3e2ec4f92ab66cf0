"""The admin page's Doelgroep field in Chromium: a beheerder restricts a shipped document to staff, the re-index
carries it, and from then on anonymous askers get nothing of it (real model, real server, job process)."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from ingest.catalog import read_catalog

from .browser_support import open_page
from .conftest import CORPUS
from .test_beheer_browser import JOB_TIMEOUT_MS, TOKEN, doc_row, job_text, sign_in, wait_for_job
from .web_support import ServerThread, copy_index

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.real_model, pytest.mark.timeout(900)]

SOURCE = "vvsg-memorandum-migratie-en-integratie.txt"
QUESTION = "Wat vraagt de VVSG rond taalbeleid?"


@pytest.fixture
def site(tmp_path: Path, real_index_settings: Settings, real_embedder: Any, models_dir: Path,
         ) -> Iterator[dict[str, Any]]:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    settings = copy_index(real_index_settings, Settings(
        data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", admin_token=TOKEN, ask_rate_limit=0,
        upload_rate_limit=0, watch=False))
    (settings.data_dir / "models").symlink_to(models_dir.resolve(), target_is_directory=True)  # the job process
    from bots.web import create_app

    with ServerThread(create_app(settings, embedder=real_embedder)) as server:
        yield {"url": server.url, "settings": settings}


def ask(url: str, question: str) -> dict[str, Any]:
    request = urllib.request.Request(url + "/api/ask", data=json.dumps({"question": question}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_beheerder_restricts_a_document_and_anonymous_askers_lose_it(browser: Any, site: dict[str, Any]) -> None:
    url = site["url"]
    before = ask(url, QUESTION)
    assert before["found"] and before["citations"][0]["source"] == SOURCE  # public, it answers
    with open_page(browser, 1280, 900) as page:
        sign_in(page, url)
        row = doc_row(page, SOURCE)
        row.get_by_role("button", name="Bewerk").click()
        dialog = page.locator("#edit-dialog")
        expect(dialog).to_be_visible()
        field = dialog.get_by_label("Doelgroep")
        assert field.input_value() == ""
        field.fill("Personeel, met spatie!")  # refused in Dutch, nothing written
        dialog.get_by_role("button", name="Opslaan en herindexeren").click()
        expect(page.locator("#edit-error")).to_contain_text("geen geldige groepsnaam")
        field.fill("Personeel")
        started = job_text(page)
        dialog.get_by_role("button", name="Opslaan en herindexeren").click()
        expect(dialog).to_be_hidden()
        wait_for_job(page, started)
        page.wait_for_function("""s => { const r = document.querySelector(`tr[data-source='${s}']`);
                                  return r && r.textContent.includes('Alleen voor: personeel')
                                      && r.textContent.includes('geïndexeerd'); }""", arg=SOURCE,
                               timeout=JOB_TIMEOUT_MS)
    assert read_catalog(site["settings"].corpus_dir)[0][SOURCE]["audience"] == "personeel"
    after = ask(url, QUESTION)
    assert SOURCE not in {c["source"] for c in after["citations"] + after["related"]}
    assert status_of(f"{url}/documents/{SOURCE}") == 404 and status_of(f"{url}/files/{SOURCE}") == 404
