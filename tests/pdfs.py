"""Generate test PDFs on the fly (fpdf2 writes them, pypdf encrypts them): no binary fixtures in git."""

from __future__ import annotations

from pathlib import Path


def make_pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    """A text PDF with one string per page (Latin-1 range, so Dutch accents work with core fonts)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for i, text in enumerate(pages):
        pdf.add_page()
        if title and i == 0:
            pdf.set_font("Helvetica", style="B", size=14)
            pdf.multi_cell(0, 8, title)
            pdf.ln(4)
            pdf.set_font("Helvetica", size=11)
        for para in text.split("\n\n"):
            pdf.multi_cell(0, 6, para)
            pdf.ln(3)
    pdf.output(str(path))
    return path


def make_textless_pdf(path: Path, pages: int = 2) -> Path:
    """A 'scanned' PDF: drawings only, no text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.rect(20, 20, 100, 60, style="F")
    pdf.output(str(path))
    return path


def make_encrypted_pdf(path: Path, password: str = "geheim") -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(path.with_suffix(".plain.pdf"), ["Vertrouwelijke nota over integratie."])
    writer = PdfWriter()
    for page in PdfReader(str(plain)).pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password + "!", algorithm="RC4-128")
    with path.open("wb") as fh:
        writer.write(fh)
    plain.unlink()
    return path


def make_corrupt_pdf(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n\x00\xff garbage \x13\x37" * 3)
    return path
