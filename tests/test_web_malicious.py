"""Hostile uploads through the real HTTP path: traversal names, a zip bomb, 200 MB, 10,000 pages, a PDF bomb.

Each is refused, or stored safely and then handled at re-index with a clear Dutch reason, within a
bounded time; the tests that measure memory run the service as its own process
(``tests/web_fake_server.py``, fake embedder) and read its peak RSS (VmHWM) from /proc.
"""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.config import Settings
from assistant.errors import DocumentError
from bots.texts import t
from bots.web import create_app
from ingest import loaders

from .fakes import FakeEmbedder
from .pdfs import make_pdf
from .web_errors import assert_dutch_error as assert_error_body
from .web_process import ServerProcess, open_fds, proc_status, stream_upload
from .web_support import until_serving

pytestmark = pytest.mark.timeout(300)

TOKEN = "kwaadaardig-beheer-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
BOUNDARY = "wegwijzer-grens"
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,103}\.(pdf|txt|md)")
MB = 1024 * 1024


def multipart(filename: bytes, content: bytes) -> tuple[bytes, dict[str, str]]:
    """A multipart body written by hand, so the file name reaches the server byte for byte."""
    body = (b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="file"; filename="' + filename
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + content + b"\r\n--" + BOUNDARY.encode()
            + b"--\r\n")
    return body, {**ADMIN, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def assert_dutch_error(response: Any) -> dict[str, str]:
    code, message = assert_error_body(response.json(), response.request.url.path)
    return {"code": code, "message": message}


def snapshot(root: Path, skip: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` outside ``skip``, with size and mtime: what an upload must not touch."""
    out = {}
    for path in root.rglob("*"):
        if any(path == s or s in path.parents for s in skip):
            continue
        st_ = path.lstat()
        out[str(path)] = (st_.st_size, st_.st_mtime_ns)
    return out


@pytest.fixture
def web(fake_index: Settings, fake_embedder: FakeEmbedder) -> Iterator[TestClient]:
    # Hundreds of hostile uploads from one client: rate limits off here (tests/test_web_hardening.py has them).
    app = create_app(fake_index.with_(admin_token=TOKEN, upload_rate_limit=0), embedder=fake_embedder)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _assert_stored_safely(corpus: Path, source: str) -> None:
    assert SAFE_NAME.fullmatch(source), source
    stored = corpus / source
    assert stored.is_file() and not stored.is_symlink()
    assert stored.resolve().parent == corpus.resolve()


# ---------------------------------------------------------------- names

def traversal_names(tmp_path: Path) -> list[bytes]:
    return [
        b"../../etc/passwd.pdf",
        b"..\\..\\x.txt",
        b"..%2f..%2fx.txt",
        b"/etc/passwd.txt",
        str(tmp_path / "outside" / "pwned.txt").encode(),
        b"C:\\Windows\\System32\\drivers\\etc\\hosts.md",
        b"\\\\server\\share\\evil.md",
        b"corpus/../../escape.md",
        b"evil\x00.pdf.txt",
        b"nul\x00",
        b"ctrl\x01\x07\x1b[31m\x7f.md",
        b"tab\tand\vform\x0cfeed.txt",
        b"a" * 300 + b".txt",
        b"b" * 10_000 + b".txt",
        b"../" * 200 + b"deep.md",
        "．．／．．／fullwidth-passwd.txt".encode(),  # NFKD turns these into ../../
        "\u202egnp.exe.txt".encode(),  # right-to-left override
        "..\u2215..\u2215division-slash.md".encode(),
        "e\u0301te\u0301.md".encode(),
        "💣💣.txt".encode(),
        "ǅemal.md".encode(),
        b"..",
        b".",
        b".txt",
        b"....pdf",
        b".hidden.md",
        b"README.md",
        b"catalog.txt",
        b"script.PDF",
        b"evil.exe",
        b"evil.pdf.exe",
        b"evil.txt;.exe",
    ]


def _content_for(name: bytes, pdf: bytes) -> bytes:
    return pdf if name.lower().endswith(b".pdf") else b"Gewone tekst over inburgering.\n"


def test_traversal_names_are_refused_or_stored_inside_the_corpus(web: TestClient, fake_index: Settings,
                                                                  tmp_path: Path) -> None:
    corpus = fake_index.corpus_dir
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "canary.txt").write_text("niet aanraken")
    pdf = make_pdf(tmp_path / "outside" / "klein.pdf", ["Een korte tekst over samenleven."]).read_bytes()
    before_outside = snapshot(tmp_path, (corpus, fake_index.data_dir))
    before_corpus = {p.name for p in corpus.iterdir()}
    outcomes: dict[str, str] = {}
    t0 = time.monotonic()
    for name in traversal_names(tmp_path):
        body, headers = multipart(name, _content_for(name, pdf))
        r = web.post("/api/admin/documents", params={"replace": "true"}, content=body, headers=headers)
        label = name[:40].decode("utf-8", "backslashreplace")
        assert r.status_code in (201, 400, 415, 422), (label, r.status_code, r.text)
        if r.status_code == 201:
            _assert_stored_safely(corpus, r.json()["source"])
            outcomes[label] = r.json()["source"]
        else:
            outcomes[label] = f"{r.status_code} {assert_dutch_error(r)['code']}"
    seconds = time.monotonic() - t0
    print("\n" + "\n".join(f"  {k!r:45} -> {v}" for k, v in outcomes.items()))
    print(f"{len(outcomes)} hostile names in {seconds:.2f} s")

    assert snapshot(tmp_path, (corpus, fake_index.data_dir)) == before_outside
    assert not Path("/etc/passwd.pdf").exists() and not Path("/etc/passwd.txt").exists()
    new = {p.name for p in corpus.iterdir()} - before_corpus
    assert all(SAFE_NAME.fullmatch(n) for n in new), new
    assert not [p for p in corpus.rglob("*") if p.is_dir()], "an upload created a directory"
    assert not [p for p in corpus.iterdir() if p.name.startswith(".upload-")], "temporary file left behind"
    # a few exact outcomes: directories dropped, names kept readable, nothing usable refused
    assert outcomes["../../etc/passwd.pdf"] == "passwd.pdf"
    assert outcomes["..\\..\\x.txt"] == "x.txt"
    assert outcomes["/etc/passwd.txt"] == "passwd.txt"
    assert outcomes["．．／．．／fullwidth-passwd.txt"] == "fullwidth-passwd.txt"
    assert outcomes["a" * 40] == "a" * 100 + ".txt"
    assert outcomes["b" * 40] == "400 bad_request"  # the multipart parser refuses a 10 kB header line
    assert outcomes["README.md"] == "document-README.md"
    for refused in ("..", ".", ".txt", "💣💣.txt", "evil.exe", "evil.pdf.exe", "nul\x00"):
        assert outcomes[refused].split()[0] in ("415", "422"), (refused, outcomes[refused])
    assert seconds < 30


def test_a_planted_symlink_is_not_followed_when_replacing(web: TestClient, fake_index: Settings,
                                                          tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_text("geheim")
    (fake_index.corpus_dir / "link.txt").symlink_to(target)
    body, headers = multipart(b"link.txt", b"overschreven")
    r = web.post("/api/admin/documents", params={"replace": "true"}, content=body, headers=headers)
    assert r.status_code == 422 and assert_dutch_error(r)["code"] == "invalid_filename"
    assert target.read_text() == "geheim"
    r = web.delete("/api/admin/documents/link.txt", headers=ADMIN)
    # delete removes the link itself, never what it points to
    assert r.status_code == 200 and target.read_text() == "geheim"
    assert not (fake_index.corpus_dir / "link.txt").is_symlink()


_NASTY = st.sampled_from(["../", "..\\", "/", "\\", "C:\\", "\x00", "\r\n", '"', ";", "%2e%2e%2f", "．", "／",
                          "\u202e", "\u0301", "~", "..", " ", "\t"])
_SUFFIX = st.sampled_from(["", ".pdf", ".txt", ".md", ".PDF", ".Md", ".exe", ".pdf.exe", ".txt\x00.exe", "."])
_NAME = st.builds(lambda parts, suffix: "".join(parts) + suffix,
                  st.lists(st.one_of(_NASTY, st.text(st.characters(exclude_categories=["Cs"]), max_size=20)),
                           max_size=12), _SUFFIX)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=_NAME, replace=st.booleans())
def test_random_file_names_never_leave_the_corpus(web: TestClient, fake_index: Settings, tmp_path: Path,
                                                  name: str, replace: bool) -> None:
    corpus = fake_index.corpus_dir
    before_outside = snapshot(tmp_path, (corpus, fake_index.data_dir))
    body, headers = multipart(name.encode("utf-8", "surrogatepass"), b"Tekst over nieuwkomers.\n")
    r = web.post("/api/admin/documents", params={"replace": str(replace).lower()}, content=body, headers=headers)
    assert r.status_code in (201, 400, 409, 415, 422), (name, r.status_code, r.text)
    if r.status_code == 201:
        _assert_stored_safely(corpus, r.json()["source"])
    else:
        assert_dutch_error(r)
    assert snapshot(tmp_path, (corpus, fake_index.data_dir)) == before_outside
    assert not [p for p in corpus.rglob("*") if p.is_dir() or p.name.startswith(".upload-")]


# ---------------------------------------------------------------- zip bomb

def zip_bomb(inner_mb: int = 256, copies: int = 16) -> bytes:
    """A nested zip: ``copies`` entries of a zip that inflates ``inner_mb`` MB of zeros (4 GB in all, ~50 kB)."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z, \
            z.open("jaarverslag.bin", "w", force_zip64=True) as fh:
        block = bytes(MB)
        for _ in range(inner_mb):
            fh.write(block)
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for i in range(copies):
            z.writestr(f"deel-{i}.zip", inner.getvalue())
    return outer.getvalue()


def test_zip_bomb_renamed_pdf_txt_or_md_is_refused(web: TestClient, fake_index: Settings) -> None:
    t0 = time.monotonic()
    bomb = zip_bomb()
    built = time.monotonic() - t0
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:
        inner_total = sum(i.file_size for i in z.infolist())
        with zipfile.ZipFile(z.open("deel-0.zip")) as inner:
            expands = inner_total // z.getinfo("deel-0.zip").file_size * inner.infolist()[0].file_size
    assert len(bomb) < 2 * MB and expands >= 4 * 1024 * MB
    for name in ("jaarverslag.pdf", "jaarverslag.txt", "jaarverslag.md"):
        t1 = time.monotonic()
        body, headers = multipart(name.encode(), bomb)
        r = web.post("/api/admin/documents", content=body, headers=headers)
        assert r.status_code == 422, r.text
        error = assert_dutch_error(r)
        assert error["code"] == "invalid_document" and name in error["message"]
        assert time.monotonic() - t1 < 5
    assert not (fake_index.corpus_dir / "jaarverslag.pdf").exists()
    assert not [p for p in fake_index.corpus_dir.iterdir() if p.name.startswith(".upload-")]
    print(f"\nzip bomb: {len(bomb) // 1024} kB expanding to {expands // MB} MB (built in {built:.1f} s), "
          "refused as .pdf, .txt and .md")


# ---------------------------------------------------------------- 200 MB, in a real server process

@pytest.fixture
def server(fake_index: Settings, tmp_path: Path) -> Iterator[ServerProcess]:
    args = ["-m", "tests.web_fake_server", str(fake_index.data_dir), str(fake_index.corpus_dir), TOKEN]
    with ServerProcess(args, tmp_path / "server-log", env={"TMPDIR": str(tmp_path)}) as proc:
        yield proc


def _warm_up(server: ServerProcess) -> None:
    """Touch every code path once (ask, multipart upload, delete) so imports and caches are not counted."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.post("/api/ask", json={"question": "Wat zijn pleinmakers?"}).status_code == 200
        r = c.post("/api/admin/documents", headers=ADMIN, files={"file": ("opwarmen.txt", b"x" * (2 * MB))})
        assert r.status_code == 201, r.text
        assert c.delete("/api/admin/documents/opwarmen.txt", headers=ADMIN).status_code == 200


def test_200_mb_upload_is_refused_with_413_in_bounded_time_and_memory(server: ServerProcess,
                                                                      fake_index: Settings) -> None:
    _warm_up(server)
    assert server.port is not None
    hwm0, rss0, fds0 = proc_status(server.pid, "VmHWM"), proc_status(server.pid, "VmRSS"), open_fds(server.pid)
    rows = []
    for declared in (True, False, False):
        r = stream_upload(server.port, "/api/admin/documents", ADMIN, "groot.pdf", b"%PDF-1.7\n", 200 * MB,
                          declare_length=declared)
        rows.append((declared, r))
        assert r.status == 413, r
        assert r.body["error"]["code"] == "too_large"
        assert r.body["error"]["message"] == t("request.too_large", limit="20 MB")
        assert r.seconds < 20
        # the server answered early: the client did not have to push the 200 MB
        assert r.sent < (3 * MB if declared else 40 * MB), r
    # a JSON endpoint has its own, smaller limit, also when the body comes in chunks
    r = stream_upload(server.port, "/api/ask", {}, "vraag.json", b"{", 5 * MB, declare_length=False)
    assert r.status == 413 and r.body["error"]["message"] == t("request.too_large", limit="64 kB"), r
    growth_mb = (proc_status(server.pid, "VmHWM") - hwm0) / 1024
    rss_mb = (proc_status(server.pid, "VmRSS") - rss0) / 1024
    for declared, res in rows:
        print(f"\n200 MB upload ({'Content-Length' if declared else 'chunked'}): {res.status} after "
              f"{res.sent / MB:.1f} MB sent, {res.seconds * 1000:.0f} ms")
    print(f"server peak RSS growth {growth_mb:.1f} MB, RSS growth {rss_mb:.1f} MB, fds {fds0} -> "
          f"{open_fds(server.pid)}")
    assert growth_mb < 32
    assert open_fds(server.pid) <= fds0 + 2  # no temporary files kept open
    assert not [p for p in fake_index.corpus_dir.iterdir() if p.name.startswith(".upload-")]
    assert not (fake_index.corpus_dir / "groot.pdf").exists()
    alive = httpx.post(server.url + "/api/ask", json={"question": "Wat zijn pleinmakers?"}, timeout=30)
    assert alive.status_code == 200


# ---------------------------------------------------------------- hostile PDFs, through a re-index

def ten_thousand_pages(path: Path) -> Path:
    """A 10,000-page PDF: one small text page, added 10,000 times (about 1.4 MB)."""
    from pypdf import PdfReader, PdfWriter

    page = PdfReader(make_pdf(path.with_suffix(".een.pdf"), ["Een pagina over inburgering."])).pages[0]
    writer = PdfWriter()
    for _ in range(10_000):
        writer.add_page(page)
    with path.open("wb") as fh:
        writer.write(fh)
    path.with_suffix(".een.pdf").unlink()
    return path


def inflating_pdf(path: Path, mb: int, pages: int, text: str) -> Path:
    """Pages that show ``text`` and then run a FlateDecode content stream of ``mb`` MB of zero bytes.

    The stream is one object shared by all ``pages``: the file stays tiny however many pages there are.
    """
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, StreamObject

    writer = PdfWriter()
    bomb = StreamObject()
    bomb._data = zlib.compress(bytes(mb * MB), 9)
    bomb[NameObject("/Filter")] = NameObject("/FlateDecode")
    bomb_ref = writer._add_object(bomb)
    font = writer._add_object(DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                                                NameObject("/Subtype"): NameObject("/Type1"),
                                                NameObject("/BaseFont"): NameObject("/Helvetica")}))
    shown = StreamObject()
    shown._data = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET\n".encode("latin-1")
    shown_ref = writer._add_object(shown)
    for _ in range(pages):
        page = writer.add_blank_page(300, 200)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        page[NameObject("/Contents")] = ArrayObject([shown_ref, bomb_ref])
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def unknown_filter_pdf(path: Path) -> bytes:
    """A text PDF whose content stream names a filter pypdf does not know (it raises NotImplementedError)."""
    data = make_pdf(path, ["Tekst achter een onbekend filter."]).read_bytes()
    assert b"/FlateDecode" in data
    return data.replace(b"/FlateDecode", b"/NoSuchCodec")  # same length: the xref offsets stay right


def test_content_budget_stops_a_stream_shared_by_every_page(tmp_path: Path) -> None:
    """Before the budget, 2,000 pages x one 50 MB stream took ~2.3 s per page (over an hour) for a 400 kB file."""
    path = inflating_pdf(tmp_path / "gedeeld.pdf", mb=50, pages=2000, text="Inburgering")
    assert path.stat().st_size < MB
    t0 = time.monotonic()
    with pytest.raises(DocumentError) as err:
        loaders.load_document(path, "gedeeld.pdf")
    seconds = time.monotonic() - t0
    assert err.value.reason == t("doc.too_much_content", limit=loaders.MAX_PDF_CONTENT_BYTES // MB)
    print(f"\nshared 50 MB stream on 2000 pages ({path.stat().st_size // 1024} kB): refused in {seconds:.1f} s")
    assert seconds < 30


def test_hostile_pdfs_are_skipped_at_reindex_with_a_reason_and_the_rest_indexes(
        server: ServerProcess, fake_index: Settings, tmp_path: Path) -> None:
    _warm_up(server)
    made = tmp_path / "gemaakt"
    made.mkdir()
    files = {
        "tienduizend-paginas.pdf": ten_thousand_pages(made / "a.pdf").read_bytes(),
        "gedeelde-bom.pdf": inflating_pdf(made / "b.pdf", mb=50, pages=2000, text="Gedeelde bom").read_bytes(),
        "zip-vermomd.pdf": b"%PDF-1.7\n" + zip_bomb(inner_mb=64, copies=4),
        "onbekend-filter.pdf": unknown_filter_pdf(made / "d.pdf"),
        "een-bom.pdf": inflating_pdf(made / "c.pdf", mb=50, pages=1,
                                     text="Het buurthuis Kwakkel opent voor nieuwkomers").read_bytes(),
    }
    with httpx.Client(base_url=server.url, timeout=60) as c:
        before = c.get("/readyz").json()["index_version"]
        for name, data in files.items():
            r = c.post("/api/admin/documents", headers=ADMIN, files={"file": (name, data, "application/pdf")})
            assert r.status_code == 201, r.text  # they all look like PDFs; the loader decides
        hwm0 = proc_status(server.pid, "VmHWM")
        t0 = time.monotonic()
        r = c.post("/api/admin/reindex", headers=ADMIN)
        assert r.status_code == 202
        while True:
            job = c.get(f"/api/admin/reindex/{r.json()['job']['id']}", headers=ADMIN).json()
            if job["state"] in ("done", "failed"):
                break
            assert time.monotonic() - t0 < 120, "re-index did not finish in 120 s"
            time.sleep(0.2)
        seconds = time.monotonic() - t0
        growth_mb = (proc_status(server.pid, "VmHWM") - hwm0) / 1024
        job_peak_mb = job["peak_rss_kb"] / 1024
        assert job["state"] == "done", job
        report = job["report"]
        skipped = {s["source"]: s["reason"] for s in report["skipped"]}
        print(f"\nre-index with hostile PDFs: {seconds:.1f} s, job process peak RSS {job_peak_mb:.0f} MB, "
              f"server peak RSS growth {growth_mb:.0f} MB, "
              f"{report['documents']} documents indexed, skipped: {skipped}")
        assert skipped == {
            "tienduizend-paginas.pdf": t("doc.too_many_pages", pages=10_000, limit=loaders.MAX_PDF_PAGES),
            "gedeelde-bom.pdf": t("doc.too_much_content", limit=loaders.MAX_PDF_CONTENT_BYTES // MB),
            "zip-vermomd.pdf": t("doc.corrupt", kind="PDF"),
            "onbekend-filter.pdf": t("doc.corrupt", kind="PDF"),  # was an uncaught NotImplementedError
        }
        assert report["documents"] == 6  # the five shipped documents and the one-stream bomb, which has text
        assert seconds < 60
        assert job_peak_mb < 600  # pypdf inflates one stream of at most 75 MB at a time
        assert growth_mb < 50  # the re-index runs in its own process; the server only reads the job state

        until_serving(c, report["version_id"])
        after = c.get("/readyz").json()["index_version"]
        assert after != before
        sources = {d["source"] for d in c.get("/api/documents").json()}
        assert "een-bom.pdf" in sources and not sources & set(skipped)
        answer = c.post("/api/ask", json={"question": "Wanneer opent buurthuis Kwakkel voor nieuwkomers?"})
        assert answer.status_code == 200 and answer.json()["index_version"] == after
        assert "een-bom.pdf" in {c_["source"] for c_ in answer.json()["citations"] + answer.json()["related"]}
    assert os.path.getsize(fake_index.corpus_dir / "gedeelde-bom.pdf") < MB
