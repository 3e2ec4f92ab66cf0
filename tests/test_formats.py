"""The loader registry and every format: detection by content, reading text, headings, bad input.

Fast tests (fake embedder where an ingest runs); the real-model check that each format's fact is
found is in test_formats_real.py.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from assistant import index as idx
from assistant.config import Settings
from assistant.errors import DocumentError
from bots.texts import t
from bots.web.errors import ApiError
from bots.web.uploads import check_content
from ingest.budgets import Budgets, applied
from ingest.build import ingest
from ingest.chunking import chunk_pages
from ingest.formats import FORMATS, SUPPORTED_SUFFIXES, detect, for_suffix
from ingest.formats.layout import Line, body_size, compose, heading_levels, join_hyphenated
from ingest.formats.webpage import extract
from ingest.loaders import discover, load_document

from .documents import (
    SCAN_PAGES,
    make_blank_scan,
    make_corrupt_odt,
    make_docx,
    make_encrypted_docx,
    make_layout_pdf,
    make_odt,
    make_pptx,
    make_scanned_pdf,
)
from .fakes import FakeEmbedder
from .html_pages import EMPTY, MUST_KEEP, NAV_WORDS, PAGES
from .pdfs import make_pdf

# Tesseract's time per page in the tests that feed it speckle (it gives up on such a page either way)
OCR_PAGE_TIMEOUT_S = 3.0
BLOCKS = [("h1", "Onthaalbeleid"), ("p", "De gemeente verwelkomt nieuwkomers."), ("h2", "Taalcoaching"),
          ("p", "Elke nieuwkomer krijgt:"), ("li", "een taalcoach"), ("li", "tien gesprekken"),
          ("h2", "Premies"), ("th-table", [["Niveau", "Premie"], ["A2", "75 euro"], ["B1", "150 euro"]]),
          ("table", [["Loket", "Sociaal Huis"], ["Open", "maandag"]])]
EXPECTED = ("# Onthaalbeleid\n\nDe gemeente verwelkomt nieuwkomers.\n\n## Taalcoaching\n\nElke nieuwkomer krijgt:"
            "\n\n- een taalcoach\n- tien gesprekken\n\n## Premies\n\n- Niveau: A2; Premie: 75 euro\n"
            "- Niveau: B1; Premie: 150 euro\n\n- Loket | Sociaal Huis\n- Open | maandag")


# ---------------------------------------------------------------- registry

def test_every_format_is_named_in_the_messages_and_reachable_by_suffix() -> None:
    for fmt in FORMATS:
        assert fmt.label.split()[0] in t("doc.unsupported") or fmt.name.upper() in t("doc.unsupported"), fmt.name
        assert fmt.name.upper() in t("upload.bad_type") or fmt.label in t("upload.bad_type"), fmt.name
        for suffix in fmt.suffixes:
            assert for_suffix(f"nota{suffix.upper()}") is fmt and suffix in SUPPORTED_SUFFIXES


@pytest.mark.parametrize(("name", "make", "reason"), [
    ("nota.docx", lambda p: make_pdf(p, ["Een PDF met een verkeerde naam."]), "eigenlijk een PDF-bestand"),
    ("nota.pdf", lambda p: make_docx(p, BLOCKS), "eigenlijk een Word-bestand"),
    ("nota.odt", lambda p: make_docx(p, BLOCKS), "eigenlijk een Word-bestand"),
    ("nota.txt", lambda p: make_odt(p, BLOCKS), "eigenlijk een OpenDocument-tekstbestand"),
    ("nota.pptx", lambda p: p.write_text("gewone tekst", encoding="utf-8"), "eigenlijk een tekstbestand"),
    ("nota.docx", make_encrypted_docx, "beveiligd met een wachtwoord"),
    ("nota.docx", make_corrupt_odt, "eigenlijk een OpenDocument-tekstbestand"),
    ("nota.odt", lambda p: p.write_bytes(b"PK\x03\x04 afgebroken"), "beschadigd"),
    ("nota.docx", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)), "beschadigd"),
    ("nota.md", lambda p: p.write_bytes(b"tekst\x00binair"), "geen leesbare tekst"),
])
def test_content_decides_not_the_suffix(tmp_path: Path, name: str, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    make(path)
    with pytest.raises(DocumentError) as err:
        detect(path, name)
    assert reason in err.value.reason
    with pytest.raises(ApiError) as api:  # the upload check is the same rule, with the file named
        check_content(name, path)
    assert api.value.status == 422 and name in api.value.message and reason in api.value.message


def test_docx_zip_bomb_is_refused_from_its_directory_alone(tmp_path: Path) -> None:
    path = tmp_path / "bom.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as fh:
            block = bytes(1 << 20)
            for _ in range(600):
                fh.write(block)
    assert path.stat().st_size < 2 << 20
    with pytest.raises(DocumentError, match="zip-bom"):
        detect(path, "bom.docx")


def test_old_word_files_are_named_as_such(tmp_path: Path) -> None:
    """A Word 97 file renamed .docx: an OLE container with a WordDocument stream (made by renaming the one
    stream of an encrypted DOCX's container: name field and its length, as the compound file format has them)."""
    raw = bytearray(make_encrypted_docx(tmp_path / "x.docx").read_bytes())
    at = raw.find("EncryptedPackage".encode("utf-16-le"))
    assert at > 0
    name = "WordDocument".encode("utf-16-le")
    raw[at:at + 64] = name + bytes(64 - len(name))
    raw[at + 64:at + 66] = (len(name) + 2).to_bytes(2, "little")
    (tmp_path / "oud.docx").write_bytes(bytes(raw))
    with pytest.raises(DocumentError, match=r"oude formaat \(\.doc\)"):
        detect(tmp_path / "oud.docx", "oud.docx")


# ---------------------------------------------------------------- formats

@pytest.mark.parametrize("make", [make_docx, make_odt], ids=["docx", "odt"])
def test_word_and_opendocument_keep_headings_lists_and_tables(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path / f"nota.{make.__name__[5:]}", BLOCKS)
    doc = load_document(path, path.name)
    assert doc.kind == path.suffix[1:] and len(doc.pages) == 1 and doc.pages[0].page is None
    assert doc.pages[0].text == EXPECTED
    chunks = chunk_pages(doc.pages, explicit_headings=doc.explicit_headings)
    assert chunks and all(c.section.startswith("Onthaalbeleid") for c in chunks)


def test_pptx_slides_are_pages_with_their_titles_as_headings(tmp_path: Path) -> None:
    path = make_pptx(tmp_path / "d.pptx", [("Welkom", ["Eerste punt"]), ("Programma", ["Workshop", "Lunch"])])
    doc = load_document(path, "d.pptx")
    assert [(p.page, p.text) for p in doc.pages] == [(1, "# Welkom\n\n- Eerste punt"),
                                                    (2, "# Programma\n\n- Workshop\n- Lunch")]
    assert [c.section for c in chunk_pages(doc.pages, explicit_headings=True)] == ["Welkom", "Programma"]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_html_main_content_only(name: str) -> None:
    text = extract(PAGES[name])
    for needed in MUST_KEEP[name]:
        assert needed in text, needed
    for noise in NAV_WORDS:
        assert noise not in text, noise
    assert re.match(r"#{1,3} ", text), "the page title is a heading"


def test_html_headings_become_the_section_path(tmp_path: Path) -> None:
    (tmp_path / "p.html").write_text(PAGES["drupal"], encoding="utf-8")
    doc = load_document(tmp_path / "p.html", "p.html")
    chunks = chunk_pages(doc.pages, explicit_headings=doc.explicit_headings)
    premie = next(c for c in chunks if "200 euro" in c.text)
    assert premie.section.startswith("Nederlands leren in Lindegem")


def test_html_with_no_text_is_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "leeg.html").write_text(EMPTY, encoding="utf-8")
    with pytest.raises(DocumentError, match="geen hoofdtekst"):
        load_document(tmp_path / "leeg.html", "leeg.html")


