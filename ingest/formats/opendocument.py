"""OpenDocument text (ODT) through odfpy: headings, paragraphs, lists and tables in reading order.

odfpy is small, pure Python and the reader pandas uses for OpenDocument; the document is walked as its
XML tree, so nothing (sections, nested lists, header rows) depends on a higher-level API.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assistant.types import Page

from .reading import ReadingText

TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_HEADING_STYLE = re.compile(r"^(?:heading|kop)(?:_20_|\s)*(\d)$", re.I)
_TITLE_STYLE = re.compile(r"^(?:title|titel)$", re.I)
_SKIP = {(TEXT, "tracked-changes"), (TEXT, "sequence-decls"), (TEXT, "variable-decls"),
         (TEXT, "user-field-decls"), (TEXT, "table-of-content"), (TEXT, "alphabetical-index"),
         (TABLE, "table-columns"), (TABLE, "table-column")}


def load(path: Path, source: str) -> tuple[Page, ...]:
    from odf.opendocument import load as odf_load

    doc = odf_load(str(path))
    parents = _style_parents(doc)
    out = ReadingText()
    _walk(doc.text, out, parents)
    return (Page(source=source, page=None, text=out.text()),)


def _style_parents(doc: Any) -> dict[str, str]:
    parents: dict[str, str] = {}
    for root in (doc.styles, doc.automaticstyles):
        for node in root.childNodes:
            if getattr(node, "qname", None) == (STYLE, "style"):
                name = node.attributes.get((STYLE, "name"), "")
                parents[name] = node.attributes.get((STYLE, "parent-style-name"), "")
    return parents


def _style_level(name: str, parents: dict[str, str]) -> int:
    for _ in range(10):
        if not name:
            return 0
        match = _HEADING_STYLE.match(name)
        if match:
            return int(match.group(1))
        if _TITLE_STYLE.match(name):
            return 1
        name = parents.get(name, "")
    return 0


def _walk(node: Any, out: ReadingText, parents: dict[str, str]) -> None:
    for child in node.childNodes:
        qname = getattr(child, "qname", None)
        if qname is None or qname in _SKIP:
            continue
        if qname == (TEXT, "h"):
            level = int(child.attributes.get((TEXT, "outline-level"), "1") or 1)
            out.heading(_text(child), level)
        elif qname == (TEXT, "p"):
            level = _style_level(child.attributes.get((TEXT, "style-name"), ""), parents)
            if level:
                out.heading(_text(child), level)
            else:
                out.end_list()
                out.paragraph(_text(child))
        elif qname == (TEXT, "list"):
            _list(child, out, 0)
            out.end_list()
        elif qname == (TABLE, "table"):
            _table(child, out)
        else:  # sections, frames, soft page breaks: look inside
            _walk(child, out, parents)


def _list(node: Any, out: ReadingText, depth: int) -> None:
    for item in node.childNodes:
        if getattr(item, "qname", None) not in ((TEXT, "list-item"), (TEXT, "list-header")):
            continue
        for part in item.childNodes:
            qname = getattr(part, "qname", None)
            if qname == (TEXT, "list"):
                _list(part, out, depth + 1)
            elif qname in ((TEXT, "p"), (TEXT, "h")):
                out.item(_text(part), depth)


def _table(node: Any, out: ReadingText) -> None:
    rows: list[list[str]] = []
    header = False

    def collect(parent: Any, in_header: bool) -> None:
        nonlocal header
        for child in parent.childNodes:
            qname = getattr(child, "qname", None)
            if qname == (TABLE, "table-header-rows"):
                header = header or (not rows)
                collect(child, True)
            elif qname in ((TABLE, "table-rows"), (TABLE, "table-row-group")):
                collect(child, in_header)
            elif qname == (TABLE, "table-row"):
                rows.append([_text(cell) for cell in child.childNodes
                             if getattr(cell, "qname", None) == (TABLE, "table-cell")])

    collect(node, False)
    out.table(rows, header=header)


def _text(node: Any) -> str:
    """Text of an element: spaces (text:s), tabs and line breaks as ODF defines them; notes left out."""
    parts: list[str] = []

    def walk(n: Any) -> None:
        for child in n.childNodes:
            if child.nodeType == child.TEXT_NODE:
                parts.append(str(child.data))
                continue
            qname = getattr(child, "qname", None)
            if qname == (TEXT, "s"):
                parts.append(" " * int(child.attributes.get((TEXT, "c"), "1") or 1))
            elif qname == (TEXT, "tab"):
                parts.append("\t")
            elif qname == (TEXT, "line-break"):
                parts.append("\n")
            elif qname in ((TEXT, "note"), (TEXT, "annotation")):
                continue
            elif qname in ((TEXT, "p"), (TEXT, "h")):  # paragraphs inside a table cell
                if parts and not parts[-1].endswith("\n"):
                    parts.append("\n")
                walk(child)
            else:
                walk(child)

    walk(node)
    return "".join(parts)
