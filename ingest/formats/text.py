"""Plain text and Markdown: one page, decoded by the rules every text format shares."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.errors import DocumentError
from assistant.types import Page
from ingest.texts import t

_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{2,40})""", re.I)


def decode(raw: bytes, html: bool = False) -> str | None:
    """The text of ``raw``, or None when it is not text (NUL bytes, or no encoding we accept).

    UTF-8 (with or without BOM) first; an HTML page's declared charset next; then Windows-1252, because
    documents saved on Windows in the old Western encoding are common in municipalities.
    """
    if b"\x00" in raw:
        return None
    declared = _CHARSET.search(raw[:4096]) if html else None
    for encoding in ["utf-8-sig"] + ([declared.group(1).decode("ascii")] if declared else []) + ["cp1252"]:
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return None


def read_text(path: Path, source: str, html: bool = False) -> str:
    """Decoded text of a file; DocumentError when it is not readable text."""
    text = decode(Path(path).read_bytes(), html=html)
    if text is None:
        raise DocumentError(source, t("doc.not_utf8"))
    return text


def load(path: Path, source: str) -> tuple[Page, ...]:
    return (Page(source=source, page=None, text=read_text(path, source)),)
