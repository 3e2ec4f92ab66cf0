"""The quote, shown (issue 19 item 5), in a real browser on the real model and index.

The widget's source card shows the sentence the answer quotes with a little context, marked as a quote;
"Toon de hele passage" keeps it marked; the card's link opens the document view on exactly that sentence,
marked and scrolled into view. The answer's "- " lines are a real list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings

from .browser_support import open_page, widget_site

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.real_model]

QUESTION = "Wat kan een stad doen als de financiële middelen beperkt zijn?"


def norm(text: str) -> str:
    """Text as read: markup asterisks gone (the widget and the view hide them), whitespace folded."""
    return " ".join(text.replace("**", "").split())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, real_index_settings: Settings,
         real_embedder: Any) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("quote-browser")
    with widget_site(base, real_index_settings, real_embedder) as (pages, server, intranet, settings):
        (pages / "index.html").write_text(
            '<!doctype html><html lang="nl-BE"><head><meta charset="utf-8"><title>Intranet</title>'
            f'<script src="{server.url}/widget.js" defer></script></head><body><h1>Intranet</h1></body></html>',
            encoding="utf-8")
        yield {"service": server.url, "intranet": intranet.origin}


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with open_page(browser, 1366, 768) as pg:  # a laptop
        yield pg


SEEN_TEXT = "el => { const c = el.cloneNode(true); c.querySelectorAll('.sr-only').forEach(s => s.remove()); " \
    "return c.textContent; }"  # what is read on screen (the screen-reader notes left out)


def seen(locator: Any) -> str:
    return norm(locator.evaluate(SEEN_TEXT))


def ask(page: Any, question: str, answers_before: int = 0) -> tuple[Any, dict[str, Any]]:
    """Ask in the widget; the answer's list item and the JSON the service sent."""
    page.locator("wegwijzer-chat textarea[id$='-q']").fill(question)
    with page.expect_response(lambda r: r.url.endswith("/api/ask")) as response:
        page.keyboard.press("Enter")
    data = response.value.json()
    answer = page.locator("wegwijzer-chat .msg.bot:not(.thinking)").nth(answers_before)
    answer.wait_for(timeout=30_000)
    return answer, data


