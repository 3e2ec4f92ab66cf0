"""The admin page /beheer in a real browser (Debian's chromium through Playwright), on a real server.

The service runs in a real uvicorn with the real model and a copy of the real index; uploads, edits
and deletes start real re-index job processes (the real model again). One path goes the way an
administrator works: sign in, drop a DOCX on the page with its metadata, watch the re-index, edit the
title, ask about the document in the chat widget and see the new title as the source, give a 👎 with
a comment, ask something the documents cannot answer, delete the document after confirming, and find
the 👎 and the refused question in their lists. Then the keyboard alone, 360 px, and markup as text.
Screenshots go to the test's tmp directory (``pytest --basetemp`` to keep them).
"""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings

from .browser_support import open_page
from .conftest import CORPUS
from .documents import make_docx
from .web_support import ServerThread, copy_index

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.real_model, pytest.mark.timeout(900)]

TOKEN = "beheer-browser-geheim"
JOB_TIMEOUT_MS = 300_000
DOCX_NAME = "Taalcafe Zwalmbeek.docx"
SOURCE = "Taalcafe-Zwalmbeek.docx"
FIRST_TITLE = "Taalcafé Zwalmbeek (ontwerp)"
NEW_TITLE = "Taalcafé Zwalmbeek: praktische informatie"
QUESTION = "Wanneer vindt het taalcafé in Zwalmbeek plaats?"
COMMENT = "Het adres van de bibliotheek ontbreekt."
NOTE_NAME = "Fietsatelier Zwalmbeek.md"
NOTE_SOURCE = "Fietsatelier-Zwalmbeek.md"
NOTE_TITLE = "Fietsatelier Zwalmbeek"
XSS = '<img src=x onerror="document.title=\'gekaapt\'">'


def _docx(directory: Path) -> Path:
    return make_docx(directory / DOCX_NAME, [
        ("h1", "Taalcafé Zwalmbeek"),
        ("p", "Het taalcafé in Zwalmbeek vindt elke donderdag plaats om 19 uur in de bibliotheek van Zwalmbeek."),
        ("p", "Nieuwkomers oefenen er Nederlands met vrijwilligers uit de buurt; deelnemen aan het taalcafé is "
              "gratis en inschrijven is niet nodig."),
        ("h2", "Begeleiding"),
        ("li", "Elke tafel heeft een vrijwillige gespreksleider."),
        ("li", "De dienst Samenleven van Zwalmbeek coördineert het taalcafé."),
    ])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, real_index_settings: Settings, real_embedder: Any,
         models_dir: Path) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("beheer-browser")
    shutil.copytree(CORPUS, base / "corpus")
    settings = copy_index(real_index_settings, Settings(
        data_dir=base / "data", corpus_dir=base / "corpus", admin_token=TOKEN, ask_rate_limit=0,
        upload_rate_limit=0, watch=False))
    (settings.data_dir / "models").symlink_to(models_dir.resolve(), target_is_directory=True)  # the job process
    from bots.web import create_app

    app = create_app(settings, embedder=real_embedder)
    with ServerThread(app) as server:
        yield {"url": server.url, "settings": settings, "files": base}


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with open_page(browser, 1280, 900) as pg:
        yield pg