def test_html_in_an_old_encoding_is_read_by_its_declared_charset(tmp_path: Path) -> None:
    html = '<html><head><meta charset="iso-8859-1"></head><body><main><p>Coördinatie van het onthaal in één loket.'
    (tmp_path / "oud.html").write_bytes(html.encode("latin-1"))
    assert "Coördinatie van het onthaal in één loket." in load_document(tmp_path / "oud.html", "oud.html").text


# ---------------------------------------------------------------- PDF text quality

def test_layout_pdf_reads_as_its_author_wrote_it(tmp_path: Path) -> None:
    doc = load_document(make_layout_pdf(tmp_path / "r.pdf"), "r.pdf")
    first, second = doc.pages[0].text, doc.pages[1].text
    assert "slaagt op niveau B1" in first
    assert "integratiebeleid steunt op anti-discriminatie en op school- en jeugdwerk" in first
    assert first.startswith("# Reglement taalpremie\n\n") and "\n\n# Artikel 1. Doel\n\n" in first
    assert "## Uitzonderingen" in second  # bold at body size: a heading one level down
    assert "pagina" not in doc.text  # the running footer is gone
    chunks = chunk_pages(doc.pages, explicit_headings=doc.explicit_headings)
    fact = next(c for c in chunks if "125 euro" in c.text)
    assert "slaagt op niveau B1" in fact.text and fact.section == "Artikel 1. Doel"
    headings = {"Reglement taalpremie", "Artikel 1. Doel", "Artikel 2. Aanvraag", "Uitzonderingen",
                "Artikel 3. Inwerkingtreding"}
    for c in chunks:
        assert set(c.section.split(" › ")) <= headings, c.section  # never body text
        assert doc.pages[c.page - 1].text[c.start:c.end].strip()  # offsets point into the page text


