"""Small hostile files that cost a reader far more than their size (issue 20, item 7): built on the fly.

Used by tests/test_budgets.py (with small budgets) and bench/hostile_files.py (with the real ones).
"""

from __future__ import annotations

import zipfile
from pathlib import Path


def make_page_bomb_pdf(path: Path, side_pt: int = 7200) -> Path:
    """A few hundred bytes: one page of ``side_pt`` x ``side_pt`` points (7200 is the most PDF allows), no
    text layer, a few inked bars, so OCR renders it. At 300 DPI that is 30,000 x 30,000 pixels."""
    content = (b"0 g " + b" ".join(f"{x} {side_pt // 4} {side_pt // 50} {side_pt // 2} re f".encode()
                                   for x in range(side_pt // 10, side_pt - side_pt // 10, side_pt // 8)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {side_pt} {side_pt}] /Contents 4 0 R >>".encode(),
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


_ODT_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""
_SENTENCE = ("Het college van burgemeester en schepenen besliste in zitting {i} over het dossier van de "
             "integratieraad, de werking van het onthaalbureau en de subsidies voor de buurtwerking. ")


def make_expanding_odt(path: Path, paragraphs: int = 60_000) -> Path:
    """Tens of KB that inflate to megabytes of paragraphs: thousands of passages from one small upload."""
    body = "".join(f"<text:p>{_SENTENCE.format(i=i % 50)}</text:p>" for i in range(paragraphs))
    content = ('<?xml version="1.0" encoding="UTF-8"?>'
               '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               f"<office:body><office:text>{body}</office:text></office:body></office:document-content>")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("META-INF/manifest.xml", _ODT_MANIFEST, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return path


def make_expanding_docx(path: Path, rows: int = 4000, cols: int = 60) -> Path:
    """A DOCX of a few hundred KB whose one table has rows x cols cells: python-docx builds a proxy per cell
    and walks the grid per row, minutes and gigabytes for a file that fits in an e-mail."""
    import docx

    document = docx.Document()
    document.add_paragraph("Overzicht van de zittingen")
    document.save(str(path))
    cell = '<w:tc><w:tcPr><w:tcW w:w="100" w:type="dxa"/></w:tcPr><w:p><w:r><w:t>{v}</w:t></w:r></w:p></w:tc>'
    row = "<w:tr>" + "".join(cell.format(v=c % 10) for c in range(cols)) + "</w:tr>"
    grid = "<w:tblGrid>" + '<w:gridCol w:w="100"/>' * cols + "</w:tblGrid>"
    table = f"<w:tbl><w:tblPr/>{grid}{row * rows}</w:tbl>"
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    xml = members["word/document.xml"].decode("utf-8")
    members["word/document.xml"] = xml.replace("<w:sectPr", table + "<w:p/><w:sectPr", 1).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data, compresslevel=9)
    return path


def make_nested_html(path: Path, megabytes: float = 4.0) -> Path:
    """An HTML page of nested elements, ``megabytes`` large: a deep tree every walk over it pays for."""
    unit = "<div><span>tekst "
    depth = int(megabytes * 1024 * 1024) // len(unit)
    path.write_text("<!doctype html><html><body><main>" + unit * depth + "</main></body></html>", encoding="utf-8")
    return path


def make_pdf_magic_late(path: Path) -> Path:
    """A text file that mentions ``%PDF-`` in its first KiB: not a PDF, whatever its suffix says."""
    path.write_bytes(b"Dit is een gewone nota over het formaat %PDF-1.7 en verder niets.\n" * 4)
    return path
