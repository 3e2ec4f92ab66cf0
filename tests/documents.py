"""Generate test documents of every supported format on the fly: no binary fixtures in git.

DOCX through python-docx, ODT through odfpy, PPTX through python-pptx; an image-only "scan" is a text
PDF (fpdf2) rendered to pictures (pypdfium2) and wrapped in a new PDF with no text layer.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

Block = tuple[str, object]  # ("h1".."h3", text) | ("p", text) | ("li", text) | ("table", rows) | ("th-table", rows)


def make_docx(path: Path, blocks: list[Block]) -> Path:
    import docx

    document = docx.Document()
    for kind, value in blocks:
        if kind.startswith("h"):
            document.add_heading(str(value), level=int(kind[1:]))
        elif kind == "p":
            document.add_paragraph(str(value))
        elif kind == "li":
            document.add_paragraph(str(value), style="List Bullet")
        elif kind in ("table", "th-table"):
            rows = value if isinstance(value, list) else []
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = str(cell)
                    if kind == "th-table" and r == 0:
                        for run in table.cell(r, c).paragraphs[0].runs:
                            run.bold = True
    document.save(str(path))
    return path


def make_odt(path: Path, blocks: list[Block]) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableHeaderRows, TableRow
    from odf.text import H, List, ListItem, P

    doc = OpenDocumentText()
    open_list = None
    for kind, value in blocks:
        if kind != "li":
            open_list = None
        if kind.startswith("h"):
            doc.text.addElement(H(outlinelevel=int(kind[1:]), text=str(value)))
        elif kind == "p":
            doc.text.addElement(P(text=str(value)))
        elif kind == "li":
            if open_list is None:
                open_list = List()
                doc.text.addElement(open_list)
            item = ListItem()
            item.addElement(P(text=str(value)))
            open_list.addElement(item)
        elif kind in ("table", "th-table"):
            rows = value if isinstance(value, list) else []
            table = Table(name=f"Tabel{id(value)}")
            table.addElement(TableColumn(numbercolumnsrepeated=len(rows[0])))
            for r, row in enumerate(rows):
                tr = TableRow()
                for cell in row:
                    tc = TableCell()
                    tc.addElement(P(text=str(cell)))
                    tr.addElement(tc)
                if kind == "th-table" and r == 0:
                    header = TableHeaderRows()
                    header.addElement(tr)
                    table.addElement(header)
                else:
                    table.addElement(tr)
            doc.text.addElement(table)
    doc.save(str(path))
    return path


def make_pptx(path: Path, slides: list[tuple[str, list[str]]]) -> Path:
    from pptx import Presentation

    deck = Presentation()
    for title, bullets in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0] if bullets else ""
        for bullet in bullets[1:]:
            body.add_paragraph().text = bullet
    deck.save(str(path))
    return path


def make_scanned_pdf(path: Path, pages: list[str], title: str | None = None, dpi: int = 200) -> Path:
    """An image-only PDF: each page is a picture of printed text, slightly skewed like a real scan."""
    import pypdfium2 as pdfium
    from fpdf import FPDF
    from PIL import Image

    from .pdfs import make_pdf

    source = make_pdf(path.with_suffix(".bron.pdf"), pages, title=title)
    images: list[Image.Image] = []
    pdf = pdfium.PdfDocument(str(source))
    try:
        for page in pdf:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            images.append(image.rotate(0.4, resample=Image.Resampling.BICUBIC, fillcolor=255, expand=False))
            page.close()
    finally:
        pdf.close()
    source.unlink()
    out = FPDF(unit="pt", format="A4")
    for image in images:
        out.add_page()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        out.image(buffer, x=0, y=0, w=out.w, h=out.h)
    out.output(str(path))
    return path


def make_blank_scan(path: Path, noise: bool = False) -> Path:
    """An image-only PDF OCR cannot read: an empty sheet, or one covered in speckle."""
    import random

    from fpdf import FPDF
    from PIL import Image

    image = Image.new("L", (1240, 1754), 255)
    if noise:
        rng = random.Random(7)
        pixels = image.load()
        assert pixels is not None
        for _ in range(60_000):
            pixels[rng.randrange(1240), rng.randrange(1754)] = rng.randrange(0, 120)
    out = FPDF(unit="pt", format="A4")
    out.add_page()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    out.image(buffer, x=0, y=0, w=out.w, h=out.h)
    out.output(str(path))
    return path


def make_encrypted_docx(path: Path, password: str = "geheim") -> Path:
    """A password-protected DOCX as Word writes it: the package encrypted inside an OLE container."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = make_docx(path.with_suffix(".plain.docx"), [("h1", "Vertrouwelijk"), ("p", "Geheime nota.")])
    with plain.open("rb") as src, path.open("wb") as dst:
        OOXMLFile(src).encrypt(password, dst)
    plain.unlink()
    return path


