"""PowerPoint presentations (PPTX) through python-pptx: one page per slide, its title a heading.

Body placeholders hold bullet points, so their paragraphs become list items (indent level kept);
other text boxes are paragraphs, tables readable rows. Speaker notes are left out: they are the
presenter's, not the slide's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.types import Page

from .reading import ReadingText


def load(path: Path, source: str) -> tuple[Page, ...]:
    from pptx import Presentation

    deck = Presentation(str(path))
    pages = []
    for number, slide in enumerate(deck.slides, start=1):
        out = ReadingText()
        title = slide.shapes.title
        if title is not None and title.has_text_frame and title.text_frame.text.strip():
            out.heading(title.text_frame.text, 1)
        for shape in _shapes(slide.shapes):
            if title is not None and shape.shape_id == title.shape_id:
                continue
            _shape(shape, out)
        pages.append(Page(source=source, page=number, text=out.text()))
    return tuple(pages)


def _shapes(shapes: Any) -> list[Any]:
    """Shapes in reading order (top to bottom, then left to right), groups opened."""
    flat: list[Any] = []
    for shape in shapes:
        if shape.shape_type is not None and int(shape.shape_type) == 6:  # MSO_SHAPE_TYPE.GROUP
            flat.extend(_shapes(shape.shapes))
        else:
            flat.append(shape)
    return sorted(flat, key=lambda s: ((s.top or 0) // 100_000, s.left or 0))


def _shape(shape: Any, out: ReadingText) -> None:
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
        out.table(rows, header=bool(shape.table.first_row))
        return
    if not getattr(shape, "has_text_frame", False) or not shape.has_text_frame:
        return
    bullets = bool(getattr(shape, "is_placeholder", False) and shape.is_placeholder)
    for paragraph in shape.text_frame.paragraphs:
        text = "".join(run.text for run in paragraph.runs) or paragraph.text
        if bullets:
            out.item(text, paragraph.level)
        else:
            out.end_list()
            out.paragraph(text)
    out.end_list()