def _note(directory: Path) -> Path:
    path = directory / NOTE_NAME
    path.write_text("# Fietsatelier\n\nIn het fietsatelier van Zwalmbeek herstellen nieuwkomers en buren samen "
                    "fietsen, elke zaterdag van 10 tot 12 uur.\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- helpers


def sign_in(page: Any, url: str) -> None:
    page.goto(url + "/beheer")
    page.locator("#token").fill(TOKEN)
    page.locator("#token").press("Enter")
    page.locator("#docs-table tbody tr[data-source]").first.wait_for()


def job_text(page: Any) -> str:
    return str(page.locator("#job-text").inner_text())


def wait_for_job(page: Any, before: str) -> str:
    """Wait until the live status says a re-index finished, other than the one it said ``before``."""
    page.wait_for_function("""before => { const t = document.getElementById('job-text').textContent;
                              return t !== before && (t.startsWith('Herindexering klaar')
                                                      || t.startsWith('De herindexering is mislukt')); }""",
                           arg=before, timeout=JOB_TIMEOUT_MS)
    text = page.locator("#job-text").inner_text()
    assert text.startswith("Herindexering klaar"), text
    return str(text)


def doc_row(page: Any, source: str) -> Any:
    return page.locator(f"#docs-table tbody tr[data-source='{source}']")


def drop_files(page: Any, selector: str, files: list[Path]) -> None:
    """A real drop event with a DataTransfer holding the files (what dragging from the desktop delivers)."""
    types = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             ".md": "text/markdown"}
    payload = [{"name": f.name, "type": types.get(f.suffix, ""), "data": base64.b64encode(f.read_bytes()).decode()}
               for f in files]
    page.evaluate("""([selector, files]) => {
        const zone = document.querySelector(selector);
        const dt = new DataTransfer();
        for (const f of files) {
          const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
          dt.items.add(new File([bytes], f.name, {type: f.type}));
        }
        for (const type of ['dragenter', 'dragover', 'drop']) {
          zone.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
        }
    }""", [selector, payload])


def widget_ask(page: Any, question: str, before: int) -> Any:
    page.locator("wegwijzer-chat textarea[id$='-q']").fill(question)
    page.keyboard.press("Enter")
    answers = page.locator("wegwijzer-chat .msg.bot:not(.thinking), wegwijzer-chat .msg.error")
    answers.nth(before).wait_for(timeout=60_000)
    return answers.nth(before)


def _words(text: str) -> list[str]:
    """The words of a text, without the [n] markers (the widget may show them as links) and spacing."""
    return re.sub(r"\[\d+\]", " ", text).split()


# ---------------------------------------------------------------- the administrator's path


