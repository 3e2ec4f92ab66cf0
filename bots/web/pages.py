"""Server-rendered HTML: the readable document view and the document list. Pure functions over Jinja2
templates (``templates/document.html``, ``document_list.html``; autoescaped, see ``templating``).

Every piece of document text is escaped (``doctext``); the cited passage is wrapped in ``<mark id="p-N">``
so the citation link ``/documents/{source}?passage=N#p-N`` scrolls to it and shows it highlighted
without any script. A link that names the quoted sentences (``&zin=a-b,c-d#q-N``) marks each of them
inside the passage and scrolls to the first. PDFs are shown one page at a time, the page that holds the passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from assistant.types import DocumentInfo, Page, Passage
from bots.texts import t
from ingest.formats import for_suffix

from .doctext import mark_text
from .quotespans import format_spans, place_spans
from .templating import render

__all__ = ["CSP", "document_url", "file_url", "kind_label", "mark_text", "render_document", "render_document_list"]

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'self'")


def kind_label(kind: str) -> str:
    """The catalogue's name for a kind of document (``ingest.catalog.KINDS``); an unknown kind as it is."""
    try:
        return t(f"page.kind.{kind}")
    except KeyError:
        return kind


def document_url(source: str, passage_id: int | None = None, page: int | None = None,
                 quotes: Sequence[Sequence[int]] = ()) -> str:
    """The document view address; with a passage it is highlighted and scrolled to, and with ``quotes`` (spans
    in the passage's text) the quoted sentences are marked in it and the first is scrolled to."""
    url = "/documents/" + quote(source, safe="/")
    if passage_id is not None and quotes:
        spans = format_spans([(int(q[0]), int(q[1])) for q in quotes])
        return f"{url}?passage={passage_id}&zin={spans}#q-{passage_id}"
    if passage_id is not None:
        return f"{url}?passage={passage_id}#p-{passage_id}"
    if page is not None:
        return f"{url}?page={page}"
    return url


def file_url(source: str) -> str:
    return "/files/" + quote(source, safe="/")


def _meta(info: DocumentInfo) -> list[tuple[str, str]]:
    """(label, value) rows of a document's metadata; empty values are left out by the template."""
    return [(t("page.publisher"), info.publisher), (t("page.date"), info.date),
            (t("page.kind"), kind_label(info.kind) if info.kind else ""),
            (t("page.pages"), str(info.pages) if info.pages else ""), (t("page.file"), info.source)]


def render_document(info: DocumentInfo, pages: list[Page], passages: list[Passage],
                    cited: Passage | None = None, page_number: int | None = None,
                    quotes: Sequence[tuple[int, int]] = ()) -> str:
    """The document view. For PDFs only ``page_number`` (or the cited passage's page) is shown.

    ``quotes`` are checked spans in the cited passage's text (``quotespans.parse_spans``): the sentences an
    answer quoted, marked one by one inside the passage.
    """
    is_paged = any(p.page is not None for p in pages)
    if is_paged:
        wanted = cited.page if cited is not None and cited.page is not None else (page_number or 1)
        shown = [p for p in pages if p.page == wanted] or pages[:1]
    else:
        shown = pages
    placed: list[tuple[int, int]] = []
    note: dict[str, str] | None = None
    if cited is not None:
        page_text = next((p.text for p in pages if p.page == cited.page), "")
        placed = place_spans(list(quotes), cited.text, page_text[cited.start:cited.end], cited.start)
        where = t("page.cited_where", page=cited.page) if cited.page is not None else ""
        section = t("page.cited_section", section=cited.section) if cited.section else ""
        if placed:
            key = "page.quoted_note" if len(placed) == 1 else "page.quoted_note_many"
            note = {"text": t(key, where=where, section=section), "goto": t("page.goto_quote"),
                    "target": f"q-{cited.id}"}
        else:
            note = {"text": t("page.cited_note", where=where, section=section), "goto": t("page.goto_passage"),
                    "target": f"p-{cited.id}"}
    pager: dict[str, Any] | None = None
    if is_paged and shown:
        current = shown[0].page or 1
        total = max((p.page or 0) for p in pages)
        label = t("page.open_pdf") if info.source.lower().endswith(".pdf") else t("page.open_file")
        pager = {"current": current, "total": total,
                 "previous": document_url(info.source, page=current - 1) if current > 1 else "",
                 "next": document_url(info.source, page=current + 1) if current < total else "",
                 "file": f"{file_url(info.source)}#page={current}", "file_label": label}
    fmt = for_suffix(info.source)
    explicit = bool(fmt and fmt.explicit_headings)
    shown_pages = []
    for page in shown:
        anchors = [(p.start, p.id) for p in passages if p.page == page.page]
        span = None
        if cited is not None and cited.page == page.page:
            span = (cited.start, cited.end, cited.id)
        text = mark_text(page.text, anchors, span, explicit, heading_level=3 if page.page is not None else 2,
                         quotes=placed if span else None)
        # mark_text escapes every character of the document itself and adds only its own marks
        shown_pages.append({"number": page.page, "ocr": page.ocr, "text": Markup(text)})  # noqa: S704
    return render("document.html", title=info.title, lang="nl-BE", info=info, meta=_meta(info), note=note,
                  pager=pager, pages=shown_pages)


def render_document_list(documents: list[dict[str, object]]) -> str:
    """All indexed documents, with links to their view."""
    rows = []
    for d in documents:
        source = str(d.get("source", ""))
        rows.append({"url": document_url(source), "title": str(d.get("title") or source),
                     "meta": ", ".join(str(v) for v in (d.get("publisher"), d.get("date")) if v)})
    return render("document_list.html", title=t("page.documents"), documents=rows)
