"""The admin page's API (/beheer/api) through FastAPI's TestClient on a fake-embedder index.

Sign-in, the session cookie and its flags, CSRF, expiry and tampering, the documents table and its
statuses, uploads with metadata, catalog edits, deletes, feedback and unanswered questions with their
CSV export. Re-index jobs run for real in a job process (with the fake embedder). The browser test of
the page itself is tests/test_beheer_browser.py.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.stores.factory import open_stores
from assistant.stores.feedback import Shown
from bots.texts import t
from bots.web import create_app
from bots.web.session import COOKIE, Sessions
from ingest.catalog import read_catalog
from ingest.jobs import Reindexer

from .documents import make_docx
from .fakes import FakeEmbedder
from .test_web_api import assert_error

TOKEN = "beheer-geheim-456"
XSS = '<img src=x onerror="alert(1)">'


@pytest.fixture
def beheer_settings(fake_index: Settings) -> Settings:
    return fake_index.with_(admin_token=TOKEN, max_upload_mb=256 / 1024, upload_rate_limit=0)


def _client(settings: Settings, embedder: Any, **kwargs: Any) -> TestClient:
    jobs = Reindexer(settings, embedder_factory=FakeEmbedder)
    return TestClient(create_app(settings, embedder=embedder, jobs=jobs), raise_server_exceptions=False, **kwargs)


@pytest.fixture
def client(beheer_settings: Settings, fake_embedder: Any) -> Iterator[TestClient]:
    with _client(beheer_settings, fake_embedder) as c:
        yield c


def sign_in(client: TestClient, token: str = TOKEN) -> dict[str, str]:
    """Sign in; returns the headers a state-changing request needs (the CSRF token)."""
    r = client.post("/beheer/api/login", json={"token": token})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["signed_in"] and body["csrf"]
    return {"X-CSRF-Token": body["csrf"]}


def wait_job(client: TestClient, ticket: dict[str, Any], timeout: float = 90) -> dict[str, Any]:
    job_id = ticket["job"]["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queue = client.get("/beheer/api/jobs").json()
        for job in [queue["current"], *queue["recent"]]:
            if job and job["id"] == job_id and job["state"] in ("done", "failed"):
                return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def row(client: TestClient, source: str) -> dict[str, Any]:
    rows = {r["source"]: r for r in client.get("/beheer/api/documents").json()["documents"]}
    return dict(rows[source])


def set_cookie(response: Any) -> str:
    return ", ".join(v for k, v in response.headers.multi_items() if k.lower() == "set-cookie")


# ---------------------------------------------------------------- page, off, sign-in


def test_the_page_is_served_with_a_strict_policy(client: TestClient) -> None:
    r = client.get("/beheer")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert r.headers["cache-control"] == "no-store"
    assert 'lang="nl-BE"' in r.text and "/static/beheer.js" in r.text and "http" not in r.text.split("<body>")[0]
    for asset in ("/static/beheer.js", "/static/beheer.css"):
        assert client.get(asset).status_code == 200


def test_every_text_of_the_page_comes_from_the_catalogue(client: TestClient) -> None:
    import html
    import json
    import re

    from bots.texts import section

    page = client.get("/beheer").text
    texts = section("beheer.ui.")
    assert "{{" not in page and "}}" not in page  # every placeholder was filled in
    block = re.search(r'<script id="beheer-text" type="application/json">(.*?)</script>', page, re.S)
    assert block is not None and json.loads(block.group(1)) == texts
    assert f"<h1>{html.escape(texts['app.title'])}</h1>" in page
    script = client.get("/static/beheer.js").text
    used = set(re.findall(r'tx\("([a-z_.]+)"\s*[,)]', script)) | set(re.findall(r'"(job\.[a-z_]+)"', script))
    used |= {f"status.{s}" for s in ("indexed", "waiting", "skipped")}  # tx("status." + d.status)
    used |= {f"shown.{m}" for m in ("extractive", "generated")}  # tx("shown." + a.mode)
    assert used and used <= set(texts), sorted(used - set(texts))
    # no Dutch sentence left in the script itself: string literals are keys, names and selectors
    literals = re.findall(r'"([^"\\]*)"', script.split("var TEXT")[1])
    words = {w for text in texts.values() for w in re.findall(r"[a-zé]{3,}", text.lower())}
    sentences = [s for s in literals if " " in s]  # keys, ids and paths have no spaces
    assert not [s for s in sentences if len([w for w in re.findall(r"[a-zé]{3,}", s.lower()) if w in words]) >= 2]


def test_a_text_cannot_close_the_data_block() -> None:
    from bots.texts import CATALOGUE
    from bots.web import beheer

    key = "beheer.ui.app.title"
    table = CATALOGUE.table_of(key)
    original = table[key]
    table[key] = "</script><script>alert(1)</script>"
    beheer.page_html.cache_clear()
    try:
        page = beheer.page_html()
        assert page.count("</script>") == 2  # the data block's and beheer.js's own
        assert "&lt;/script&gt;&lt;script&gt;" in page
    finally:
        table[key] = original
        beheer.page_html.cache_clear()


def test_without_an_admin_token_the_page_says_it_is_off(fake_index: Settings, fake_embedder: Any) -> None:
    with _client(fake_index, fake_embedder) as c:
        assert c.get("/beheer/api/session").json()["enabled"] is False
        assert "De beheerpagina staat uit" in c.get("/beheer").text
        assert_error(c.post("/beheer/api/login", json={"token": "x"}), 404, "admin_disabled")
        assert_error(c.get("/beheer/api/documents"), 404, "admin_disabled")


def test_sign_in_sets_a_strict_session_cookie(client: TestClient, beheer_settings: Settings) -> None:
    assert client.get("/beheer/api/session").json()["signed_in"] is False
    assert_error(client.get("/beheer/api/documents"), 401, "signed_out")
    message = assert_error(client.post("/beheer/api/login", json={"token": "fout"}), 401, "bad_token")
    assert message == t("beheer.bad_token")

    r = client.post("/beheer/api/login", json={"token": TOKEN})
    cookie = set_cookie(r)
    assert cookie.startswith(f"{COOKIE}=v2.")
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/beheer" in flags
    assert f"max-age={beheer_settings.admin_session_minutes * 60}" in flags
    assert "secure" not in flags  # plain http: a Secure cookie would never come back
    state = client.get("/beheer/api/session").json()
    assert state["signed_in"] and state["csrf"] == r.json()["csrf"]
    assert client.get("/beheer/api/documents").status_code == 200
    # the cookie is scoped to /beheer: the public API never sees it
    assert client.cookies.get(COOKIE) and "Path=/beheer" in cookie


def test_over_https_the_cookie_is_secure(beheer_settings: Settings, fake_embedder: Any) -> None:
    with _client(beheer_settings, fake_embedder, base_url="https://wegwijzer.test") as c:
        r = c.post("/beheer/api/login", json={"token": TOKEN})
        assert "secure" in [p.strip().lower() for p in set_cookie(r).split(";")]


def test_forwarded_https_counts_only_from_a_trusted_proxy(beheer_settings: Settings, fake_embedder: Any) -> None:
    proto = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.1.1.1"}
    with _client(beheer_settings, fake_embedder) as c:  # nobody trusted: the header is ignored
        r = c.post("/beheer/api/login", json={"token": TOKEN}, headers=proto)
        assert "secure" not in set_cookie(r).lower()
    trusted = beheer_settings.with_(trusted_proxies=("127.0.0.1", "testclient"))
    with _client(trusted, fake_embedder) as c:
        r = c.post("/beheer/api/login", json={"token": TOKEN}, headers=proto)
        assert "secure" in set_cookie(r).lower()


def test_failed_sign_ins_are_rate_limited(beheer_settings: Settings, fake_embedder: Any) -> None:
    with _client(beheer_settings.with_(login_rate_limit=3), fake_embedder) as c:
        for _ in range(3):
            assert_error(c.post("/beheer/api/login", json={"token": "raden"}), 401, "bad_token")
        r = c.post("/beheer/api/login", json={"token": TOKEN})  # even the right token waits now
        message = assert_error(r, 429, "rate_limited")
        assert "aanmeldpogingen" in message and int(r.headers["retry-after"]) >= 1


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(client: TestClient) -> None:
    headers = sign_in(client)
    copied = client.cookies.get(COOKIE)
    r = client.post("/beheer/api/logout", headers=headers)
    assert r.status_code == 200 and "max-age=0" in set_cookie(r).lower()
    assert_error(client.get("/beheer/api/documents"), 401, "signed_out")
    client.cookies.set(COOKIE, copied, path="/beheer")  # a copy kept elsewhere
    assert_error(client.get("/beheer/api/documents"), 401, "signed_out")


# ---------------------------------------------------------------- CSRF, tampering, expiry


@pytest.mark.parametrize("headers", [{}, {"X-CSRF-Token": "verkeerd"}, {"X-CSRF-Token": ""}])
def test_changes_without_the_csrf_token_are_refused_in_dutch(client: TestClient, beheer_settings: Settings,
                                                             headers: dict[str, str]) -> None:
    sign_in(client)
    before = (beheer_settings.corpus_dir / "catalog.toml").read_text()
    source = "vvsg-memorandum-migratie-en-integratie.txt"
    calls = [client.post("/beheer/api/reindex", headers=headers),
             client.patch(f"/beheer/api/documents/{source}", json={"title": "Gekaapt"}, headers=headers),
             client.delete(f"/beheer/api/documents/{source}", headers=headers),
             client.post("/beheer/api/documents", files={"file": ("a.txt", b"Tekst.")}, headers=headers),
             client.post("/beheer/api/logout", headers=headers)]
    for r in calls:
        assert assert_error(r, 403, "csrf") == t("beheer.csrf")
    assert (beheer_settings.corpus_dir / "catalog.toml").read_text() == before
    assert (beheer_settings.corpus_dir / source).exists() and not (beheer_settings.corpus_dir / "a.txt").exists()
    assert client.get("/beheer/api/session").json()["signed_in"]  # logout without the token did nothing


def test_another_sessions_csrf_token_does_not_fit(beheer_settings: Settings, fake_embedder: Any) -> None:
    with _client(beheer_settings, fake_embedder) as a, _client(beheer_settings, fake_embedder) as b:
        sign_in(a)
        other = sign_in(b)
        assert_error(a.post("/beheer/api/reindex", headers=other), 403, "csrf")


def test_a_tampered_cookie_signs_out(client: TestClient) -> None:
    sign_in(client)
    value = client.cookies.get(COOKIE)
    assert value is not None
    version, sid, signature = value.split(".")
    forged = [f"{version}.{sid[:-1]}{'B' if sid.endswith('A') else 'A'}.{signature}",  # another session id
              f"{version}.{sid}.{signature[:-2]}xx",  # a made-up signature
              f"{version}.{sid}", f"v1.{sid}.{int(time.time()) + 3600}.{signature}",  # the old shape
              "", "v2..", "v2." + "x" * 300]
    for bad in forged:
        client.cookies.clear()
        client.cookies.set(COOKIE, bad, path="/beheer")
        assert client.get("/beheer/api/session").json()["signed_in"] is False, bad
        assert_error(client.get("/beheer/api/documents"), 401, "signed_out")


def test_an_expired_session_signs_out(client: TestClient, beheer_settings: Settings) -> None:
    sessions = Sessions(open_stores(beheer_settings).sessions(), TOKEN, 60.0)
    old, _ = sessions.issue(now=time.time() - 61)
    fresh, _ = sessions.issue()
    client.cookies.set(COOKIE, old, path="/beheer")
    assert_error(client.get("/beheer/api/documents"), 401, "signed_out")
    client.cookies.set(COOKIE, fresh, path="/beheer")
    assert client.get("/beheer/api/documents").status_code == 200


def test_a_new_admin_token_signs_everybody_out(beheer_settings: Settings, fake_embedder: Any) -> None:
    with _client(beheer_settings, fake_embedder) as c:
        sign_in(c)
        value = c.cookies.get(COOKIE)
    with _client(beheer_settings.with_(admin_token="een-nieuw-token"), fake_embedder) as c:
        c.cookies.set(COOKIE, value, path="/beheer")
        assert_error(c.get("/beheer/api/documents"), 401, "signed_out")


def test_the_bearer_admin_api_keeps_working_without_a_session(client: TestClient) -> None:
    r = client.get("/api/admin/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and "reindex" in r.json()
    # and a session cookie is no way into the bearer API
    sign_in(client)
    assert_error(client.get("/api/admin/status"), 401, "unauthorized")


# ---------------------------------------------------------------- documents


def test_documents_upload_edit_skip_and_delete(client: TestClient, beheer_settings: Settings, tmp_path: Path) -> None:
    headers = sign_in(client)
    corpus = beheer_settings.corpus_dir
    listing = client.get("/beheer/api/documents").json()
    assert listing["index"]["documents"] == 5
    assert {r["status"] for r in listing["documents"]} == {"indexed"}
    first = next(r for r in listing["documents"] if r["source"] == "vvsg-memorandum-migratie-en-integratie.txt")
    assert first["title"].startswith("VVSG") and first["kind"] == "memorandum" and first["kind_label"] == "memorandum"
    assert first["passages"] > 0 and first["url"].startswith("/documents/") and first["editable"]

    # upload a DOCX with its metadata: stored, in the catalog, waiting for the index
    docx = make_docx(tmp_path / "Nota Inburgering 2024.docx", [
        ("h1", "Nota inburgering"), ("p", "Het inburgeringsloket in Zoersel opent elke dinsdag om 9 uur.")])
    r = client.post("/beheer/api/documents", headers=headers,
                    files={"file": (docx.name, docx.read_bytes())},
                    data={"title": "Nota inburgering Zoersel", "publisher": "Gemeente Zoersel", "date": "2024-02",
                          "kind": "other"})
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "Nota-Inburgering-2024.docx" and r.json()["reindex"] is None
    entries, _ = read_catalog(corpus)
    assert entries["Nota-Inburgering-2024.docx"] == {"title": "Nota inburgering Zoersel",
                                                     "publisher": "Gemeente Zoersel", "date": "2024-02",
                                                     "kind": "other"}
    pending = row(client, "Nota-Inburgering-2024.docx")
    assert pending["status"] == "waiting" and pending["title"] == "Nota inburgering Zoersel"
    assert pending["passages"] is None and not pending["in_index"]

    # a file that cannot be read: waiting until the next ingest, then skipped with the reason
    (corpus / "kapot.docx").write_bytes(b"PK\x03\x04 dit is geen echt Word-bestand")
    ticket = client.post("/beheer/api/reindex", headers=headers)
    assert ticket.status_code == 202
    job = wait_job(client, ticket.json())
    assert job["state"] == "done", job
    assert row(client, "Nota-Inburgering-2024.docx")["status"] == "indexed"
    assert row(client, "Nota-Inburgering-2024.docx")["passages"] >= 1
    broken = row(client, "kapot.docx")
    assert broken["status"] == "skipped" and "Word" in broken["reason"]

    # edit the title: the entry changes in the catalog, the row waits, the re-index takes the new title
    r = client.patch("/beheer/api/documents/Nota-Inburgering-2024.docx", headers=headers,
                     json={"title": XSS, "date": ""})
    assert r.status_code == 200, r.text
    assert r.json()["catalog"] == {"title": XSS, "publisher": "Gemeente Zoersel", "kind": "other"}
    assert row(client, "Nota-Inburgering-2024.docx")["status"] == "waiting"
    assert wait_job(client, r.json()["reindex"])["state"] == "done"
    edited = row(client, "Nota-Inburgering-2024.docx")
    assert edited["status"] == "indexed" and edited["title"] == XSS and edited["date"] == ""
    # the index in service has it too, once the assistant's watcher (every 0.5 s) has followed the new version
    deadline = time.monotonic() + 30
    while True:
        title = {d["source"]: d for d in client.get("/api/documents").json()}["Nota-Inburgering-2024.docx"]["title"]
        if title == XSS or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert title == XSS

    # delete: file and catalog entry go, and after the re-index the document too
    r = client.delete("/beheer/api/documents/Nota-Inburgering-2024.docx", headers=headers)
    assert r.status_code == 200 and not (corpus / "Nota-Inburgering-2024.docx").exists()
    assert "Nota-Inburgering-2024.docx" not in read_catalog(corpus)[0]
    gone = row(client, "Nota-Inburgering-2024.docx")
    assert gone["status"] == "waiting" and not gone["in_corpus"] and not gone["editable"]
    assert wait_job(client, r.json()["reindex"])["state"] == "done"
    assert "Nota-Inburgering-2024.docx" not in {d["source"] for d in client.get("/beheer/api/documents").json()[
        "documents"]}


@pytest.mark.parametrize(("fields", "needle"), [
    ({"date": "31-03-2024"}, "datum"), ({"date": "2024-02-30"}, "datum"), ({"kind": "roman"}, "soort"),
    ({"language": "Nederlands!"}, "taal"), ({"title": "x" * 301}, "te lang"), ({"title": "a\u0000b"}, "stuurtekens"),
])
def test_bad_metadata_is_refused_and_leaves_nothing(client: TestClient, beheer_settings: Settings,
                                                    fields: dict[str, str], needle: str) -> None:
    headers = sign_in(client)
    before = (beheer_settings.corpus_dir / "catalog.toml").read_text()
    r = client.post("/beheer/api/documents", headers=headers, files={"file": ("nieuw.txt", b"Een tekst.")},
                    data=fields)
    assert needle in assert_error(r, 422, "invalid_metadata").lower()
    assert not (beheer_settings.corpus_dir / "nieuw.txt").exists()
    r = client.patch("/beheer/api/documents/vvsg-memorandum-migratie-en-integratie.txt", headers=headers,
                     json=fields)
    assert needle in assert_error(r, 422, "invalid_metadata").lower()
    assert (beheer_settings.corpus_dir / "catalog.toml").read_text() == before


def test_edits_and_deletes_stay_inside_the_corpus(client: TestClient, beheer_settings: Settings) -> None:
    headers = sign_in(client)
    for source in ("../geheim.txt", "bestaat-niet.txt", ".verborgen.txt", "catalog.toml"):
        assert_error(client.patch(f"/beheer/api/documents/{source}", json={"title": "x"}, headers=headers), 404)
        assert_error(client.delete(f"/beheer/api/documents/{source}", headers=headers), 404)
    assert "bestaat-niet.txt" not in read_catalog(beheer_settings.corpus_dir)[0]
    assert_error(client.patch("/beheer/api/documents/vvsg-memorandum-migratie-en-integratie.txt",
                              json={"titel": "x"}, headers=headers), 422)


def test_upload_rules_are_the_api_s(client: TestClient) -> None:
    headers = sign_in(client)
    assert_error(client.post("/beheer/api/documents", headers=headers, files={"file": ("x.exe", b"MZ")}), 415)
    assert_error(client.post("/beheer/api/documents", headers=headers,
                             files={"file": ("x.pdf", b"dit is geen pdf")}), 422, "invalid_document")
    assert_error(client.post("/beheer/api/documents", headers=headers,
                             files={"file": ("groot.txt", b"a" * (300 * 1024))}), 413)
    name = "vvsg-memorandum-migratie-en-integratie.txt"
    message = assert_error(client.post("/beheer/api/documents", headers=headers, files={"file": (name, b"Nieuw.")}),
                           409, "document_exists")
    assert name in message and "vervangen" in message and "replace=true" not in message
    r = client.post("/beheer/api/documents?replace=true", headers=headers, files={"file": (name, b"Nieuw.")})
    assert r.status_code == 201 and r.json()["source"] == name


# ---------------------------------------------------------------- feedback, unanswered questions, CSV


def _record(client: TestClient, question: str, found: bool, helpful: bool | None = None, comment: str = "",
            sources: list[dict[str, object]] | None = None, shown: Shown | None = None) -> None:
    store = client.app.state.ctx.store  # type: ignore[attr-defined]
    answer_id = f"a{time.time_ns()}"
    store.record_answer(answer_id, "web", question, found, sources or [], shown=shown)
    if helpful is not None:
        store.add_feedback(answer_id, "web", helpful, comment, user_ref=answer_id)


def _csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_feedback_list_and_csv_escape_formulas(client: TestClient) -> None:
    sign_in(client)
    source = [{"source": "a.pdf", "title": "Nota; “financiën”", "page": 3, "section": ""}]
    _record(client, "Wat kost een tolk?", True, helpful=False, comment="=HYPERLINK(\"http://evil\";\"klik\")",
            sources=source)
    _record(client, "+32 is het nummer?", True, helpful=True, comment="-1 @SUM(A1) financiële steun")
    listing = client.get("/beheer/api/feedback").json()
    assert [f["helpful"] for f in listing["feedback"]] == [True, False]  # newest first
    assert listing["feedback"][1]["sources"][0]["title"] == "Nota; “financiën”"
    assert listing["counts"] == {"helpful": 1, "not_helpful": 1}
    down = client.get("/beheer/api/feedback?vote=down").json()["feedback"]
    assert len(down) == 1 and down[0]["comment"].startswith("=HYPERLINK")
    assert_error(client.get("/beheer/api/feedback?vote=misschien"), 422)

    rows = _csv_rows(client.get("/beheer/api/feedback.csv"))
    assert rows[0] == ["datum", "kanaal", "oordeel", "opmerking", "vraag", "bronnen",  # the earlier columns first
                       "getoond antwoord", "soort antwoord", "geciteerde passages", "indexversie"]
    assert rows[1][2:5] == ["nuttig", "'-1 @SUM(A1) financiële steun", "'+32 is het nummer?"]
    assert rows[2][2:6] == ["niet nuttig", "'=HYPERLINK(\"http://evil\";\"klik\")", "Wat kost een tolk?",
                            "Nota; “financiën”, p. 3"]
    assert len(_csv_rows(client.get("/beheer/api/feedback.csv?vote=up"))) == 2


def _passage(client: TestClient) -> dict[str, Any]:
    """A real passage of the published index (the nearest to a question), as the API cites it."""
    answer = client.post("/api/ask", json={"question": "Wat doet een stad voor nieuwkomers?"}).json()
    return dict((answer["citations"] + answer["related"])[0])


def test_a_thumbs_down_shows_the_answer_that_was_shown(client: TestClient) -> None:
    sign_in(client)
    answer = client.post("/api/ask", json={"question": "Wat kan een stad doen voor nieuwkomers?"}).json()
    r = client.post("/api/feedback", json={"answer_id": answer["answer_id"], "helpful": False, "comment": "Fout"})
    assert r.status_code == 200
    (down,) = client.get("/beheer/api/feedback?vote=down").json()["feedback"]
    assert down["question"] == answer["question"] and down["comment"] == "Fout"
    assert down["answer"] == {"text": answer["text"], "mode": answer["mode"], "index_version": answer["index_version"],
                              "passage_ids": [c["passage_id"] for c in answer["citations"]], "current": True}
    assert down["found"] is answer["found"]
    assert [s["n"] for s in down["sources"]] == [c["n"] for c in answer["citations"]]

    rows = _csv_rows(client.get("/beheer/api/feedback.csv?vote=down"))
    mode = {"extractive": "geciteerd uit de documenten", "generated": "geschreven door het taalmodel"}
    assert rows[1][6:] == [answer["text"], mode[answer["mode"]],
                           " ".join(str(c["passage_id"]) for c in answer["citations"]), answer["index_version"]]


def test_answers_marked_wrong_show_the_answer_and_link_its_passages(client: TestClient) -> None:
    sign_in(client)
    passage = _passage(client)
    version = client.get("/beheer/api/documents").json()["index"]["version"]
    source = [{"n": 1, "source": passage["source"], "title": passage["title"], "page": passage["page"],
               "section": passage["section"]}]
    shown = Shown(text="Een stad biedt een onthaalbureau aan [1].\n- taallessen\n- begeleiding",
                  mode="extractive", passage_ids=(passage["passage_id"],), index_version=version)
    old = Shown(text="=Nieuwkomers krijgen een premie [1][2].", mode="generated",
                passage_ids=(passage["passage_id"], 7), index_version="20200101T000000-oud")
    gone = {"n": 2, "source": "verdwenen-nota.pdf", "title": "Verdwenen nota", "page": 2, "section": ""}
    _record(client, "Wat doet een stad voor nieuwkomers?", True, helpful=False, comment="Mist de taallessen",
            sources=source, shown=shown)
    time.sleep(0.002)
    _record(client, "wat doet een stad voor nieuwkomers", True, helpful=False, comment="", sources=source, shown=shown)
    time.sleep(0.002)
    _record(client, "Krijgen nieuwkomers een premie?", True, helpful=False, sources=[*source, gone], shown=old)
    _record(client, "Wat doet een stad voor nieuwkomers?", True, helpful=True, sources=source, shown=shown)  # 👍
    _record(client, "Wie is de schepen van sport?", False, helpful=False)  # a refusal: the other list

    premium, city = client.get("/beheer/api/wrong").json()["answers"]
    assert (city["question"], city["count"], city["comments"], city["variants"]) == (
        "wat doet een stad voor nieuwkomers", 2, ["Mist de taallessen"], ["Wat doet een stad voor nieuwkomers?"])
    assert city["answer"]["text"] == shown.text and city["answer"]["current"] is True
    link = city["sources"][0]["url"]
    assert link.endswith(f"?passage={passage['passage_id']}#p-{passage['passage_id']}")
    view = client.get(link)  # the passage the answer cited, highlighted in the document view
    assert view.status_code == 200 and f'id="p-{passage["passage_id"]}"' in view.text
    # after a re-index passage ids mean other passages: the link opens the document only
    assert premium["answer"]["current"] is False and "passage=" not in premium["sources"][0]["url"]
    assert client.get(premium["sources"][0]["url"]).status_code == 200
    assert premium["sources"][1]["url"] == ""  # a document no longer in the index: no link

    rows = _csv_rows(client.get("/beheer/api/wrong.csv"))
    assert rows[0] == ["vraag", "aantal", "laatst gemarkeerd", "eerst gemarkeerd", "opmerkingen", "getoond antwoord",
                       "soort antwoord", "geciteerde passages", "indexversie", "bronnen", "kanaal",
                       "andere formuleringen"]
    assert len(rows) == 3
    page = f", p. {passage['page']}" if passage["page"] else ""
    assert rows[1][5:10] == ["'=Nieuwkomers krijgen een premie [1][2].", "geschreven door het taalmodel",
                             f"{passage['passage_id']} 7", "20200101T000000-oud",  # a formula is text
                             f"{passage['title']}{page} | Verdwenen nota, p. 2"]
    assert rows[2][:2] == ["wat doet een stad voor nieuwkomers", "2"] and rows[2][5] == shown.text
    assert rows[2][4] == "Mist de taallessen" and rows[2][6] == "geciteerd uit de documenten"


def test_the_lists_need_a_session(client: TestClient) -> None:
    for path in ("/beheer/api/feedback", "/beheer/api/wrong", "/beheer/api/wrong.csv", "/beheer/api/unanswered.csv"):
        assert_error(client.get(path), 401, "signed_out")


def test_unanswered_questions_are_grouped_and_counted(client: TestClient) -> None:
    sign_in(client)
    for question in ("Hoe vraag ik een omgevingsvergunning aan?", "Wat is de beste pizza in Gent?",
                     "hoe vraag ik een omgevingsvergunning aan", "Hoe vraag ik een omgevingsvergunnig aan?",
                     "Wie is de schepen van sport?", "Wie is de schepen van onderwijs?"):
        _record(client, question, False)
        time.sleep(0.002)
    _record(client, "Wat zijn pleinmakers?", True)  # answered: not in the list
    groups = client.get("/beheer/api/unanswered").json()["questions"]
    by_question = {g["question"]: g for g in groups}
    assert [g["question"] for g in groups][:2] == ["Wie is de schepen van onderwijs?", "Wie is de schepen van sport?"]
    permit = by_question["Hoe vraag ik een omgevingsvergunnig aan?"]  # the most recent wording leads
    assert permit["count"] == 3 and len(permit["variants"]) == 2 and permit["channels"] == ["web"]
    assert by_question["Wat is de beste pizza in Gent?"]["count"] == 1
    assert "Wat zijn pleinmakers?" not in by_question and len(groups) == 4

    rows = _csv_rows(client.get("/beheer/api/unanswered.csv"))
    assert rows[0][:2] == ["vraag", "aantal"] and len(rows) == 5
    assert ["Hoe vraag ik een omgevingsvergunnig aan?", "3"] == rows[3][:2]


def test_the_bearer_api_delete_drops_the_catalog_entry_too(client: TestClient, beheer_settings: Settings) -> None:
    source = "vvsg-memorandum-migratie-en-integratie.txt"
    assert source in read_catalog(beheer_settings.corpus_dir)[0]
    r = client.delete(f"/api/admin/documents/{source}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    entries, _ = read_catalog(beheer_settings.corpus_dir)
    assert source not in entries and len(entries) == 4


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+31 6", "'+31 6"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\r=x", "'\r=x"), ("gewone tekst", "gewone tekst"), ("a=b", "a=b"), ("", ""), (None, ""), (3, "3"),
])
def test_csv_cells_never_start_a_formula(value: object, expected: str) -> None:
    from bots.web.csvexport import cell, to_csv

    assert cell(value) == expected
    text = to_csv(["kop"], [[value]])
    assert text.startswith("\ufeffkop\r\n")
    assert next(csv.reader(io.StringIO(text[1:]), delimiter=";")) == ["kop"]