def test_upload_edit_ask_delete_and_the_lists(page: Any, browser: Any, site: dict[str, Any], tmp_path: Path,
                                              unanswerable: str) -> None:
    url, corpus = site["url"], site["settings"].corpus_dir
    page.goto(url + "/beheer")
    page.locator("#login-form").wait_for()
    assert page.locator("#app").is_hidden() and page.evaluate("document.activeElement.id") == "token"
    page.locator("#token").fill("verkeerd-token")
    page.locator("#login-form button").click()
    expect(page.locator("#login-error")).to_have_text("Dit beheertoken klopt niet.")
    page.screenshot(path=str(tmp_path / "beheer-aanmelden.png"))
    page.locator("#token").fill(TOKEN)
    page.locator("#login-form button").click()
    page.locator("#docs-table tbody tr[data-source]").first.wait_for()
    assert page.locator("#docs-table tbody tr[data-source]").count() == 5
    assert page.evaluate("document.cookie") == ""  # HttpOnly: the script never sees the session

    # drop a DOCX and a note together, give each its metadata, upload: one re-index, both rows say indexed
    drop_files(page, "#dropzone", [_docx(tmp_path), _note(tmp_path)])
    item = page.locator("#pending li").first
    item.wait_for()
    assert page.locator("#pending li").count() == 2
    assert DOCX_NAME in item.locator(".name").inner_text()
    note = page.locator("#pending li").nth(1)
    assert NOTE_NAME in note.locator(".name").inner_text()
    note.get_by_label("Titel").fill(NOTE_TITLE)
    item.get_by_label("Titel").fill(FIRST_TITLE)
    item.get_by_label("Uitgever").fill("Gemeente Zwalmbeek")
    item.get_by_label("Datum").fill("2024-09")
    item.get_by_label("Soort").select_option("other")
    page.screenshot(path=str(tmp_path / "beheer-opladen.png"), full_page=True)
    before = job_text(page)
    page.locator("#upload-button").click()
    expect(page.locator("#notice")).to_contain_text("opgeladen")
    wait_for_job(page, before)
    row = doc_row(page, SOURCE)
    row.wait_for()
    assert FIRST_TITLE in row.inner_text() and "geïndexeerd" in row.inner_text()
    assert (corpus / SOURCE).exists()
    page.wait_for_function("""() => { const r = document.querySelector("tr[data-source='Fietsatelier-Zwalmbeek.md']");
                              return r && r.textContent.includes('geïndexeerd'); }""")
    assert NOTE_TITLE in doc_row(page, NOTE_SOURCE).inner_text()

    # edit the title in the dialog; the re-index carries it into the index
    row.get_by_role("button", name=f"Bewerk {FIRST_TITLE}").click()
    dialog = page.locator("#edit-dialog")
    expect(dialog).to_be_visible()
    assert dialog.get_by_label("Titel").input_value() == FIRST_TITLE
    dialog.get_by_label("Titel").fill(NEW_TITLE)
    page.screenshot(path=str(tmp_path / "beheer-bewerken.png"))
    before = job_text(page)
    dialog.get_by_role("button", name="Opslaan en herindexeren").click()
    expect(dialog).to_be_hidden()
    wait_for_job(page, before)
    page.wait_for_function("""t => { const r = document.querySelector("tr[data-source='Taalcafe-Zwalmbeek.docx']");
                              return r && r.textContent.includes(t) && r.textContent.includes('geïndexeerd'); }""",
                           arg=NEW_TITLE)
    page.screenshot(path=str(tmp_path / "beheer-documenten.png"), full_page=True)

    # ask about it in the widget: the new title is the source; then a 👎 with a comment and a refused question
    chat = page.context.new_page()
    chat.goto(url + "/")
    chat.locator("wegwijzer-chat .launcher").click()
    answer = widget_ask(chat, QUESTION, 0)
    cards = answer.locator(".card h4")
    assert cards.count() >= 1 and NEW_TITLE in cards.first.inner_text(), answer.inner_text()
    assert "19 uur" in answer.locator(".answer").inner_text()
    cards.first.scroll_into_view_if_needed()
    chat.screenshot(path=str(tmp_path / "beheer-widget-nieuwe-titel.png"))
    shown_text = answer.locator(".answer").evaluate(  # what a sighted person read (no screen-reader extras)
        "el => { const c = el.cloneNode(true); c.querySelectorAll('.sr-only').forEach(e => e.remove());"
        " return c.textContent; }")
    answer.locator("button.vote.down").click()
    answer.locator(".comment textarea").fill(COMMENT)
    answer.locator(".comment button").click()
    chat.locator("wegwijzer-chat .feedback .thanks").first.wait_for()
    refused = widget_ask(chat, unanswerable, 1)
    assert "geen antwoord" in refused.locator(".answer").inner_text()
    chat.close()

    # delete it, after the confirmation
    page.bring_to_front()
    doc_row(page, SOURCE).get_by_role("button", name=f"Verwijder {NEW_TITLE}").click()
    confirm = page.locator("#delete-dialog")
    expect(confirm).to_be_visible()
    assert NEW_TITLE in confirm.inner_text()
    assert page.evaluate("document.activeElement.id") == "delete-cancel"  # the safe choice has focus
    page.screenshot(path=str(tmp_path / "beheer-verwijderen.png"))
    before = job_text(page)
    confirm.get_by_role("button", name="Verwijderen").click()
    wait_for_job(page, before)
    page.wait_for_function("() => !document.querySelector(\"tr[data-source='Taalcafe-Zwalmbeek.docx']\")")
    assert not (corpus / SOURCE).exists()

    # the 👎 with its comment, and the refused question, in their lists
    page.get_by_role("link", name="Feedback").click()
    page.locator("#vote-filter").select_option("down")
    fb = page.locator("#fb-table tbody tr", has_text=COMMENT)
    fb.wait_for()
    assert "👎" in fb.inner_text() and QUESTION in fb.inner_text() and NEW_TITLE in fb.inner_text()
    # the answer that was shown, as it was shown: the text, how it was made, the index it came from
    from assistant.stores.feedback import FeedbackStore

    store = FeedbackStore(site["settings"].feedback_db)
    (stored,) = [f for f in store.recent_feedback(helpful=False) if f.comment == COMMENT]
    store.close()
    assert "19 uur" in stored.shown.text and stored.shown.passage_ids and stored.shown.index_version
    cell = fb.locator("td.shown")
    assert _words(cell.locator(".answer-text").inner_text()) == _words(stored.shown.text)
    assert _words(shown_text) == _words(stored.shown.text)  # what the widget showed is what /beheer shows
    meta = cell.locator(".sub").inner_text()
    assert stored.shown.index_version in meta and "sindsdien vernieuwd" in meta  # the delete re-indexed since
    assert ("Citaten uit de documenten" if stored.shown.mode == "extractive" else "taalmodel") in meta
    assert "[1] " + NEW_TITLE in fb.locator("td").nth(5).inner_text()
    page.get_by_role("link", name="Antwoorden gemarkeerd als fout").click()
    wrong = page.locator("#wrong-table tbody tr", has_text=QUESTION)
    wrong.wait_for()
    assert "19 uur" in wrong.locator(".answer-text").inner_text() and COMMENT in wrong.inner_text()
    assert wrong.locator("td").nth(3).inner_text() == "1"
    assert page.evaluate("document.activeElement.id") == "fout"
    assert page.locator("#wrong-table tbody tr", has_text=unanswerable).count() == 0  # a refusal: not here
    page.get_by_role("link", name="Vragen zonder antwoord").click()
    q = page.locator("#q-table tbody tr", has_text=unanswerable)
    q.wait_for()
    assert q.locator("td").nth(1).inner_text() == "1"
    page.screenshot(path=str(tmp_path / "beheer-feedback-en-vragen.png"), full_page=True)

    # sign out: the page is locked again, also after a reload
    page.get_by_role("button", name="Afmelden").click()
    page.locator("#login-form").wait_for()
    expect(page.locator("#notice")).to_contain_text("afgemeld")
    page.reload()
    page.locator("#login-form").wait_for()
    assert page.locator("#app").is_hidden()
    assert not page.errors, page.errors  # type: ignore[attr-defined]


