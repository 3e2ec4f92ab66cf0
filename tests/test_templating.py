"""Server-rendered pages come from Jinja2 templates with autoescape on (issue 20): whatever a document, a setting
or a message holds is printed as text, and a template that names something undefined fails instead of printing
nothing."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest

from assistant.types import DocumentInfo, Page, Passage
from bots.web.pages import render_document, render_document_list
from bots.web.templating import TEMPLATES, environment, render

XSS = '<script>alert("x")</script>'


def test_every_template_is_autoescaped_and_strict() -> None:
    env = environment()
    assert env.autoescape is True and env.undefined is jinja2.StrictUndefined
    names = {p.name for p in TEMPLATES.glob("*.html")}
    assert {"base.html", "document.html", "document_list.html", "transparency.html", "error.html"} <= names
    with pytest.raises(jinja2.UndefinedError):
        render("error.html", title="x")  # no message given


def _doc(**fields: Any) -> DocumentInfo:
    base = {"source": "nota.md", "title": "Nota", "publisher": "", "date": "", "kind": "", "language": "nl-BE"}
    return DocumentInfo(**{**base, **fields})


def test_document_view_and_list_escape_what_documents_hold() -> None:
    info = _doc(title=XSS, publisher=f"Stad {XSS}", date="2024'", source="a'b.md")
    text = f"# Kop\n\nTekst met {XSS} erin.\n"
    page = Page(source="a'b.md", page=None, text=text)
    passage = Passage(id=0, source="a'b.md", title=XSS, page=None, section=XSS, start=0, end=len(text), text=text)
    html = render_document(info, [page], [passage], cited=passage)
    listed = render_document_list([{"source": "a'b.md", "title": XSS, "publisher": XSS, "date": "2024"}])
    for out in (html, listed):
        assert XSS not in out and "&lt;script&gt;" in out
        assert out.startswith("<!doctype html>") and '<link rel="stylesheet" href="/static/document.css">' in out
    assert html.count("<h1>") == 1 and '<mark class="cited" id="p-0"' in html  # the view's own marks stay HTML


def test_the_error_page_escapes_its_message() -> None:
    out = render("error.html", title="Document", message=XSS)
    assert XSS not in out and f"<p>{XSS.replace('<', '&lt;').replace('>', '&gt;').replace(chr(34), '&#34;')}</p>" \
        in out
