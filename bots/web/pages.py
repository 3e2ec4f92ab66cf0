"""Server-rendered HTML: the readable document view and the document list. Pure functions.

Every piece of document text is escaped (``doctext``); the cited passage is wrapped in ``<mark id="p-N">``
so the citation link ``/documents/{source}?passage=N#p-N`` scrolls to it and shows it highlighted
without any script. A link that names the quoted sentences (``&zin=a-b,c-d#q-N``) marks each of them
inside the passage and scrolls to the first. PDFs are shown one page at a time, the page that holds the passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from urllib.parse import quote

from assistant.messages import t
from assistant.types import DocumentInfo, Page, Passage
from ingest.formats import for_suffix

from .doctext import mark_text
from .quotespans import format_spans, place_spans

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


def _shell(title: str, body: str, lang: str = "nl-BE") -> str:
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - Wegwijzer</title>"
        '<link rel="icon" href="/favicon.ico" sizes="32x32">'
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/document.css"></head>'
        f"<body>{body}</body></html>\n"
    )


def _meta(info: DocumentInfo) -> str:
    rows = [(t("page.publisher"), info.publisher), (t("page.date"), info.date),
            (t("page.kind"), kind_label(info.kind) if info.kind else ""),
            (t("page.pages"), str(info.pages) if info.pages else ""), (t("page.file"), info.source)]
    items = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in rows if v)
    return f'<dl class="meta">{items}</dl>'


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
    parts = [
        f'<a class="skip" href="#tekst">{escape(t("page.skip"))}</a>',
        '<header class="doc-head"><p class="brand">Wegwijzer <span aria-hidden="true">·</span> '
        f'{escape(t("page.brand"))}</p>',
        f"<h1>{escape(info.title)}</h1>",
        _meta(info),
    ]
    placed: list[tuple[int, int]] = []
    if cited is not None:
        page_text = next((p.text for p in pages if p.page == cited.page), "")
        placed = place_spans(list(quotes), cited.text, page_text[cited.start:cited.end], cited.start)
        where = t("page.cited_where", page=cited.page) if cited.page is not None else ""
        section = t("page.cited_section", section=cited.section) if cited.section else ""
        if placed:
            key = "page.quoted_note" if len(placed) == 1 else "page.quoted_note_many"
            note, goto, target = t(key, where=where, section=section), t("page.goto_quote"), f"q-{cited.id}"
        else:
            note, goto, target = t("page.cited_note", where=where, section=section), t("page.goto_passage"), \
                f"p-{cited.id}"
        parts.append(f'<p class="cited-note" role="note">{escape(note)} '
                     f'<a href="#{target}">{escape(goto)}</a></p>')
    if is_paged and shown:
        current = shown[0].page or 1
        total = max((p.page or 0) for p in pages)
        nav = [f'<span>{escape(t("page.page_of", current=current, total=total))}</span>']
        if current > 1:
            nav.append(f'<a href="{escape(document_url(info.source, page=current - 1))}" rel="prev">'
                       f'{escape(t("page.previous"))}</a>')
        if current < total:
            nav.append(f'<a href="{escape(document_url(info.source, page=current + 1))}" rel="next">'
                       f'{escape(t("page.next"))}</a>')
        label = t("page.open_pdf") if info.source.lower().endswith(".pdf") else t("page.open_file")
        nav.append(f'<a href="{escape(file_url(info.source))}#page={current}">{escape(label)}</a>')
        parts.append(f'<nav class="pager" aria-label="{escape(t("page.pages"))}">{" ".join(nav)}</nav>')
    parts.append(f'<p class="back"><a href="/documents">{escape(t("page.all_documents"))}</a></p></header>')
    parts.append(f'<main id="tekst" tabindex="-1" lang="{escape(info.language or "nl-BE")}">')
    fmt = for_suffix(info.source)
    explicit = bool(fmt and fmt.explicit_headings)
    for page in shown:
        if page.page is not None:
            parts.append(f'<h2 class="page-label" id="pagina-{page.page}">'
                         f'{escape(t("page.page", page=page.page))}</h2>')
        if page.ocr:
            parts.append(f'<p class="ocr-note" role="note">{escape(t("page.ocr_note"))}</p>')
        anchors = [(p.start, p.id) for p in passages if p.page == page.page]
        span = None
        if cited is not None and cited.page == page.page:
            span = (cited.start, cited.end, cited.id)
        text = mark_text(page.text, anchors, span, explicit, heading_level=3 if page.page is not None else 2,
                         quotes=placed if span else None)
        parts.append(f'<div class="doc-text">{text}</div>')
    parts.append("</main>")
    return _shell(info.title, "".join(parts), lang="nl-BE")


def render_document_list(documents: list[dict[str, object]]) -> str:
    """All indexed documents, with links to their view."""
    items = []
    for d in documents:
        source = str(d.get("source", ""))
        meta = ", ".join(str(v) for v in (d.get("publisher"), d.get("date")) if v)
        items.append(f'<li><a href="{escape(document_url(source))}">{escape(str(d.get("title") or source))}</a>'
                     f'<span class="sub">{escape(meta)}</span></li>')
    title = t("page.documents")
    body = (f'<header class="doc-head"><p class="brand">Wegwijzer</p><h1>{escape(title)}</h1>'
            f'<p>{escape(t("page.documents_count", n=len(documents)))}</p>'
            f'<p class="back"><a href="/transparantie">{escape(t("page.transparency"))}</a></p></header>'
            f'<main id="tekst"><ul class="doc-list">{"".join(items)}</ul></main>')
    return _shell(title, body)
