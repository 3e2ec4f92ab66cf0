"""The widget in a real browser: Debian's chromium through Playwright, on a host page of another origin.

The service runs in a real uvicorn on 127.0.0.1 with the real model and index; the "intranet" is a
plain static server on http://localhost:<other port> whose page embeds
``<script src="http://127.0.0.1:PORT/widget.js" defer>`` and carries hostile CSS of its own.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from bots.texts import t
from bots.web import create_app

from .browser_support import open_page, widget_site
from .web_support import ServerThread, StaticSite, copy_index

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.real_model]

QUESTION = "Wat kan een stad doen als de financiële middelen beperkt zijn?"
XSS = "<img src=x onerror=alert(1)>"

HOST_CSS = """
* { box-sizing: content-box; letter-spacing: 3px; position: relative; z-index: 1; }
body { font-family: serif; color: purple; line-height: 3; text-transform: uppercase; }
button { background: red !important; font-size: 40px !important; border: 5px dotted lime; }
mark, article, textarea { display: none !important; }
"""


def host_page(service: str, title: str, body: str, csp: str = "", options: str = "") -> str:
    meta = f'<meta http-equiv="Content-Security-Policy" content="{csp}">' if csp else ""
    return (f'<!doctype html><html lang="nl-BE"><head><meta charset="utf-8">{meta}'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{title}</title><link rel="stylesheet" href="host.css">'
            f'<script src="{service}/widget.js" defer {options}></script></head>'
            f'<body><h1>{title}</h1><p><a href="page2.html">Naar pagina 2</a></p>{body}'
            '<button id="host-button" type="button">Knop van de host</button></body></html>')


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, real_index_settings: Settings,
         real_embedder: Any) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("web-browser")
    with widget_site(base, real_index_settings, real_embedder) as (pages, server, intranet, settings):
        (pages / "host.css").write_text(HOST_CSS, encoding="utf-8")
        (pages / "index.html").write_text(host_page(server.url, "Intranet Stad Voorbeeld",
                                                    "<p>Welkom op het intranet.</p>"), encoding="utf-8")
        (pages / "page2.html").write_text(host_page(server.url, "Pagina 2", "<p>Nog een pagina.</p>"),
                                          encoding="utf-8")
        strict = (f"default-src 'none'; script-src {server.url}; connect-src {server.url}; "
                  "style-src 'self'; img-src 'self'")
        options = f'data-api="{server.url}" data-title="Vraag het beleid" data-accent="#ffd200" data-lang="nl"'
        (pages / "strict.html").write_text(host_page(server.url, "Strenge CSP", "", csp=strict, options=options),
                                           encoding="utf-8")
        yield {"service": server.url, "intranet": intranet.origin, "settings": settings}


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with open_page(browser, 1280, 860, dialogs=True) as pg:
        yield pg


# ---------------------------------------------------------------- helpers

ACTIVE_JS = """() => {
  const host = document.querySelector('wegwijzer-chat');
  if (!host || document.activeElement !== host) return null;
  const a = host.shadowRoot.activeElement;
  if (!a) return null;
  const style = getComputedStyle(a);
  return {tag: a.tagName.toLowerCase(), cls: a.className || '', label: a.getAttribute('aria-label') || '',
          text: (a.textContent || '').trim().slice(0, 120), href: a.getAttribute('href') || '',
          outline: style.outlineStyle + ' ' + style.outlineWidth};
}"""


def active(page: Any) -> dict[str, str] | None:
    return page.evaluate(ACTIVE_JS)  # type: ignore[no-any-return]


def tab_until(page: Any, wanted: Callable[[dict[str, str]], bool], shift: bool = False,
              limit: int = 60) -> dict[str, str]:
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if shift else "Tab")
        now = active(page)
        if now and wanted(now):
            return now
    raise AssertionError(f"focus never reached the wanted element (last: {active(page)})")


def ask(page: Any, question: str, answers_before: int = 0) -> Any:
    page.locator("wegwijzer-chat textarea[id$='-q']").fill(question)
    page.keyboard.press("Enter")
    answers = page.locator("wegwijzer-chat .msg.bot:not(.thinking), wegwijzer-chat .msg.error")
    answers.nth(answers_before).wait_for(timeout=30_000)
    return answers.nth(answers_before)


def feedback_rows(settings: Settings) -> list[tuple[Any, ...]]:
    with sqlite3.connect(settings.feedback_db) as con:
        return con.execute("SELECT answer_id, channel, helpful, question, sources FROM feedback ORDER BY id").fetchall()


def check_document_view(doc: Any, href: str) -> None:
    """The document view opened from a card: the cited passage is marked, the quoted sentence in it marked
    strongly and scrolled into view."""
    doc.wait_for_load_state("load")
    match = re.search(r"\?passage=(\d+)&zin=[0-9,-]+#q-(\d+)$", href)
    assert match and match.group(1) == match.group(2), href
    assert doc.url.endswith(f"#q-{match.group(1)}")
    mark = doc.locator(f"mark.cited#p-{match.group(1)}")  # the passage's first block carries the id
    assert mark.count() == 1 and "beperkt" in " ".join(doc.locator("mark.cited").all_inner_texts())
    quote = doc.locator(f"mark.quote#q-{match.group(1)}")  # the first quoted sentence
    assert quote.count() == 1 and "beperkt" in " ".join(doc.locator("mark.quote").all_inner_texts())
    doc.wait_for_function("""id => { const r = document.getElementById(id).getBoundingClientRect();
                              return r.top >= 0 && r.top < window.innerHeight; }""", arg=f"q-{match.group(1)}")
    background = quote.evaluate("m => getComputedStyle(m).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")


# ---------------------------------------------------------------- tests

def test_ask_sources_document_view_feedback_and_persistence(page: Any, site: dict[str, Any], tmp_path: Path) -> None:
    page.goto(site["intranet"] + "/index.html")
    launcher = page.locator("wegwijzer-chat .launcher")
    assert launcher.inner_text().strip().startswith("Vraag het Wegwijzer")
    # host CSS does not reach into the widget (and the widget leaves the host's own button alone)
    styles = launcher.evaluate("b => { const s = getComputedStyle(b); return [s.fontSize, s.letterSpacing, "
                               "s.textTransform, s.backgroundColor]; }")
    assert styles[:3] == ["16px", "normal", "none"] and styles[3] != "rgb(255, 0, 0)"
    assert page.locator("#host-button").evaluate("b => getComputedStyle(b).fontSize") == "40px"

    launcher.click()
    assert launcher.get_attribute("aria-expanded") == "true"
    answer = ask(page, QUESTION)
    text_style = answer.locator(".answer").evaluate(
        "p => { const s = getComputedStyle(p); return [s.letterSpacing, s.textTransform, s.fontSize, s.color]; }")
    assert text_style == ["normal", "none", "16px", "rgb(29, 29, 27)"]

    assert answer.locator(".answer .ref").first.inner_text().startswith("[1]")
    assert "[1]" in answer.locator(".answer").inner_text()
    cards = answer.locator(".card")
    assert cards.count() >= 1
    first = cards.first
    assert "IncluCities" in first.locator("h4").inner_text()
    # the card shows the sentence the answer quotes, marked as a quote (tests/test_quote_browser.py checks it whole)
    quoted = " ".join(first.locator("blockquote mark.quote").all_inner_texts())
    assert "middelen" in quoted and "beperkt" in quoted
    assert " ".join(quoted.split()) in " ".join(answer.locator(".answer").inner_text().split())

    link = first.locator("a.open")
    href = link.get_attribute("href")
    assert href and href.startswith(site["service"] + "/documents/")
    with page.expect_popup() as popup:
        link.click()
    check_document_view(popup.value, href)
    popup.value.close()

    answer.locator("button.vote.up").click()
    page.locator("wegwijzer-chat .feedback .thanks").first.wait_for()
    assert answer.locator("button.vote.up").get_attribute("aria-pressed") == "true"
    rows = feedback_rows(site["settings"])
    assert rows and rows[-1][1:4] == ("web", 1, QUESTION)
    assert "IncluCities" in json.loads(rows[-1][4])[0]["title"]

    page.screenshot(path=str(tmp_path / "widget-desktop.png"))

    # the conversation (and the vote) survive navigation to another page of the intranet
    page.goto(site["intranet"] + "/page2.html")
    restored = page.locator("wegwijzer-chat .msg.bot")
    restored.first.wait_for()
    assert page.locator("wegwijzer-chat .msg.user").first.inner_text().endswith(QUESTION)
    assert "IncluCities" in restored.first.locator(".card h4").first.inner_text()
    assert restored.first.locator("button.vote.up").get_attribute("aria-pressed") == "true"
    assert page.locator("wegwijzer-chat .launcher").get_attribute("aria-expanded") == "true"
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_markup_in_questions_and_answers_is_only_text(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["intranet"] + "/index.html")
    page.locator("wegwijzer-chat .launcher").click()
    ask(page, XSS)
    assert page.locator("wegwijzer-chat .msg.user .bubble").last.inner_text().endswith(XSS)

    # A hostile server answer: markup everywhere, a javascript: link, and out-of-range highlight spans.
    evil = {
        "answer_id": "f" * 32, "question": XSS, "found": True, "index_version": "x", "latency_ms": 1,
        "text": f"Antwoord {XSS} [1] <script>alert(2)</script>",
        "citations": [{"n": 1, "text": f"Passage {XSS} <b>vet</b>", "title": f"Titel {XSS}", "source": "a.md",
                       "page": None, "section": "<i>sectie</i>", "score": 1.0, "passage_id": 0, "start": 0, "end": 1,
                       "url": "javascript:alert(3)", "highlights": [[0, 7], [-5, 999], ["a", "b"]]}],
    }
    page.route("**/api/ask", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(evil),
        headers={"Access-Control-Allow-Origin": site["intranet"]}))
    answer = ask(page, "nog een vraag", answers_before=1)
    page.wait_for_timeout(300)
    assert XSS in answer.locator(".answer").inner_text() and "<script>" in answer.locator(".answer").inner_text()
    assert XSS in answer.locator(".card h4").inner_text()
    assert "<b>vet</b>" in answer.locator(".card blockquote").inner_text()
    assert answer.locator("a.open").count() == 0  # a javascript: URL never becomes a link
    injected = page.evaluate("""() => { const r = document.querySelector('wegwijzer-chat').shadowRoot;
        return r.querySelectorAll('img, script, b, i').length + document.querySelectorAll('img').length; }""")
    assert injected == 0
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_whole_path_with_the_keyboard_only(page: Any, site: dict[str, Any], tmp_path: Path) -> None:
    page.goto(site["intranet"] + "/index.html")
    before = len(feedback_rows(site["settings"]))

    focused = tab_until(page, lambda a: "launcher" in a["cls"])
    assert focused["outline"].split()[0] != "none"  # visible focus
    page.keyboard.press("Enter")
    assert active(page)["tag"] == "textarea"  # type: ignore[index]
    status = page.locator("wegwijzer-chat [role=status]")
    assert status.get_attribute("aria-live") == "polite"

    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    answer = page.locator("wegwijzer-chat .msg.bot:not(.thinking)").first
    answer.wait_for(timeout=30_000)
    page.wait_for_function("""() => document.querySelector('wegwijzer-chat').shadowRoot
                              .querySelector('[role=status]').textContent.startsWith('Antwoord van Wegwijzer')""")
    assert active(page)["tag"] == "textarea"  # type: ignore[index]

    # back into the conversation: the [1] marker jumps to its source card
    tab_until(page, lambda a: "ref" in a["cls"] and a["text"].startswith("[1]"), shift=True)
    page.keyboard.press("Enter")
    card = active(page)
    assert card and card["tag"] == "article" and "IncluCities" in card["text"]

    link = tab_until(page, lambda a: a["tag"] == "a" and "open" in a["cls"])
    assert link["outline"].split()[0] != "none"
    with page.expect_popup() as popup:
        page.keyboard.press("Enter")
    check_document_view(popup.value, link["href"])
    popup.value.close()
    page.bring_to_front()

    tab_until(page, lambda a: "vote" in a["cls"] and "up" in a["cls"])
    page.keyboard.press("Space")
    page.locator("wegwijzer-chat .feedback .thanks").first.wait_for()
    rows = feedback_rows(site["settings"])
    assert len(rows) == before + 1 and rows[-1][2] == 1

    page.keyboard.press("Escape")
    assert page.locator("wegwijzer-chat .panel").is_hidden()
    assert "launcher" in active(page)["cls"]  # type: ignore[index]
    page.screenshot(path=str(tmp_path / "widget-keyboard.png"))


def test_thumbs_down_with_a_comment(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["intranet"] + "/index.html")
    page.locator("wegwijzer-chat .launcher").click()
    answer = ask(page, "Welke rol speelt de VVSG bij inburgering?")
    answer.locator("button.vote.down").click()
    comment = answer.locator(".comment textarea")
    assert active(page)["tag"] == "textarea"  # type: ignore[index]
    comment.fill("Ik zocht de contactgegevens.")
    answer.locator(".comment button").click()
    page.locator("wegwijzer-chat .feedback .thanks").first.wait_for()
    with sqlite3.connect(site["settings"].feedback_db) as con:
        row = con.execute("SELECT helpful, comment FROM feedback ORDER BY id DESC LIMIT 1").fetchone()
    assert row == (0, "Ik zocht de contactgegevens.")


def test_responsive_at_360_pixels(browser: Any, site: dict[str, Any], tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="nl-BE")
    page = context.new_page()
    try:
        page.goto(site["intranet"] + "/index.html")
        page.locator("wegwijzer-chat .launcher").click()
        ask(page, QUESTION)
        panel = page.locator("wegwijzer-chat .panel").bounding_box()
        assert panel and panel["x"] >= 0 and panel["x"] + panel["width"] <= 360 and panel["height"] <= 740
        overflow = page.evaluate("""() => { const r = document.querySelector('wegwijzer-chat').shadowRoot;
            const log = r.querySelector('.log');
            return [document.documentElement.scrollWidth, log.scrollWidth - log.clientWidth]; }""")
        assert overflow[0] <= 360 and overflow[1] <= 0
        for target in ("wegwijzer-chat .send", "wegwijzer-chat .head .close", "wegwijzer-chat button.vote.up"):
            box = page.locator(target).first.bounding_box()
            assert box and box["width"] >= 44 and box["height"] >= 44, target  # touch-size targets
        page.screenshot(path=str(tmp_path / "widget-360.png"))
    finally:
        context.close()


def test_works_under_a_strict_content_security_policy_with_options(page: Any, site: dict[str, Any]) -> None:
    page.goto(site["intranet"] + "/strict.html")
    launcher = page.locator("wegwijzer-chat .launcher")
    assert launcher.evaluate("b => getComputedStyle(b).borderRadius") == "999px"  # our stylesheet applied
    # data-accent: a light accent gets dark text, for contrast
    colours = launcher.evaluate("b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]")
    assert colours == ["rgb(255, 210, 0)", "rgb(17, 17, 17)"]
    launcher.click()
    assert page.locator("wegwijzer-chat .head h2").inner_text() == "Vraag het beleid"  # data-title
    answer = ask(page, QUESTION)
    assert "IncluCities" in answer.locator(".card h4").first.inner_text()


# ---------------------------------------------------------------- conversations, starters, copy, modal (issue 11)

def ask_bodies(page: Any) -> list[dict[str, Any]]:
    """Record the JSON bodies the widget posts to /api/ask and /api/ask/stream."""
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data or "{}"))
            if r.method == "POST" and "/api/ask" in r.url else None)
    return bodies


def test_a_follow_up_continues_the_conversation_and_new_conversation_starts_afresh(
        page: Any, site: dict[str, Any]) -> None:
    bodies = ask_bodies(page)
    page.goto(site["intranet"] + "/index.html")
    page.locator("wegwijzer-chat .launcher").click()
    ask(page, "Welke werksessie van de inspiratiedag gaat over sport?")
    follow = ask(page, "Wie begeleidt die sessie?", answers_before=1)
    assert "Tim Lamon" in follow.locator(".card blockquote").first.inner_text() or \
        "Tim Lamon" in follow.locator(".answer").inner_text()
    assert "conversation_id" not in bodies[0] and len(bodies[1]["conversation_id"]) == 32

    # the conversation survives navigation: the next question still belongs to it
    page.goto(site["intranet"] + "/page2.html")
    page.locator("wegwijzer-chat .msg.bot").first.wait_for()
    ask(page, "En wie namens Dendermonde?", answers_before=2)
    assert bodies[2]["conversation_id"] == bodies[1]["conversation_id"]

    page.locator("wegwijzer-chat .head button.new").click()
    assert page.locator("wegwijzer-chat .msg.user").count() == 0
    ask(page, "Wie begeleidt die sessie?")
    assert "conversation_id" not in bodies[3]  # a new conversation: the server hands out a new id
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_starter_questions_counter_copy_and_kept_text(browser: Any, site: dict[str, Any]) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="nl-BE")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site["intranet"])
    page = context.new_page()
    try:
        page.goto(site["intranet"] + "/index.html")
        page.locator("wegwijzer-chat .launcher").click()
        starters = page.locator("wegwijzer-chat .starters button")
        starters.first.wait_for()
        assert 2 <= starters.count() <= 4
        first_starter = starters.first.inner_text()
        starters.first.click()
        answer = page.locator("wegwijzer-chat .msg.bot:not(.thinking)").first
        answer.wait_for(timeout=30_000)
        assert page.locator("wegwijzer-chat .msg.user").first.inner_text().endswith(first_starter)
        assert page.locator("wegwijzer-chat .starters").is_hidden()

        # copy: the answer and its numbered sources land on the clipboard
        answer.locator("button.copy").click()
        page.wait_for_function("""() => document.querySelector('wegwijzer-chat').shadowRoot
                                  .querySelector('button.copy').textContent.includes('Gekopieerd')""")
        copied = page.evaluate("navigator.clipboard.readText()")
        text = answer.locator(".answer").inner_text().split(":", 1)[1]  # after the "Wegwijzer:" label
        assert text.split("[")[0].strip()[:40] in copied and "Bronnen:" in copied and "[1] " in copied
        assert "Wegwijzer:" not in copied and "/documents/" in copied

        # the counter, and a question the server refuses stays in the field
        field = page.locator("wegwijzer-chat textarea[id$='-q']")
        count = page.locator("wegwijzer-chat .count")
        field.fill("Wat zijn pleinmakers?")
        assert count.inner_text() == "21 / 1000 tekens"
        too_long = "Wat zijn pleinmakers? " * 50
        field.fill(too_long)
        assert "te lang" in count.inner_text() and field.get_attribute("aria-invalid") == "true"
        page.keyboard.press("Enter")
        page.locator("wegwijzer-chat .msg.error").first.wait_for(timeout=30_000)
        assert "te lang" in page.locator("wegwijzer-chat .msg.error").first.inner_text()
        assert field.input_value() == too_long.strip()
    finally:
        context.close()


def test_the_full_screen_panel_keeps_keyboard_focus_inside(browser: Any, site: dict[str, Any]) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="nl-BE")
    page = context.new_page()
    try:
        page.goto(site["intranet"] + "/index.html")
        page.locator("wegwijzer-chat .launcher").click()
        assert page.locator("wegwijzer-chat .panel").get_attribute("aria-modal") == "true"
        ask(page, QUESTION)
        inside = """() => { const host = document.querySelector('wegwijzer-chat');
            const a = host.shadowRoot.activeElement;
            return document.activeElement === host && !!a && host.shadowRoot.querySelector('.panel').contains(a); }"""
        seen = set()
        for _ in range(40):
            page.keyboard.press("Tab")
            assert page.evaluate(inside), active(page)
            now = active(page)
            seen.add((now or {}).get("cls", "") + "|" + (now or {}).get("text", "")[:20])
        assert len(seen) > 5  # it moved through the panel, and came round again
        for _ in range(15):
            page.keyboard.press("Shift+Tab")
            assert page.evaluate(inside), active(page)
        page.keyboard.press("Escape")
        assert page.locator("wegwijzer-chat .panel").is_hidden()
    finally:
        context.close()
    # on a wide screen the panel is no modal: the page stays usable beside it
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="nl-BE")
    page = context.new_page()
    try:
        page.goto(site["intranet"] + "/index.html")
        page.locator("wegwijzer-chat .launcher").click()
        assert page.locator("wegwijzer-chat .panel").get_attribute("aria-modal") == "false"
    finally:
        context.close()


@pytest.fixture(scope="module")
def llm_site(tmp_path_factory: pytest.TempPathFactory, real_index_settings: Settings,
             real_embedder: Any) -> Iterator[dict[str, Any]]:
    """The widget on a service that writes answers with a (stub) language model, streamed slowly."""
    from .llm_stub import StubLLM, supported_and_injected

    base = tmp_path_factory.mktemp("web-browser-llm")
    settings = copy_index(real_index_settings, real_index_settings.with_(data_dir=base / "data"))
    pages = base / "intranet"
    pages.mkdir()
    with StubLLM(supported_and_injected) as stub, StaticSite(pages, host="localhost") as intranet:
        stub.chunk_delay_s = 0.08
        app = create_app(settings.with_(cors_origins=(intranet.origin,), llm_url=stub.url, llm_model="stub",
                                        llm_timeout_s=30.0), embedder=real_embedder)
        with ServerThread(app) as server:
            (pages / "host.css").write_text(HOST_CSS, encoding="utf-8")
            strict = (f"default-src 'none'; script-src {server.url}; connect-src {server.url}; "
                      "style-src 'self'; img-src 'self'")
            options = 'data-suggestions="Wat zijn pleinmakers?|Hoeveel kost de studiedag?"'
            (pages / "index.html").write_text(host_page(server.url, "Intranet", "", csp=strict, options=options),
                                              encoding="utf-8")
            yield {"service": server.url, "intranet": intranet.origin, "stub": stub}


def test_a_generated_answer_shows_only_checked_sentences_and_is_marked(page: Any, llm_site: dict[str, Any]) -> None:
    from .llm_stub import INJECTED_MARKS

    page.goto(llm_site["intranet"] + "/index.html")
    page.locator("wegwijzer-chat .launcher").click()
    starters = page.locator("wegwijzer-chat .starters button")
    starters.first.wait_for()
    assert starters.all_inner_texts() == ["Wat zijn pleinmakers?", "Hoeveel kost de studiedag?"]  # data-suggestions
    # Every text the widget ever shows, recorded at each change of its shadow tree.
    page.evaluate("""() => { const root = document.querySelector('wegwijzer-chat').shadowRoot;
                      window.wwShown = [];
                      new MutationObserver(() => window.wwShown.push(root.textContent))
                        .observe(root, {subtree: true, childList: true, characterData: true}); }""")
    page.locator("wegwijzer-chat textarea[id$='-q']").fill("Hoeveel kost deelname aan de studiedag in Brussel?")
    page.keyboard.press("Enter")
    draft = page.locator("wegwijzer-chat .msg.draft")
    draft.wait_for(timeout=30_000)  # the first checked sentence appears while the model still writes ...
    assert draft.locator(".mode-label").inner_text() == t("widget.ui.generatedLabel")
    assert draft.locator(".answer").inner_text().rstrip().endswith("[1]")
    answer = page.locator("wegwijzer-chat .msg.bot:not(.thinking):not(.draft)").first
    answer.wait_for(timeout=30_000)  # ... and the whole answer replaces the sentences so far
    assert page.locator("wegwijzer-chat .msg.draft").count() == 0
    text = answer.locator(".answer").inner_text()
    assert "[1]" in text
    assert answer.locator(".mode-label").inner_text() == t("widget.ui.generatedLabel")  # above the text
    assert "taalmodel" in answer.locator(".mode").inner_text()
    assert answer.locator(".card").count() >= 1
    shown = page.evaluate("window.wwShown")
    assert shown and not [m for m in INJECTED_MARKS if any(m in s for s in shown)]  # never on screen, not briefly
    requests = llm_site["stub"].answers()
    assert requests and requests[-1]["stream"] is True
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_sources_and_related_passages_are_shown_apart_and_a_refusal_has_no_sources(
        page: Any, site: dict[str, Any]) -> None:
    page.goto(site["intranet"] + "/index.html")
    page.locator("wegwijzer-chat .launcher").click()
    answered = ask(page, QUESTION)
    sources = answered.locator(".sources")
    assert sources.locator("h3").text_content() == "Bronnen" and sources.locator(".card").count() >= 1
    related = answered.locator("details.related")
    assert (related.locator("summary").text_content() or "").startswith("Verwante passagen")
    assert related.get_attribute("open") is None  # further reading, folded away under an answer
    # no passage is listed twice: the cited ones (their document-view links) are not among the related ones
    links = "as => as.map(a => a.getAttribute('href'))"
    cited = set(sources.locator("a.open").evaluate_all(links))
    assert cited and not cited & set(related.locator("a.open").evaluate_all(links))

    refused = ask(page, "Wat is het telefoonnummer van de voorzitter van de VVSG?", answers_before=1)
    assert "geen antwoord" in refused.locator(".answer").inner_text()
    assert refused.locator(".sources").count() == 0 and "Bronnen" not in (refused.text_content() or "")
    assert refused.locator("details.related").get_attribute("open") == ""  # shown open, as possibly related


# ---------------------------------------------------------------- the AI notice and "Nieuw gesprek" (issue 22)

# is_visible() holds for an element scrolled out of the conversation's view too; this asks the scroll position
IN_VIEW = """(el) => { const log = el.closest('.log'), a = el.getBoundingClientRect(), b = log.getBoundingClientRect();
                       return a.top >= b.top - 1 && a.bottom <= b.bottom + 1; }"""


def test_the_first_view_carries_the_ai_notice_and_new_conversation_erases_it_on_the_server(
        page: Any, site: dict[str, Any]) -> None:
    from bots.texts import t

    page.goto(site["intranet"] + "/index.html")
    page.locator("wegwijzer-chat .launcher").click()
    # the first thing in the conversation, before any question: the notice and its link
    first = page.locator("wegwijzer-chat .log .msg").first
    notice = first.locator(".notice")
    assert notice.is_visible() and notice.get_attribute("role") == "note"
    assert notice.evaluate(IN_VIEW), "a new conversation opens at its top, the notice in view"
    assert notice.inner_text().startswith(t("notice.ai"))
    link = notice.locator("a")
    assert link.get_attribute("href") == site["service"] + "/transparantie"
    assert t("widget.ui.noticeLink") in link.inner_text()
    with page.expect_popup() as popup:
        link.click()
    popup.value.wait_for_load_state("load")
    assert popup.value.locator("h1").inner_text() == t("transparency.title")
    popup.value.close()

    ask(page, "Welke werksessie van de inspiratiedag gaat over sport?")
    conversation = page.evaluate("""() => { const k = Object.keys(sessionStorage).find(k => k.startsWith('wegwijzer'));
                                            return JSON.parse(sessionStorage.getItem(k)).conversation; }""")
    db = site["settings"].conversations_db

    def stored() -> int:
        with sqlite3.connect(db) as con:
            return int(con.execute("SELECT COUNT(*) FROM conversations WHERE id = ?", (conversation,)).fetchone()[0])

    assert conversation and stored() == 1
    with page.expect_response(lambda r: r.request.method == "DELETE" and "/api/conversations/" in r.url) as gone:
        page.locator("wegwijzer-chat .head button.new").click()
    assert gone.value.status == 204 and stored() == 0
    fresh = page.locator("wegwijzer-chat .log .msg").first.locator(".notice")
    assert fresh.is_visible() and fresh.evaluate(IN_VIEW)  # the notice stays first, and in view
    assert not page.errors, page.errors  # type: ignore[attr-defined]
