"""The reading text structured formats emit: Markdown-like lines the chunker and the document view understand.

Headings become ``#`` lines (their level in the number of ``#``), list items ``- `` lines, table rows
readable lines (``Kolom: waarde; Kolom: waarde`` under a header row, else ``cel | cel``), and blocks are
separated by a blank line. Whitespace inside a block is collapsed, so a passage never holds layout noise.
"""

from __future__ import annotations

import re

_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_MAX_LEVEL = 6


def squash(text: str) -> str:
    """One line of text: every whitespace run (newlines too) becomes one space."""
    return _SPACE.sub(" ", text.replace("\n", " ").replace("\r", " ").replace("\x0b", " ")).strip()


class ReadingText:
    """Collects blocks in reading order; :meth:`text` joins them."""

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._in_list = False

    def heading(self, text: str, level: int = 1) -> None:
        text = squash(text)
        if text:
            self._add(f"{'#' * max(1, min(level, _MAX_LEVEL))} {text}")

    def paragraph(self, text: str) -> None:
        """A paragraph; explicit line breaks inside it are kept, other whitespace collapsed."""
        lines = [squash(line) for line in text.split("\n")]
        body = "\n".join(line for line in lines if line)
        if body:
            self._add(body)

    def item(self, text: str, depth: int = 0) -> None:
        text = squash(text)
        if text:
            self._add(f"{'  ' * max(0, min(depth, 4))}- {text}", in_list=True)

    def table(self, rows: list[list[str]], header: bool = False) -> None:
        """Rows as list items, so the chunker keeps them whole and with the text that introduces them."""
        cells = [[squash(c) for c in row] for row in rows]
        cells = [row for row in cells if any(row)]
        if not cells:
            return
        width = max(len(row) for row in cells)
        if width == 1:
            for row in cells:
                self.paragraph(row[0])
            return
        names = cells[0] if header and len(cells) > 1 else None
        for row in cells[1:] if names else cells:
            if names:
                pairs = [f"{n}: {v}" if n else v for n, v in zip(names, row, strict=False) if v]
                line = "; ".join(pairs)
            else:
                line = " | ".join(c for c in row if c)
            self.item(line)
        self.end_list()

    def end_list(self) -> None:
        self._in_list = False

    def _add(self, block: str, in_list: bool = False) -> None:
        if in_list and self._in_list and self._blocks:
            self._blocks[-1] += "\n" + block
        else:
            self._blocks.append(block)
        self._in_list = in_list

    def text(self) -> str:
        return "\n\n".join(self._blocks)

    def __bool__(self) -> bool:
        return bool(self._blocks)
