"""Server-rendered HTML: the readable document view and the document list. Pure functions.

Every piece of document text is escaped; the cited passage is wrapped in ``<mark id="p-N">`` so the
citation link ``/documents/{source}?passage=N#p-N`` scrolls to it and shows it highlighted without
any script. PDFs are shown one page at a time, the page that holds the passage.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from assistant.types import DocumentInfo, Page, Passage

KIND_NL = {"toolkit": "toolkit", "memorandum": "memorandum", "programme": "programma",
           "announcement": "aankondiging"}

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'self'")


def document_url(source: str, passage_id: int | None = None, page: int | None = None) -> str:
    """The document view address; with a passage it is highlighted and scrolled to."""
    url = "/documents/" + quote(source, safe="/")
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
        '<link rel="stylesheet" href="/static/document.css"></head>'
        f"<body>{body}</body></html>\n"
    )


def _plain(piece: str, markdown: bool) -> str:
    # Markdown emphasis markers are noise for a reader; removed per piece, so offsets stay valid.
    return escape(piece.replace("**", "").replace("__", "") if markdown else piece, quote=False)


def mark_text(text: str, anchors: list[tuple[int, int]], cited: tuple[int, int, int] | None,
              markdown: bool = False) -> str:
    """Escaped ``text`` with empty anchors ``(offset, passage_id)`` and the cited ``(start, end, id)`` marked."""
    events: dict[int, list[tuple[int, str]]] = {}
    n = len(text)

    def add(pos: int, order: int, fragment: str) -> None:
        events.setdefault(max(0, min(pos, n)), []).append((order, fragment))

    cited_id = cited[2] if cited else None
    for offset, pid in anchors:
        if pid != cited_id:
            add(offset, 1, f'<span class="anchor" id="p-{pid}"></span>')
    if cited:
        start, end, pid = cited
        add(start, 2, f'<mark class="cited" id="p-{pid}" tabindex="-1">'
                       '<span class="sr-only">Begin van de geciteerde passage. </span>')
        add(max(start, end), 0, '<span class="sr-only"> Einde van de geciteerde passage.</span></mark>')
    out: list[str] = []
    last = 0
    for pos in sorted(events):
        out.append(_plain(text[last:pos], markdown))
        out.extend(fragment for _, fragment in sorted(events[pos], key=lambda item: item[0]))
        last = pos
    out.append(_plain(text[last:], markdown))
    return "".join(out)


def _meta(info: DocumentInfo) -> str:
    rows = [("Uitgever", info.publisher), ("Datum", info.date), ("Soort", KIND_NL.get(info.kind, info.kind)),
            ("Pagina's", str(info.pages) if info.pages else ""), ("Bestand", info.source)]
    items = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in rows if v)
    return f'<dl class="meta">{items}</dl>'


def render_document(info: DocumentInfo, pages: list[Page], passages: list[Passage],
                    cited: Passage | None = None, page_number: int | None = None) -> str:
    """The document view. For PDFs only ``page_number`` (or the cited passage's page) is shown."""
    is_paged = any(p.page is not None for p in pages)
    if is_paged:
        wanted = cited.page if cited is not None and cited.page is not None else (page_number or 1)
        shown = [p for p in pages if p.page == wanted] or pages[:1]
    else:
        shown = pages
    parts = [
        '<a class="skip" href="#tekst">Naar de tekst</a>',
        '<header class="doc-head"><p class="brand">Wegwijzer <span aria-hidden="true">·</span> documentweergave</p>',
        f"<h1>{escape(info.title)}</h1>",
        _meta(info),
    ]
    if cited is not None:
        where = f" op pagina {cited.page}" if cited.page is not None else ""
        section = f" (onderdeel “{escape(cited.section)}”)" if cited.section else ""
        parts.append(f'<p class="cited-note" role="note">De geciteerde passage{where}{section} is gemarkeerd. '
                     f'<a href="#p-{cited.id}">Ga naar de passage</a></p>')
    if is_paged and shown:
        current = shown[0].page or 1
        total = max((p.page or 0) for p in pages)
        nav = [f'<span>Pagina {current} van {total}</span>']
        if current > 1:
            nav.append(f'<a href="{escape(document_url(info.source, page=current - 1))}" rel="prev">'
                       "Vorige pagina</a>")
        if current < total:
            nav.append(f'<a href="{escape(document_url(info.source, page=current + 1))}" rel="next">'
                       "Volgende pagina</a>")
        nav.append(f'<a href="{escape(file_url(info.source))}#page={current}">Originele PDF openen</a>')
        parts.append(f'<nav class="pager" aria-label="Pagina\'s">{" ".join(nav)}</nav>')
    parts.append('<p class="back"><a href="/documents">Alle documenten</a></p></header>')
    parts.append(f'<main id="tekst" tabindex="-1" lang="{escape(info.language or "nl-BE")}">')
    for page in shown:
        if page.page is not None:
            parts.append(f'<h2 class="page-label" id="pagina-{page.page}">Pagina {page.page}</h2>')
        anchors = [(p.start, p.id) for p in passages if p.page == page.page]
        span = None
        if cited is not None and cited.page == page.page:
            span = (cited.start, cited.end, cited.id)
        markdown = info.source.lower().endswith(".md")
        parts.append(f'<div class="doc-text">{mark_text(page.text, anchors, span, markdown)}</div>')
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
    body = ('<header class="doc-head"><p class="brand">Wegwijzer</p><h1>Documenten</h1>'
            f"<p>{len(documents)} documenten in de index.</p></header>"
            f'<main id="tekst"><ul class="doc-list">{"".join(items)}</ul></main>')
    return _shell("Documenten", body)
