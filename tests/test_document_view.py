"""The document view's text: escaped, no raw markup, headings as headings, the cited passage marked."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.types import DocumentInfo, Page, Passage
from bots.web.pages import mark_text, render_document
from ingest.chunking import chunk_pages

from .conftest import CORPUS

SR_ONLY = re.compile(r'<span class="sr-only">.*?</span>')


def visible(html: str) -> str:
    """What a reader sees: tags and screen-reader notes gone, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", SR_ONLY.sub("", html)))


class _Balance(HTMLParser):
    VOID = {"br", "meta", "link", "img", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.extend(v or "" for k, v in attrs if k == "id")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def well_formed(html: str) -> _Balance:
    parser = _Balance()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], parser.stack
    return parser


def test_text_is_escaped_and_stray_tags_are_hidden() -> None:
    text = "Begin <b>vet</b> & <i>schuin</i> <p>einde</p> <script>alert(1)</script>."
    out = mark_text(text, anchors=[(0, 1)], cited=(6, 16, 2))
    assert "<b>" not in out and "<script>" not in out and "&lt;" not in out and "&amp;" in out
    assert visible(out) == "Begin vet & schuin einde alert(1)."
    marked = re.search(r'<mark class="cited" id="p-2"[^>]*>(.*?)</mark>', out)
    assert marked is not None and visible(marked.group(1)) == "vet"
    assert '<span class="anchor" id="p-1"></span>Begin' in out
    well_formed(out)


def test_markdown_reads_as_text_with_headings() -> None:
    text = "# Titel van de nota\n\nEen **vet** woord, __nog__ een, *nadruk* en [een link](https://x.be/a).\n"
    out = mark_text(text, anchors=[], cited=None, heading_level=2)
    assert '<h2 class="doc-h">Titel van de nota</h2>' in out
    assert visible(out).strip() == "Titel van de notaEen vet woord, nog een, nadruk en een link."
    assert "**" not in out and "__" not in out and "https://x.be" not in out


def test_plain_text_headings_become_sections_in_the_view() -> None:
    source = "vvsg-memorandum-migratie-en-integratie.txt"
    text = (CORPUS / source).read_text(encoding="utf-8")
    page = Page(source, None, text)
    chunks = chunk_pages([page])
    passages = [Passage(id=i, source=source, title="t", page=None, section=c.section, start=c.start, end=c.end,
                        text=c.text) for i, c in enumerate(chunks)]
    cited = next(p for p in passages if "Hoe ?" in p.section)
    html = render_document(DocumentInfo(source=source, title="VVSG"), [page], passages, cited=cited)
    body = html[html.index('<div class="doc-text">'):]
    for raw in ("**", "<i>", "</i>", "<p>", "</p>", "&lt;i&gt;", "&lt;p&gt;"):
        assert raw not in body, raw
    headings = [visible(h) for h in re.findall(r'<h\d class="doc-h">(.*?)</h\d>', body)]
    assert "Wat ?" in headings and "Hoe ?" in headings
    # every section a citation names is a heading the reader can see
    for part in {p for c in passages for p in c.section.split(" › ") if p}:
        assert any(h.startswith(part.rstrip("…")[:40]) for h in headings), part
    parsed = well_formed(html)
    assert parsed.ids.count(f"p-{cited.id}") == 1
    marked = "".join(re.findall(r'<mark class="cited"[^>]*>(.*?)</mark>', body, re.S))
    assert "".join(visible(marked).split())[:60] == "".join(cited.text.split())[:60]


def test_explicit_headings_keep_their_levels() -> None:
    text = "# Beleidsplan\n\n## Onthaal\n\nTekst over onthaal.\n\n### Taal\n\nTekst over taal.\n\nKort\n\nMeer tekst."
    out = mark_text(text, anchors=[], cited=None, explicit_headings=True, heading_level=3)
    assert re.findall(r"<h(\d) class=\"doc-h\">([^<]*)</h\d>", out) == [("3", "Beleidsplan"), ("4", "Onthaal"),
                                                                      ("5", "Taal")]
    assert "Kort" in visible(out)  # an unmarked short line is text in a format whose headings are known


def test_pdf_pages_show_the_ocr_note() -> None:
    info = DocumentInfo(source="scan.pdf", title="Scan", pages=1)
    pages = [Page("scan.pdf", 1, "Herkende tekst van een scan.", ocr=True)]
    html = render_document(info, pages, [])
    assert "automatisch herkend (OCR)" in html


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.sampled_from(list("ab #*_<>/ip\n\t&[]()") + ["**", "# ", "<i>", "</p>", "Kop\n"]),
                    max_size=60).map("".join),
       span=st.tuples(st.integers(0, 130), st.integers(0, 130)), explicit=st.booleans())
def test_any_text_and_span_give_balanced_html_with_one_cited_id(text: str, span: tuple[int, int],
                                                                 explicit: bool) -> None:
    start, end = sorted(span)
    start, end = min(start, len(text)), min(end, len(text))
    out = mark_text(text, anchors=[(0, 7), (len(text), 8)], cited=(start, end, 3), explicit_headings=explicit)
    parsed = well_formed(f"<div>{out}</div>")
    assert parsed.ids.count("p-3") <= 1
    if text[start:end].strip():
        assert parsed.ids.count("p-3") == 1
    assert "<script" not in out