def test_scanned_pdf_is_read_by_ocr_with_page_numbers(tmp_path: Path) -> None:
    path = make_scanned_pdf(tmp_path / "scan.pdf", SCAN_PAGES, title="Nota onthaalbeleid")
    from pypdf import PdfReader

    assert not "".join(p.extract_text() for p in PdfReader(str(path)).pages).strip()  # truly image-only
    doc = load_document(path, "scan.pdf")
    assert [p.page for p in doc.pages] == [1, 2] and all(p.ocr for p in doc.pages)
    assert doc.pages[0].text.startswith("# Nota onthaalbeleid")
    assert "ontmoetingscentrum De Zwaluw" in doc.pages[1].text


@pytest.mark.parametrize("noise", [False, True], ids=["blank", "speckle"])
def test_a_scan_ocr_cannot_read_is_refused_with_a_reason(tmp_path: Path, noise: bool) -> None:
    path = make_blank_scan(tmp_path / "scan.pdf", noise=noise)
    # Tesseract can chew on speckle until its page time-out (45 s by default): a short one, same verdict
    with pytest.raises(DocumentError) as err, applied(Budgets(ocr_page_timeout_s=OCR_PAGE_TIMEOUT_S)):
        load_document(path, "scan.pdf")
    assert err.value.reason == t("doc.scan_unreadable")


@pytest.mark.parametrize(("left", "right", "joined"), [
    ("het integratie-", "beleid van de stad", "het integratiebeleid van de stad"),
    ("strijd tegen anti-", "discriminatie", "strijd tegen anti-discriminatie"),
    ("zowel school-", "en jeugdwerk", "zowel school- en jeugdwerk"),
    ("de OCMW-", "raad", "de OCMW-raad"),
    ("in Vlaams-", "Brabant", "in Vlaams-Brabant"),
    ("de zee-", "egel", "de zee-egel"),
    ("periode 2024-", "2025", "periode 2024-2025"),
])
def test_end_of_line_hyphens(left: str, right: str, joined: str) -> None:
    assert join_hyphenated(left, right) == joined


def test_the_document_decides_between_whole_and_hyphenated_words() -> None:
    assert join_hyphenated("het taal-", "beleid", {"taalbeleid"}) == "het taalbeleid"
    assert join_hyphenated("het taal-", "beleid", {"taal-beleid"}) == "het taal-beleid"