def make_corrupt_odt(path: Path) -> Path:
    """An ODT whose container is fine but whose content.xml breaks off halfway."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest xmlns:manifest='
                   '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
        z.writestr("content.xml", '<?xml version="1.0"?><office:document-content xmlns:office='
                   '"urn:oasis:names:tc:opendocument:xmlns:office:1.0"><office:body><office:text><text:p')
    return path


# ---------------------------------------------------------------- one document per format, each with its own fact

LAYOUT_PDF_BODY = (
    "De stad wil inwoners die Nederlands leren aanmoedigen. Daarom kent het college een taalpremie van "
    "125 euro toe aan iedere inwoner van Kortemark voor wie slaagt op niveau B1 van het Europees "
    "Referentiekader voor talen, op voorwaarde dat die inwoner minstens een jaar in de stad woont."
)


def make_layout_pdf(path: Path) -> Path:
    """A text PDF as a word processor lays it out: a large bold heading per article, body text wrapped
    by the layout (the B1 fact breaks across two lines), hand-hyphenated line ends, and a running
    footer with page numbers."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)

    def heading(text: str) -> None:
        pdf.set_font("Helvetica", style="B", size=16)
        pdf.multi_cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    def lines(rows: list[str]) -> None:
        pdf.set_font("Helvetica", size=11)
        for row in rows:
            pdf.cell(0, 6, row, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)

    def footer(n: int) -> None:
        pdf.set_y(-15)
        pdf.set_font("Helvetica", size=8)
        pdf.cell(0, 5, f"Reglement taalpremie Kortemark - pagina {n}", align="C")

    pdf.add_page()
    heading("Reglement taalpremie")
    lines(["Dit reglement regelt de premie voor inwoners die Nederlands leren. Het lokale integratie-",
           "beleid steunt op anti-",
           "discriminatie en op school- en jeugdwerk, en op samenwerking met het Agentschap Integratie en",
           "Inburgering."])
    heading("Artikel 1. Doel")
    lines(["De stad wil inwoners die Nederlands leren aanmoedigen. Daarom kent het college een taalpremie",
           "van 125 euro toe aan iedere inwoner van Kortemark voor wie slaagt op",
           "niveau B1 van het Europees Referentiekader voor talen, op voorwaarde dat die inwoner minstens",
           "een jaar in de stad woont."])
    footer(1)
    pdf.add_page()
    heading("Artikel 2. Aanvraag")
    lines(["De aanvraag gebeurt binnen drie maanden na het slagen, met een kopie van het attest. De",
           "dienst Samenleven beslist binnen een maand en betaalt de premie op de rekening van de",
           "aanvrager."])
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.cell(0, 6, "Uitzonderingen", new_x="LMARGIN", new_y="NEXT")
    lines(["Wie de premie al eerder ontving voor hetzelfde niveau, kan ze geen tweede keer krijgen."])
    footer(2)
    pdf.add_page()
    heading("Artikel 3. Inwerkingtreding")
    lines(["Dit reglement treedt in werking op 1 januari 2026."])
    footer(3)
    pdf.output(str(path))
    return path