def test_the_card_shows_the_quote_and_the_document_view_lands_on_it(page: Any, site: dict[str, Any],
                                                                   tmp_path: Path) -> None:
    page.goto(site["intranet"] + "/index.html")
    page.locator("wegwijzer-chat .launcher").click()
    answer, data = ask(page, QUESTION)
    assert data["found"] and data["citations"]
    cited = data["citations"][0]
    quotes = [cited["text"][a:b] for a, b in cited["quotes"]]
    assert quotes, cited  # a cited passage names the sentences the answer quotes ...
    assert norm(quotes[0]) in norm(data["text"])  # ... and they are the answer's own sentences

    # the card: the quoted sentences, marked as quotes, with a little context and no more
    card = answer.locator(".sources .card").first
    marked = card.locator("blockquote mark.quote").all_text_contents()
    assert [norm(m) for m in marked] == [norm(q) for q in quotes]
    excerpt = seen(card.locator("blockquote"))
    context = len(excerpt) - sum(len(norm(q)) for q in quotes)
    assert 0 <= context <= 2 * 80 * len(quotes) + 80, excerpt  # a few words around each quote
    mark_style = card.locator("mark.quote").first.evaluate(
        "m => { const s = getComputedStyle(m); return [s.borderBottomStyle, s.borderBottomWidth]; }")
    assert mark_style == ["solid", "2px"]  # underlined, not colour alone
    assert card.locator("blockquote mark:not(.quote)").count() == 0  # no question-word marks in a quote card
    # "Toon de hele passage": the whole passage, the quote still marked
    more = card.locator("button.more")
    if len(norm(cited["text"])) > len(excerpt) + 60:
        more.click()
        assert seen(card.locator("blockquote")) == norm(cited["text"])
        assert [norm(m) for m in card.locator("blockquote mark.quote").all_text_contents()] == \
            [norm(q) for q in quotes]
        more.click()
    # related passages keep the excerpt around the question's words
    related = answer.locator("details.related .card blockquote")
    if related.count():
        assert related.locator("mark.quote").count() == 0
    # the answer's "- " lines are list items (however many the answer has)
    items = [line for line in data["text"].split("\n") if line.startswith("- ")]
    assert answer.locator(".answer li").count() == len(items)
    assert answer.locator(".answer p.src").inner_text() == data["text"].split("\n")[-1]
    page.screenshot(path=str(tmp_path / "quote-widget.png"))

    # the document view: the link names the quoted sentences; the first is marked and scrolled to
    href = card.locator("a.open").get_attribute("href")
    assert href and re.search(rf"\?passage={cited['passage_id']}&zin=\d+-\d+(,\d+-\d+)*#q-{cited['passage_id']}$", href)
    with page.expect_popup() as popup:
        card.locator("a.open").click()
    doc = popup.value
    doc.wait_for_load_state("load")
    first = doc.locator(f"mark.quote#q-{cited['passage_id']}")
    assert first.count() == 1
    for k, quote in enumerate(quotes):
        shown = " ".join(doc.locator(f'mark.quote[data-zin="{k}"]').all_text_contents())
        assert norm(shown) == norm(quote)
    assert doc.locator("mark.quote").evaluate_all("ms => ms.every(m => m.closest('mark.cited'))")
    doc.wait_for_function("""() => { const r = document.querySelector('mark.quote').getBoundingClientRect();
                             return r.top >= 0 && r.bottom <= window.innerHeight; }""")
    labels = doc.locator(".doc-text .sr-only").all_text_contents()
    assert any("Geciteerd" in label for label in labels)  # the quote is announced, not only coloured
    doc.screenshot(path=str(tmp_path / "quote-document.png"))
    doc.emulate_media(forced_colors="active")
    colours = first.evaluate("m => { const s = getComputedStyle(m); return [s.backgroundColor, s.color]; }")
    plain = doc.locator("main").evaluate("m => getComputedStyle(m).backgroundColor")
    assert colours[0] != plain  # still marked in forced-colors mode
    doc.close()
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_a_list_answer_is_a_real_list_and_stays_text(page: Any, site: dict[str, Any]) -> None:
    """The answer format (a lead-in, "- " lines, a "Bron:" line), as the service writes it, with hostile text."""
    text = ("Taalbeleid <b>vraagt</b>: [1]\n- Voldoende NT2-aanbod\n- Sociaal tolken <img src=x onerror=alert(1)> [1]\n"
            "- Afstemming\nBron: VVSG-memorandum.")
    passage = "Inleiding. Taalbeleid vraagt: meer aanbod. Slot van de passage, met nog wat woorden erbij."
    fake = {"answer_id": "a" * 32, "question": "q", "found": True, "index_version": "x", "latency_ms": 1,
            "mode": "extractive", "conversation_id": "c" * 32, "related": [], "text": text,
            "citations": [{"n": 1, "text": passage, "title": "VVSG-memorandum", "source": "a.md", "page": None,
                           "section": "", "score": 1.0, "passage_id": 0, "start": 0, "end": 1, "url": "/documents/a.md",
                           "highlights": [[0, 10]], "quotes": [[11, 42], [-1, 5], ["x", 3], [40, 999]]}]}
    page.route("**/api/ask", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(fake),
        headers={"Access-Control-Allow-Origin": site["intranet"]}))
    page.goto(site["intranet"] + "/index.html")
    page.locator("wegwijzer-chat .launcher").click()
    page.locator("wegwijzer-chat textarea[id$='-q']").fill("Wat vraagt de VVSG rond taalbeleid?")
    page.keyboard.press("Enter")
    answer = page.locator("wegwijzer-chat .msg.bot:not(.thinking)").first
    answer.wait_for(timeout=30_000)
    assert answer.locator(".answer ul li").all_inner_texts()[0] == "Voldoende NT2-aanbod"
    assert answer.locator(".answer ul li").count() == 3 and answer.locator(".answer ul").count() == 1
    assert "<img src=x" in answer.locator(".answer li").nth(1).inner_text()
    assert answer.locator(".answer li .ref").count() == 1  # the [n] in an item is a button too
    assert answer.locator(".answer p.src").inner_text() == "Bron: VVSG-memorandum."
    assert "<b>vraagt</b>" in answer.locator(".answer p").first.inner_text()
    injected = page.evaluate("""() => document.querySelector('wegwijzer-chat').shadowRoot
                                .querySelectorAll('.answer b, .answer img').length""")
    assert injected == 0
    # bad quote spans are dropped, the good one is marked
    assert answer.locator(".card mark.quote").all_inner_texts() == ["Taalbeleid vraagt: meer aanbod."]
    answer.locator(".answer li .ref").click()
    assert page.evaluate("() => document.querySelector('wegwijzer-chat').shadowRoot.activeElement.tagName") \
        == "ARTICLE"
    assert not page.errors, page.errors  # type: ignore[attr-defined]