def test_lines_join_only_where_the_layout_broke_them() -> None:
    body = [Line("Daarom kent het college een premie toe voor wie slaagt op", 11, y=700),
            Line("niveau B1. Dat is een nieuwe regel.", 11, y=686),
            Line("De premie bedraagt:", 11, y=672),
            Line("- 125 euro voor B1", 11, y=658),
            Line("Korte regel", 11, y=644),
            Line("Nieuwe zin op een nieuwe regel.", 11, y=630)]
    text = compose(body, 11, {})
    assert text == ("Daarom kent het college een premie toe voor wie slaagt op niveau B1. Dat is een nieuwe regel.\n"
                    "De premie bedraagt:\n- 125 euro voor B1\nKorte regel\nNieuwe zin op een nieuwe regel.")


def test_headings_by_size_and_weight_never_body_text() -> None:
    lines = [Line("Hoofdstuk 1 Onthaal", 18, bold=True, y=800), Line("Artikel 1. Doel", 11, bold=True, y=770),
             Line("De stad wil inwoners die Nederlands leren, en daarom kent het college een", 11, y=750),
             Line("premie toe.", 11, y=736), Line("Een vette zin in de tekst zelf.", 11, bold=True, y=722)]
    body = body_size(lines)
    levels = heading_levels(lines, body)
    text = compose(lines, body, levels)
    assert text.split("\n\n")[:2] == ["# Hoofdstuk 1 Onthaal", "## Artikel 1. Doel"]
    assert "de stad wil" not in " ".join(ln for ln in text.splitlines() if ln.startswith("#")).lower()
    assert "Een vette zin in de tekst zelf." in text and "# Een vette" not in text


# ---------------------------------------------------------------- bad input in an ingest

def test_bad_files_of_every_format_are_skipped_by_name_and_the_index_stays(
        fake_index: Settings, fake_embedder: FakeEmbedder, tmp_path: Path) -> None:
    corpus = fake_index.corpus_dir
    published = idx.current_version(fake_index.index_dir)
    make_encrypted_docx(corpus / "beveiligd.docx")
    make_corrupt_odt(corpus / "kapot.odt")
    (corpus / "leeg.html").write_text(EMPTY, encoding="utf-8")
    make_blank_scan(corpus / "onleesbare-scan.pdf", noise=True)
    report = ingest(fake_index.with_(ocr_page_timeout_s=OCR_PAGE_TIMEOUT_S), embedder=fake_embedder)
    reasons = {s["source"]: s["reason"] for s in report.skipped}
    assert reasons == {"beveiligd.docx": t("doc.encrypted_office"), "kapot.odt": t("doc.corrupt", kind="ODT"),
                       "leeg.html": t("doc.html_no_text"), "onleesbare-scan.pdf": t("doc.scan_unreadable")}
    assert report.ok and report.documents == 5 and report.unchanged
    assert idx.current_version(fake_index.index_dir) == published
    idx.open_index(fake_index.index_dir)  # still whole


def test_discover_lists_every_supported_format(tmp_path: Path) -> None:
    for suffix in SUPPORTED_SUFFIXES:
        (tmp_path / f"a{suffix}").write_text("x")
    (tmp_path / "b.xlsx").write_text("x")
    found, skipped = discover(tmp_path)
    assert sorted(s for _, s in found) == sorted(f"a{s}" for s in SUPPORTED_SUFFIXES)
    assert skipped == [("b.xlsx", t("doc.unsupported"))]


def test_without_tesseract_a_scan_is_skipped_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.formats import ocr

    monkeypatch.setattr(ocr, "available", lambda: False)
    path = make_scanned_pdf(tmp_path / "scan.pdf", SCAN_PAGES[:1])
    with pytest.raises(DocumentError) as err:
        load_document(path, "scan.pdf")
    assert err.value.reason == t("doc.ocr_unavailable")
    mixed = make_pdf(tmp_path / "gemengd.pdf", ["Een pagina met een echte tekstlaag over het onthaal.", ""])
    assert [p.ocr for p in load_document(mixed, "gemengd.pdf").pages] == [False, False]
