"""Text as every store can keep it. PostgreSQL refuses NUL (U+0000) in text and cannot encode lone surrogates;
SQLite takes both. :func:`storable` drops the one and replaces the other; the PostgreSQL layer applies it to every
string it sends (``assistant.stores.pg``), so a question, comment or conversation holding them is stored as in
file mode (less the NUL) instead of failing the request."""

from __future__ import annotations


def storable(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text
