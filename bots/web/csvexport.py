"""CSV for spreadsheets: what Belgian Excel opens with a double click, and no formulas smuggled in. Pure.

* UTF-8 with a byte-order mark: without it Excel reads the file as Windows-1252 and "financiële"
  comes out garbled.
* ``;`` between fields: Excel with Belgian (and Dutch, French, German) regional settings expects the
  list separator ``;``, because ``,`` is the decimal comma there; a ``,``-file opens as one column.
* Formula injection (CWE-1236): a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return would be run as a formula by Excel or LibreOffice (``=HYPERLINK(...)``,
  ``=cmd|' /C calc'!A0``). Such a cell gets a leading apostrophe, which spreadsheets show as text
  (OWASP's advice). Questions and comments are typed by anyone, so every text cell is escaped.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
DELIMITER = ";"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A value as a safe spreadsheet cell."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def when(epoch: float) -> str:
    """A timestamp as spreadsheets parse it (local time, ISO order)."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch)) if epoch else ""


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return BOM + out.getvalue()
