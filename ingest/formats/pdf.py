"""PDF through pypdf: text page by page, with headings, paragraphs and hyphenation rebuilt from the layout.

The only module that imports pypdf. pypdf's text visitor reports every piece of text with its font and
position; :mod:`.layout` turns those lines into reading text. Pages without a text layer are scans:
they go to OCR (:mod:`.ocr`), keeping their page numbers.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from assistant.errors import DocumentError
from assistant.types import Page
from ingest.texts import t

from . import layout
from .layout import Line

MAX_PDF_PAGES = 2000
# Decompressed page content summed over one PDF. pypdf caps a single stream (75 MB), but a tiny file can
# point every page at the same inflating stream, and each page would be inflated and parsed again.
MAX_PDF_CONTENT_BYTES = 128 * 1024 * 1024
# A page with fewer letters and digits than this has no real text layer (a scan, maybe a stamped number).
MIN_TEXT_CHARS = 20
_BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demibold", "extrabold", "ultrabold")

# pypdf logs every recoverable oddity of a damaged file; the report names the file once instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def load(path: Path, source: str) -> tuple[Page, ...]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                # An empty user password (owner-restricted PDFs) opens; a real password does not.
                opened = bool(reader.decrypt(""))
            except (FileNotDecryptedError, DependencyError, NotImplementedError):
                opened = False
            if not opened:
                raise DocumentError(source, t("doc.encrypted"))
        n_pages = len(reader.pages)
        if n_pages > MAX_PDF_PAGES:
            raise DocumentError(source, t("doc.too_many_pages", pages=n_pages, limit=MAX_PDF_PAGES))
        drawn: list[list[Line]] = []
        budget = MAX_PDF_CONTENT_BYTES
        for page in reader.pages:
            budget -= _content_bytes(page)
            if budget < 0:
                raise DocumentError(source, t("doc.too_much_content", limit=MAX_PDF_CONTENT_BYTES >> 20))
            drawn.append(_lines(page))
    except DocumentError:
        raise
    except FileNotDecryptedError as exc:
        raise DocumentError(source, t("doc.encrypted")) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError,
            AssertionError, ZeroDivisionError, NotImplementedError) as exc:
        # pypdf signals damage with many exception types; all mean "not a readable PDF".
        raise DocumentError(source, t("doc.corrupt", kind="PDF")) from exc
    if not drawn:
        raise DocumentError(source, t("doc.empty"))
    return _pages(path, source, drawn)


def _pages(path: Path, source: str, drawn: list[list[Line]]) -> tuple[Page, ...]:
    scanned = [i for i, lines in enumerate(drawn) if _text_chars(lines) < MIN_TEXT_CHARS]
    ocr_lines: dict[int, list[Line]] = {}
    if scanned:
        from . import ocr

        ocr_lines = ocr.read_pages(path, source, scanned, has_text=len(scanned) < len(drawn))
    texts: dict[int, str] = {}
    # Text-layer pages and OCR pages are measured apart: points and pixels do not compare.
    for group in ([i for i in range(len(drawn)) if i not in ocr_lines], sorted(ocr_lines)):
        lines_of = {i: (ocr_lines[i] if i in ocr_lines else drawn[i]) for i in group}
        furniture = layout.repeated_furniture([lines_of[i] for i in group])
        cleaned = {i: layout.drop_furniture(lines, furniture) for i, lines in lines_of.items()}
        all_lines = [ln for lines in cleaned.values() for ln in lines]
        body = layout.body_size(all_lines)
        levels = layout.heading_levels(all_lines, body)
        vocab = layout.vocabulary(ln.text for ln in all_lines)
        for i, lines in cleaned.items():
            texts[i] = layout.compose(lines, body, levels, vocab)
    return tuple(Page(source=source, page=i + 1, text=texts.get(i, ""), ocr=i in ocr_lines)
                 for i in range(len(drawn)))


def _text_chars(lines: list[Line]) -> int:
    return sum(ch.isalnum() for ln in lines for ch in ln.text)


def _lines(page: Any) -> list[Line]:
    """The page's text as drawn lines, each with its dominant font size, weight and baseline."""
    lines: list[Line] = []
    state: dict[str, Any] = {"text": [], "sizes": {}, "bold": 0, "chars": 0, "y": None}

    def close() -> None:
        text = "".join(state["text"])
        if text.strip():
            sizes: dict[float, int] = state["sizes"]
            size = max(sizes, key=lambda s: sizes[s]) if sizes else 0.0
            lines.append(Line(text=text, size=size, bold=state["bold"] * 2 > state["chars"], y=state["y"]))
        state.update(text=[], sizes={}, bold=0, chars=0, y=None)

    def visit(text: str, cm: Any, tm: Any, font: Any, font_size: Any) -> None:
        if not text:
            return
        parts = text.split("\n")
        for k, part in enumerate(parts):
            if k:
                close()
            if not part:
                continue
            state["text"].append(part)
            n = sum(not ch.isspace() for ch in part)
            if not n:
                continue
            size, y = _geometry(cm, tm, font_size)
            state["sizes"][size] = state["sizes"].get(size, 0) + n
            state["chars"] += n
            if _is_bold(font):
                state["bold"] += n
            if state["y"] is None:
                state["y"] = y

    page.extract_text(visitor_text=visit)
    close()
    return lines


def _geometry(cm: Any, tm: Any, font_size: Any) -> tuple[float, float | None]:
    """Effective font size (Tf size scaled by the text and current matrices) and baseline y."""
    try:
        a, b, c, d, e, f = (float(x) for x in tm)
        ca, cb, cc, cd, ce, cf = (float(x) for x in cm)
        # the vertical axis of tm x cm (row-vector convention, as in the PDF specification)
        vy_x = c * ca + d * cc
        vy_y = c * cb + d * cd
        scale = math.hypot(vy_x, vy_y) or 1.0
        y = e * cb + f * cd + cf
        return round(float(font_size) * scale, 1), y
    except (TypeError, ValueError):
        return round(float(font_size or 0), 1), None


def _is_bold(font: Any) -> bool:
    """Bold by the font's name ("Helvetica-Bold", "ABCDEF+Arial-BoldMT") or its descriptor's weight."""
    if font is None:
        return False
    try:
        font = font.get_object()
        name = str(font.get("/BaseFont", "")).lower()
        if any(word in name for word in _BOLD_NAMES):
            return True
        descriptor = font.get("/FontDescriptor")
        if descriptor is None and "/DescendantFonts" in font:
            descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        if descriptor is not None:
            descriptor = descriptor.get_object()
            if float(descriptor.get("/FontWeight", 0) or 0) >= 600:
                return True
            return bool(int(descriptor.get("/Flags", 0) or 0) & (1 << 18))  # ForceBold
    except Exception:  # a damaged font dictionary only costs the bold hint
        return False
    return False


def _content_bytes(page: Any) -> int:
    """Size of a page's decompressed content stream (inflated, not parsed; freed before text extraction).

    A stream that cannot be decoded counts 0: the text extraction right after meets the same stream and
    decides, as before the budget existed (pypdf raises many types here, NotImplementedError among them).
    """
    try:
        contents = page.get_contents()
        return len(contents.get_data()) if contents is not None else 0
    except Exception:
        return 0
