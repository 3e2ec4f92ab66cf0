"""File formats: one module per format, one registry that recognises them (suffix + content).

    registry.py      Format, FORMATS, detect(), for_suffix(): the one place that knows the formats
    sniff.py         what the bytes are (PDF header, ZIP container type, OLE container, text)
    text.py          TXT and Markdown, and the text decoding rules every format shares
    pdf.py           PDF through pypdf (the only import of pypdf); layout.py rebuilds its reading text
    ocr.py           scanned pages: pypdfium2 renders, Tesseract reads
    word.py          DOCX (python-docx)        opendocument.py  ODT (odfpy)
    webpage.py       HTML main content (selectolax)    slides.py   PPTX (python-pptx)
    reading.py       the Markdown-like reading text structured formats emit
"""

from .registry import FORMATS, SUPPORTED_SUFFIXES, Format, detect, for_suffix, load_pages

__all__ = ["FORMATS", "SUPPORTED_SUFFIXES", "Format", "detect", "for_suffix", "load_pages"]
