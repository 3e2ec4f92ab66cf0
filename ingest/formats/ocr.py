"""OCR for scanned PDF pages: pypdfium2 renders, Tesseract (Debian's tesseract-ocr + tesseract-ocr-nld) reads.

pypdfium2 is a PyPI wheel with PDFium inside: no extra system package, and it renders a page in tens
of milliseconds. pytesseract runs the ``tesseract`` binary and returns word boxes with confidences,
which give the lines their size (for headings) and tell a readable scan from a blank or noisy one.
"""

from __future__ import annotations

import logging
import re
import shutil
import statistics
from pathlib import Path
from typing import Any

from assistant.errors import DocumentError
from ingest.texts import t

from ..budgets import allow_more_time, current
from .layout import Line

log = logging.getLogger(__name__)

DPI = 300  # Tesseract's accuracy drops below ~300 DPI for body-size print
LANGUAGES = "nld+eng"  # Dutch first; English for the odd title or quote
MAX_OCR_PAGES = 300  # per document: at a few seconds a page, more is a job for a dedicated OCR run
OCR_SECONDS_PER_PAGE = 15  # added to a document's parse-time budget per scanned page (ingest/budgets.py)
MIN_WORD_CONFIDENCE = 30  # below this a "word" is mostly speckle
MIN_GOOD_WORDS = 5  # a readable page has at least this many confident words of two letters or more
GOOD_CONFIDENCE = 60
MIN_MEAN_CONFIDENCE = 65  # clean print reads at ~95 on average, garbage from noise or tiny print at ~50
BLANK_CONTRAST = 40  # grey levels between darkest and lightest pixel (speckle filtered out): less is empty
MIN_INK = 0.0002  # share of dark pixels left after the filter; one short printed line has ~0.1 %
_LETTERS = re.compile(r"[^\W\d_]{2,}")
# Word box height as a share of the font size, by the letters it holds: x-height only ("een"), with
# ascenders or capitals ("Gent"), with descenders ("jaar"), with both ("Belgij"). Lets a title in
# capitals-and-x-height compare with body lines full of descenders.
_ASCENDERS = set("bdfhklt0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZÀÁÂÄÈÉÊËÌÍÎÏÒÓÔÖÙÚÛÜ'\"()[]/|!?")
_DESCENDERS = set("gjpqy(),;[]|/")
_EM_SHARE = {(False, False): 0.50, (True, False): 0.72, (False, True): 0.72, (True, True): 0.95}


def available() -> bool:
    return shutil.which("tesseract") is not None


def read_pages(path: Path, source: str, indices: list[int], has_text: bool) -> dict[int, list[Line]]:
    """OCR'd lines for the pages ``indices`` (0-based) of the PDF at ``path``.

    Pages OCR cannot read (blank, noise) come back empty. When the document has no text layer at all
    and nothing could be read, it raises DocumentError with the reason; likewise when Tesseract is
    missing or the document has too many scanned pages.
    """
    if not available():
        if has_text:
            log.warning("%s: %d scanned pages skipped, tesseract is not installed", source, len(indices))
            return {}
        raise DocumentError(source, t("doc.ocr_unavailable"))
    if len(indices) > MAX_OCR_PAGES:
        raise DocumentError(source, t("doc.too_many_scanned_pages", pages=len(indices), limit=MAX_OCR_PAGES))
    import pypdfium2 as pdfium

    allow_more_time(OCR_SECONDS_PER_PAGE * len(indices))  # the parse-time budget grows with the scanned pages

    out: dict[int, list[Line]] = {}
    pdf = pdfium.PdfDocument(str(path))
    try:
        max_pixels = current().ocr_max_megapixels * 1_000_000
        for index in indices:
            page = pdf[index]
            try:
                width, height = page.get_size()
                scale = render_scale(width, height, max_pixels)
                image = page.render(scale=scale, grayscale=True).to_pil()
            finally:
                page.close()
            out[index] = read_image(image, dpi=scale * 72)
    finally:
        pdf.close()
    if not has_text and not any(out.values()):
        raise DocumentError(source, t("doc.scan_unreadable"))
    return out


def render_scale(width_pt: float, height_pt: float, max_pixels: float) -> float:
    """Pixels per point to render a page at: DPI, or less when the page would exceed ``max_pixels``.

    A page of 7200 x 7200 points (the largest PDF allows) at 300 DPI is 900 million pixels, gigabytes
    of memory for one bitmap and its copies; the pixel budget renders it coarser instead (text that
    small on such a page is not worth a job's memory).
    """
    scale = DPI / 72
    area = max(width_pt, 1.0) * max(height_pt, 1.0)
    if area * scale * scale > max_pixels:
        scale = (max_pixels / area) ** 0.5
    return scale


def read_image(image: Any, dpi: float = DPI) -> list[Line]:
    """The lines Tesseract reads in a page image; empty for a blank page or one it cannot read."""
    import pytesseract
    from PIL import ImageFilter

    gray = image.convert("L")
    # A median filter removes isolated speckle: a blank sheet with dust or scanner noise is blank, and
    # Tesseract never spends its time-out on it.
    cleaned = gray.filter(ImageFilter.MedianFilter(3))
    low, high = cleaned.getextrema()
    dark = sum(cleaned.histogram()[:128]) / max(1, cleaned.width * cleaned.height)
    if high - low < BLANK_CONTRAST or dark < MIN_INK:
        return []
    try:
        data = pytesseract.image_to_data(gray, lang=LANGUAGES, config="--psm 3",
                                         output_type=pytesseract.Output.DICT,
                                         timeout=current().ocr_page_timeout_s)
    except RuntimeError as exc:  # pytesseract's timeout
        log.warning("OCR gave up on a page: %s", exc)
        return []
    words: dict[tuple[int, int, int], list[tuple[str, int, int]]] = {}
    paragraphs: dict[tuple[int, int], int] = {}
    good = 0
    confidences = []
    for i, text in enumerate(data["text"]):
        conf = float(data["conf"][i])
        text = (text or "").strip()
        if not text or conf < MIN_WORD_CONFIDENCE:
            continue
        confidences.append(conf)
        if conf >= GOOD_CONFIDENCE and _LETTERS.search(text):
            good += 1
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        words.setdefault(key, []).append((text, int(data["top"][i]), int(data["height"][i])))
        paragraphs.setdefault(key[:2], len(paragraphs))
    if good < MIN_GOOD_WORDS or statistics.mean(confidences) < MIN_MEAN_CONFIDENCE:
        return []
    scale = 72 / dpi
    height = gray.height
    lines = []
    for key in sorted(words):  # Tesseract's reading order: block, paragraph, line
        row = words[key]
        size = statistics.median(_font_size(text, h) for text, _, h in row) * scale
        bottom = statistics.median(w[1] + w[2] for w in row)
        lines.append(Line(text=" ".join(w[0] for w in row), size=round(size, 1), y=(height - bottom) * scale,
                          paragraph=paragraphs[key[:2]]))
    return lines


def _font_size(word: str, height: int) -> float:
    """The font size (in pixels) a word box of ``height`` implies, given which letters stick out."""
    letters = set(word)
    return height / _EM_SHARE[(bool(letters & _ASCENDERS), bool(letters & _DESCENDERS))]