# ---------------------------------------------------------------- keyboard, 360 px, markup


ACTIVE = """() => { const a = document.activeElement; const s = getComputedStyle(a);
  return {id: a.id, tag: a.tagName.toLowerCase(), text: (a.textContent || '').trim().slice(0, 80),
          label: a.getAttribute('aria-label') || '', outline: s.outlineStyle + ' ' + s.outlineWidth}; }"""


def tab_to(page: Any, wanted: Any, limit: int = 80, shift: bool = False) -> dict[str, str]:
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if shift else "Tab")
        now = page.evaluate(ACTIVE)
        if wanted(now):
            return dict(now)
    raise AssertionError(f"focus never reached the wanted element (last: {page.evaluate(ACTIVE)})")


def test_the_keyboard_alone_does_everything(page: Any, site: dict[str, Any], tmp_path: Path) -> None:
    page.goto(site["url"] + "/beheer")
    page.locator("#login-form").wait_for()
    assert page.evaluate(ACTIVE)["id"] == "token"  # focus starts in the sign-in field
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    page.locator("#docs-table tbody tr[data-source]").first.wait_for()
    assert page.evaluate(ACTIVE)["tag"] == "h1"  # after sign-in, focus moves to the page's heading

    tab_to(page, lambda a: a["id"] == "file-input")  # the file picker is reachable
    label = page.locator("label[for='file-input']")  # the visible button shows the focus of the hidden picker
    assert label.evaluate("l => getComputedStyle(l).outlineStyle") != "none" and label.is_visible()
    assert label.inner_text() == "Bestanden kiezen"
    edit = tab_to(page, lambda a: a["label"].startswith("Bewerk "))
    assert edit["outline"].split()[0] != "none" and int(edit["outline"].split()[1].rstrip("px")) >= 2
    page.keyboard.press("Enter")
    expect(page.locator("#edit-dialog")).to_be_visible()
    assert page.evaluate(ACTIVE)["id"] == "edit-title"
    page.keyboard.press("Escape")
    expect(page.locator("#edit-dialog")).to_be_hidden()
    assert page.evaluate(ACTIVE)["label"] == edit["label"]  # focus returns to the button that opened it

    delete = tab_to(page, lambda a: a["label"].startswith("Verwijder "))
    page.keyboard.press("Enter")
    assert page.evaluate(ACTIVE)["id"] == "delete-cancel"
    page.keyboard.press("Enter")  # cancel: nothing is deleted
    expect(page.locator("#delete-dialog")).to_be_hidden()
    assert page.evaluate(ACTIVE)["label"] == delete["label"]
    assert page.locator("#docs-table tbody tr[data-source]").count() >= 5

    tab_to(page, lambda a: a["id"] == "reindex", shift=True)
    assert page.locator("#job-text").get_attribute("aria-live") == "polite"
    before = job_text(page)
    page.keyboard.press("Enter")
    wait_for_job(page, before)  # the outcome is announced in the live region
    page.screenshot(path=str(tmp_path / "beheer-toetsenbord.png"))
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_at_360_pixels_nothing_overflows(browser: Any, site: dict[str, Any], tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="nl-BE")
    page = context.new_page()
    try:
        page.goto(site["url"] + "/beheer")
        page.locator("#login-form").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        sign_in(page, site["url"])
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        for selector in ("#docs-table", "#fb-table", "#q-table", "#wrong-table", "#dropzone"):
            box = page.locator(selector).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, selector
        # rows are cards with their column names; buttons are touch-sized
        label = page.locator("#docs-table tbody tr[data-source] td").first.evaluate(
            "td => getComputedStyle(td, '::before').content")
        assert label == '"Titel"'
        for button in page.locator("#docs-table button").all()[:4] + [page.locator("#reindex")]:
            box = button.bounding_box()
            assert box and box["height"] >= 44 and box["x"] + box["width"] <= 360
        page.locator("#docs-table tbody tr[data-source] button").first.click()
        dialog = page.locator("#edit-dialog").bounding_box()
        assert dialog and dialog["x"] >= 0 and dialog["x"] + dialog["width"] <= 360
        page.screenshot(path=str(tmp_path / "beheer-360-bewerken.png"))
        page.keyboard.press("Escape")
        page.screenshot(path=str(tmp_path / "beheer-360.png"), full_page=True)
    finally:
        context.close()