SCAN_PAGES = [
    "Onthaal van nieuwkomers in Zwalmbeek\n\nDe gemeente Zwalmbeek ontvangt nieuwkomers op het sociaal "
    "huis. Een maatschappelijk werker legt uit hoe de inschrijving verloopt en welke documenten nodig zijn.",
    "Buddywerking\n\nSinds januari koppelt de gemeente Zwalmbeek elke nieuwkomer aan een buddy. De buddy's "
    "komen samen in het ontmoetingscentrum De Zwaluw, op de tweede donderdag van elke maand. Wie buddy wil "
    "worden, meldt zich aan bij de dienst Samenleven.",
]


def fact_documents(directory: Path) -> dict[str, tuple[str, int | None]]:
    """One document per format in ``directory``, each holding a fact no other document has.

    Returns {file name: (question about its fact, page the fact is on or None)}.
    """
    from .html_pages import DRUPAL

    make_docx(directory / "onthaalbeleid-zonnebeke.docx", [
        ("h1", "Onthaalbeleid Zonnebeke 2025"),
        ("p", "De gemeente Zonnebeke verwelkomt nieuwkomers met een persoonlijk onthaalgesprek."),
        ("h2", "Taalcoaching"),
        ("p", "Elke nieuwkomer in Zonnebeke krijgt een taalcoach:"),
        ("li", "een vrijwilliger uit de eigen buurt"),
        ("li", "twaalf oefengesprekken per jaar in het dorpshuis Het Klaverblad"),
        ("h2", "Budget"),
        ("th-table", [["Post", "Bedrag"], ["Vorming taalcoaches", "4.000 euro"], ["Onthaalpakket", "1.500 euro"]]),
    ])
    make_odt(directory / "fietsles-herselt.odt", [
        ("h1", "Fietslessen voor nieuwkomers in Herselt"),
        ("p", "Veel nieuwkomers hebben nooit leren fietsen. Het OCMW van Herselt organiseert daarom elke "
              "maand een fietsles op het sportterrein De Vlonder."),
        ("h2", "Praktisch"),
        ("li", "Fietsen en helmen worden voorzien"),
        ("li", "Inschrijven bij het Sociaal Huis"),
    ])
    (directory / "nederlands-leren-lindegem.html").write_text(DRUPAL, encoding="utf-8")
    make_scanned_pdf(directory / "nota-onthaal-zwalmbeek.pdf", SCAN_PAGES, title="Nota onthaalbeleid")
    make_layout_pdf(directory / "reglement-taalpremie-kortemark.pdf")
    make_pptx(directory / "vormingsdag-taalondersteuning.pptx", [
        ("Vormingsdag taalondersteuning", ["Voor medewerkers van lokale besturen"]),
        ("Programma", ["Workshop taalbewust communiceren door Marieke Lievens", "Lunch in zaal De Schelde"]),
    ])
    return {
        "onthaalbeleid-zonnebeke.docx": ("Hoeveel oefengesprekken per jaar krijgt een nieuwkomer in Zonnebeke?",
                                         None),
        "fietsles-herselt.odt": ("Waar geeft Herselt fietsles aan nieuwkomers?", None),
        "nederlands-leren-lindegem.html": ("Wanneer is het taalcafé in bibliotheek De Linde?", None),
        "nota-onthaal-zwalmbeek.pdf": ("Waar komen de buddy's van Zwalmbeek samen?", 2),
        "reglement-taalpremie-kortemark.pdf": ("Hoeveel bedraagt de taalpremie in Kortemark voor niveau B1?", 1),
        "vormingsdag-taalondersteuning.pptx": ("Wie geeft de workshop taalbewust communiceren?", 2),
    }
