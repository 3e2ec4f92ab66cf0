"""Word documents (DOCX) through python-docx: body paragraphs and tables in reading order.

Headings (by style or outline level) become ``#`` lines, numbered and bulleted paragraphs list items,
tables readable rows. Headers, footers and comments are left out: they repeat or annotate, they do not
say anything a passage should. A DOCX has no fixed pages, so the document is one page (``page=None``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assistant.types import Page

from .reading import ReadingText

# Built-in style names (python-docx reports the English name also for a Dutch Word: "Heading 1", "Title");
# "Kop" covers documents whose styles were created under their Dutch names.
_HEADING_STYLE = re.compile(r"^(?:heading|kop)\s*(\d)$", re.I)
_TITLE_STYLE = re.compile(r"^(?:title|titel)$", re.I)
_LIST_STYLE = re.compile(r"^(?:list|lijst)", re.I)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def load(path: Path, source: str) -> tuple[Page, ...]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(str(path))
    out = ReadingText()
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            _paragraph(block, out)
        elif isinstance(block, Table):
            _table(block, out)
    return (Page(source=source, page=None, text=out.text()),)


def _paragraph(p: Any, out: ReadingText) -> None:
    text = p.text
    if not text.strip():
        return
    level = _heading_level(p)
    if level:
        out.heading(text, level)
        return
    depth = _list_depth(p)
    if depth is not None:
        out.item(text, depth)
        return
    out.end_list()
    out.paragraph(text)


def _styles(p: Any) -> list[Any]:
    """The paragraph's style and the styles it is based on (a custom heading style based on "Heading 2")."""
    chain: list[Any] = []
    style = p.style
    while style is not None and len(chain) < 10:
        chain.append(style)
        style = style.base_style
    return chain


def _heading_level(p: Any) -> int:
    for style in _styles(p):
        name = (style.name or "").strip()
        match = _HEADING_STYLE.match(name)
        if match:
            return max(1, int(match.group(1)))
        if _TITLE_STYLE.match(name):
            return 1
    # a direct outline level ("Niveau 1" in Word's paragraph dialog) makes a heading as well
    ppr = p._p.pPr
    outline = ppr.find(f"{_W}outlineLvl") if ppr is not None else None
    if outline is not None:
        value = int(outline.get(f"{_W}val", "9"))
        if value < 9:
            return value + 1
    return 0


def _list_depth(p: Any) -> int | None:
    ppr = p._p.pPr
    numpr = ppr.numPr if ppr is not None else None
    if numpr is not None:
        ilvl = numpr.ilvl
        return int(ilvl.val) if ilvl is not None and ilvl.val is not None else 0
    for style in _styles(p):
        if _LIST_STYLE.match(style.name or "") or style.element.find(f"{_W}pPr/{_W}numPr") is not None:
            return 0
    return None


def _table(table: Any, out: ReadingText) -> None:
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell is reported once per grid column it spans
                continue
            previous = cell._tc
            cells.append(cell.text)
        rows.append(cells)
    out.table(rows, header=_has_header(table))


def _has_header(table: Any) -> bool:
    """A repeated header row (Word's "herhaal als koprij") or a first row set entirely in bold."""
    if not table.rows:
        return False
    first = table.rows[0]
    trpr = first._tr.trPr
    if trpr is not None and trpr.find(f"{_W}tblHeader") is not None:
        return True
    runs = [r for cell in first.cells for p in cell.paragraphs for r in p.runs if r.text.strip()]
    return bool(runs) and all(r.bold for r in runs) and len(table.rows) > 1
