"""Saved web pages (HTML): the main content only, through selectolax (the Lexbor HTML5 parser).

Boilerplate goes first: scripts, navigation, site header and footer, asides, cookie and consent
banners, breadcrumbs, share buttons, anything hidden. The content root is ``<main>`` (or
``role=main``, the one ``<article>``, a ``#content`` container) and falls back to the body. Headings
become ``#`` lines, lists items, tables readable rows; everything else is paragraphs. Why selectolax
and not trafilatura: see the README ("File formats").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assistant.errors import DocumentError
from assistant.types import Page
from ingest.texts import t

from .reading import ReadingText
from .text import read_text

_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas", "form",
              "button", "select", "textarea", "input", "nav", "aside", "dialog", "menu", "head", "img", "picture",
              "video", "audio", "map")
_DROP_ROLES = ("navigation", "banner", "contentinfo", "search", "complementary", "dialog", "alertdialog", "menu",
               "menubar", "toolbar")
# class / id words that mark boilerplate on municipal CMS pages (Drupal, WordPress, Liferay themes)
_BOILERPLATE = re.compile(
    r"(?:^|[-_\s])(?:cookie\w*|consent|gdpr|eu-cookie\w*|breadcrumbs?|skip-?(?:link|to)\w*|share|sharing|"
    r"sharedaddy|social(?:-\w+)?|newsletter|nieuwsbrief|popup|modal|navbar|nav|navigation|menu|mainmenu|"
    r"sidebar|site-header|site-footer|page-footer|page-header|footer|widget-area|related|pager|pagination|"
    r"visually-hidden|sr-only|screen-reader-text)(?:$|[-_\s])", re.I)
_ROOTS = ("main", "[role=main]", "#main-content", "#content", "#main", ".main-content", ".content")
_BLOCKS = {"p", "div", "section", "article", "header", "footer", "address", "blockquote", "pre", "figure",
           "figcaption", "details", "summary", "center", "main", "body", "html", "hgroup", "fieldset"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


# A web page's HTML is tens to hundreds of KB; megabytes of it are a saved page with inlined images, or a
# hostile file (deep nesting parses in super-linear time). The parse-time budget bounds the rest.
MAX_HTML_BYTES = 5 * 1024 * 1024


def load(path: Path, source: str) -> tuple[Page, ...]:
    size = Path(path).stat().st_size
    if size > MAX_HTML_BYTES:
        raise DocumentError(source, t("doc.html_too_large", size=f"{size / (1024 * 1024):.1f}".replace(".", ","),
                                      limit=MAX_HTML_BYTES >> 20))
    text = extract(read_text(path, source, html=True))
    if not text.strip():
        raise DocumentError(source, t("doc.html_no_text"))
    return (Page(source=source, page=None, text=text),)


def extract(html: str) -> str:
    """The reading text of an HTML page's main content."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    body = tree.body
    if body is None:
        return ""
    _remove(body.css(", ".join(_DROP_TAGS + ("[hidden]", "[aria-hidden=true]", "[aria-modal=true]")
                               + tuple(f"[role={role}]" for role in _DROP_ROLES))))
    root = _content_root(body)
    _remove([node for node in root.css("header, footer, [class], [id]") if _is_boilerplate(node, root)])
    out = ReadingText()
    _Walker(out).block(root)
    return out.text()


def _remove(nodes: list[Any]) -> None:
    """Decompose ``nodes``, outermost only (a node inside one already removed is gone with it)."""
    doomed = {n.mem_id for n in nodes}
    for node in nodes:
        parent = node.parent
        while parent is not None and parent.mem_id not in doomed:
            parent = parent.parent
        if parent is None:
            node.decompose()


def _content_root(body: Any) -> Any:
    for selector in _ROOTS:
        nodes = body.css(selector)
        if len(nodes) == 1 and _text_len(nodes[0]) > 0:
            return nodes[0]
    articles = body.css("article")
    if articles:
        best = max(articles, key=_text_len)
        if _text_len(best) > 200:
            return best
    return body


def _text_len(node: Any) -> int:
    return len((node.text(deep=True) or "").strip())


def _is_boilerplate(node: Any, root: Any) -> bool:
    if node.mem_id == root.mem_id:
        return False
    if node.tag in ("header", "footer"):
        # a page-wide header or footer; an article's own header (with its h1) stays
        return not node.css_first("h1, h2") or node.tag == "footer"
    attrs = node.attributes
    words = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    return bool(words.strip()) and bool(_BOILERPLATE.search(words))