def test_markup_in_titles_and_comments_is_shown_as_text(page: Any, site: dict[str, Any]) -> None:
    settings = site["settings"]
    from assistant.stores.feedback import FeedbackStore, Shown
    from ingest.catalog import update_entry

    source = "studiedag-participatief-integratiebeleid-programma.md"
    update_entry(settings.corpus_dir, source, {"title": XSS})
    feedback = FeedbackStore(settings.feedback_db)
    feedback.record_answer("xss-1", "web", XSS + " vraag", False, [{"source": source, "title": XSS, "page": None}])
    feedback.add_feedback("xss-1", "web", False, comment=XSS + " opmerking", user_ref="xss")
    feedback.record_answer("xss-2", "web", "Een vraag met opmaak", True,
                           [{"source": source, "title": XSS, "page": None}],
                           shown=Shown(text=XSS + " antwoord [1]", mode="extractive", passage_ids=(0,),
                                       index_version="oud"))
    feedback.add_feedback("xss-2", "web", False, comment="fout", user_ref="xss")
    feedback.close()
    try:
        sign_in(page, site["url"])
        doc_row(page, source).wait_for()
        assert XSS in doc_row(page, source).inner_text()
        fb = page.locator("#fb-table tbody tr", has_text="opmerking").first
        fb.wait_for()
        assert XSS + " opmerking" in fb.inner_text()
        assert XSS + " vraag" in page.locator("#q-table").inner_text()
        assert XSS + " antwoord [1]" in page.locator("#wrong-table").inner_text()
        assert XSS + " antwoord [1]" in page.locator("#fb-table").inner_text()
        assert page.locator("main img").count() == 0 and page.title() != "gekaapt"
        doc_row(page, source).get_by_role("button", name=f"Bewerk {XSS}").click()
        assert page.locator("#edit-dialog").get_by_label("Titel").input_value() == XSS
        page.keyboard.press("Escape")
        assert not page.errors and page.title() == "Beheer - Wegwijzer"  # type: ignore[attr-defined]
    finally:
        update_entry(settings.corpus_dir, source, {"title": "Studiedag participatief lokaal integratiebeleid: "
                                                            "programma"})
