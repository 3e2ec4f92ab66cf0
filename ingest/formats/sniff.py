"""What a file really is, judged by its bytes: PDF header, ZIP container type, OLE container, or text.

Suffixes can lie (a renamed file, a hostile upload); the registry compares this verdict with the format
the suffix promises. Only headers and the ZIP directory are read here, never a compressed member, so
a ZIP bomb costs nothing to recognise.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from .text import decode

PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Office documents inflate to a few MB; a member list that promises more is a ZIP bomb, not a document.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 20_000
ODF_TEXT = "application/vnd.oasis.opendocument.text"

# OLE (Compound File) streams that tell what an old-style Office file holds.
_OLE_KINDS = (("EncryptedPackage", "encrypted-office", ""), ("WordDocument", "legacy-office", ".doc"),
              ("PowerPoint Document", "legacy-office", ".ppt"), ("Workbook", "legacy-office", ".xls"))


@dataclass(frozen=True)
class Content:
    """The verdict. ``kind`` is a format's content name ("pdf", "docx", "odt", "pptx", "text") or a problem:
    "empty", "binary", "zip" (another archive), "archive-too-large", "encrypted-office", "legacy-office", "ole".
    """

    kind: str
    detail: str = ""


def sniff(path: Path) -> Content:
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(1024)
    if not head:
        return Content("empty")
    if head.startswith(PDF_MAGIC):
        # At offset 0 only: readers that accept junk before the header (PDF 1.7 allowed 1 KiB of it) also
        # let any file that mentions "%PDF-" pass as a PDF and reach the PDF parser and OCR.
        return Content("pdf")
    if head.startswith(ZIP_MAGIC):
        return _zip(path)
    if head.startswith(OLE_MAGIC):
        return _ole(path)
    return Content("text") if decode(path.read_bytes()) is not None else Content("binary")


def _zip(path: Path) -> Content:
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
            if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                return Content("archive-too-large")
            names = {m.filename for m in members}
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return Content("docx")
            if "[Content_Types].xml" in names and "ppt/presentation.xml" in names:
                return Content("pptx")
            if "mimetype" in names and z.getinfo("mimetype").file_size <= 200:
                mimetype = z.read("mimetype").decode("ascii", "replace").strip()
                if mimetype == ODF_TEXT:
                    return Content("odt")
                return Content("zip", mimetype)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return Content("zip", "damaged")
    return Content("zip")


def _ole(path: Path) -> Content:
    """Old Office files and password-protected new ones share the OLE container; its streams tell them apart."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            for stream, kind, detail in _OLE_KINDS:
                if ole.exists(stream):
                    return Content(kind, detail)
    except (OSError, ValueError, IndexError, KeyError, TypeError, RecursionError):
        pass
    return Content("ole")