class _Walker:
    """Turns the content tree into blocks; inline text gathers until the next block element.

    Source line breaks are layout, not text: only ``<br>`` breaks a line, and two in a row (old pages
    separate paragraphs that way) end the paragraph. A paragraph made of links (a menu row nobody
    marked as such) is dropped; a short bold or large-font line standing alone becomes a heading.
    """

    def __init__(self, out: ReadingText) -> None:
        self.out = out
        self.buffer: list[str] = []
        self.link_chars = 0
        self.links = 0

    def flush(self) -> None:
        text = "".join(self.buffer)
        self.buffer = []
        links, link_chars = self.links, self.link_chars
        self.links = self.link_chars = 0
        size = len(re.sub(r"[\W_]+", "", text))
        if not size or (links >= 2 and link_chars >= 0.6 * size):
            return
        self.out.end_list()
        self.out.paragraph(text)

    def block(self, node: Any) -> None:
        child = node.first_child
        while child is not None:
            self.node(child)
            child = child.next
        self.flush()

    def inline(self, node: Any) -> None:
        child = node.first_child
        while child is not None:
            self.node(child)
            child = child.next

    def node(self, node: Any) -> None:
        tag = node.tag
        if tag == "-text":
            self.buffer.append(re.sub(r"\s+", " ", node.text_content or ""))
        elif tag in _HEADINGS:
            self.flush()
            self.out.heading(_inline(node), _HEADINGS[tag])
        elif tag in ("ul", "ol"):
            self.flush()
            self.list(node, 0)
            self.out.end_list()
        elif tag == "dl":
            self.flush()
            self.definitions(node)
        elif tag == "table":
            self.flush()
            self.table(node)
        elif tag == "br":
            if self.buffer and self.buffer[-1] == "\n":
                self.flush()
            else:
                self.buffer.append("\n")
        elif tag == "hr":
            self.flush()
        elif tag in _BLOCKS or tag == "li":
            self.flush()
            self.block(node)
        elif tag.startswith("-"):  # comments, doctype
            return
        elif tag in ("b", "strong", "font") and _stands_alone(node):
            level = _pseudo_heading(node)
            if level:
                self.flush()
                self.out.heading(_inline(node), level)
            else:
                self.inline(node)
        elif tag == "a":
            before = sum(len(re.sub(r"[\W_]+", "", b)) for b in self.buffer)
            self.inline(node)
            self.links += 1
            self.link_chars += sum(len(re.sub(r"[\W_]+", "", b)) for b in self.buffer) - before
        else:  # inline element: its text joins the current paragraph
            self.inline(node)

    def list(self, node: Any, depth: int) -> None:
        for item in node.iter():
            if item.tag != "li":
                continue
            parts: list[str] = []
            nested = []
            child = item.first_child
            while child is not None:
                if child.tag in ("ul", "ol"):
                    nested.append(child)
                elif child.tag == "-text":
                    parts.append(child.text_content or "")
                elif not child.tag.startswith("-"):
                    parts.append(_inline(child))
                child = child.next
            self.out.item("".join(parts), depth)
            for sub in nested:
                self.list(sub, depth + 1)

    def definitions(self, node: Any) -> None:
        term = ""
        for child in node.iter():
            if child.tag == "dt":
                term = _inline(child)
            elif child.tag == "dd":
                value = _inline(child)
                self.out.item(f"{term}: {value}" if term else value)
        self.out.end_list()

    def table(self, node: Any) -> None:
        if _is_layout(node):  # old sites position the whole page with tables: cells are blocks of the page
            for cell in node.css("td, th"):
                if not cell.css("table"):
                    self.block(cell)
            return
        rows: list[list[str]] = []
        header = False
        for row in node.css("tr"):
            cells = [c for c in row.iter() if c.tag in ("td", "th")]
            if not rows and cells and all(c.tag == "th" for c in cells):
                header = True
            rows.append([_inline(c) for c in cells])
        self.out.table(rows, header=header)


def _inline(node: Any) -> str:
    """The text of an element with <br> as a line break; block children separated by spaces."""
    parts: list[str] = []

    def walk(n: Any) -> None:
        child = n.first_child
        while child is not None:
            if child.tag == "-text":
                parts.append(child.text_content or "")
            elif child.tag == "br":
                parts.append(" ")
            elif not child.tag.startswith("-"):
                if child.tag in _BLOCKS or child.tag in ("li", "tr", "td", "th"):
                    parts.append(" ")
                walk(child)
            child = child.next

    walk(node)
    return "".join(parts)


def _is_layout(table: Any) -> bool:
    """A table used for page layout, not data: no header cells, and a cell that holds a page's worth."""
    if table.css_first("th"):
        return False
    for cell in table.css("td"):
        if cell.css_first("table, p, div, ul, ol, h1, h2, h3, h4, h5, h6") or len(cell.css("br")) >= 2:
            return True
        if len((cell.text(deep=True) or "").strip()) > 250:
            return True
    return False


def _stands_alone(node: Any) -> bool:
    """Nothing but whitespace or a <br> on either side: the element is a line of its own."""
    for step in ("prev", "next"):
        sibling = getattr(node, step)
        while sibling is not None and sibling.tag == "-text" and not (sibling.text_content or "").strip():
            sibling = getattr(sibling, step)
        if sibling is not None and sibling.tag != "br":
            return False
    return True


def _pseudo_heading(node: Any) -> int:
    """Level of a stand-alone bold or <font size> line that reads as a title (short, no closing period)."""
    text = " ".join(_inline(node).split())
    if not text or len(text) > 100 or text.endswith((".", ",", ";", ":")) or not text[0].isupper():
        return 0
    size = ""
    for inner in [node, *node.css("font")]:
        size = size or (inner.attributes.get("size") or "") if inner.tag == "font" else size
    if size.lstrip("+").isdigit() and (int(size.lstrip("+")) >= 4 or size.startswith("+")):
        return 2
    bold = node.tag in ("b", "strong") or bool(node.css_first("b, strong"))
    return 3 if bold else 0
