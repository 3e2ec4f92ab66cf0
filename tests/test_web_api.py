"""The web API through FastAPI's TestClient: the contract, the error shape, admin, CORS, metrics.

Fast tests run on the fake embedder (``found`` is usually False there, so they assert on shapes and
behaviour); the tests marked ``real_model`` check real answers on the real index.
"""

from __future__ import annotations

import functools
import io
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.config import Settings
from assistant.stores.feedback import FeedbackStore, Shown
from bots.texts import t
from bots.web import create_app
from ingest.jobs import Reindexer

from .fakes import FakeEmbedder, GatedFakeEmbedder
from .web_support import copy_index, until_serving

ORIGIN = "https://intranet.stad.test"
TOKEN = "beheer-geheim-123"
QUESTION = "Wat kan een stad doen als de financiële middelen beperkt zijn?"


def assert_error(response: Any, status: int, code: str | None = None) -> str:
    """The one error shape: {"error": {"code", "message"}} with a Dutch message and no traceback."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code is not None:
        assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert message and "Traceback" not in message and "File \"" not in message
    return str(message)


@pytest.fixture
def web_settings(fake_index: Settings) -> Settings:
    return fake_index.with_(cors_origins=(ORIGIN,), admin_token=TOKEN, max_upload_mb=64 / 1024)


@pytest.fixture
def client(web_settings: Settings, fake_embedder: Any) -> Iterator[TestClient]:
    jobs = Reindexer(web_settings, embedder_factory=FakeEmbedder)  # job processes embed with the fake model too
    with TestClient(create_app(web_settings, embedder=fake_embedder, jobs=jobs), raise_server_exceptions=False) as c:
        yield c


ADMIN = {"Authorization": f"Bearer {TOKEN}"}


# ---------------------------------------------------------------- ask, documents, feedback (fake model)

def test_ask_returns_the_answer_contract_with_an_answer_id(client: TestClient, web_settings: Settings) -> None:
    r = client.post("/api/ask", json={"question": QUESTION, "top_k": 3})
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"answer_id", "question", "found", "text", "citations", "index_version", "latency_ms"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["answer_id"])
    assert body["question"] == QUESTION and isinstance(body["found"], bool) and body["text"]
    # every answer is remembered, so feedback can name the question and sources
    assert FeedbackStore(web_settings.feedback_db).lookup_answer(body["answer_id"]) is not None


@pytest.mark.parametrize(("body", "status", "code", "needle"), [
    ({"question": ""}, 422, "invalid_question", "leeg"),
    ({"question": "   \n  "}, 422, "invalid_question", "leeg"),
    ({"question": "x" * 1001}, 422, "invalid_question", "te lang"),
    ({"question": "?!?"}, 422, "invalid_question", "woorden"),
    ({"question": 42}, 422, "invalid_request", "'question' moet tekst zijn"),
    ({"question": None}, 422, "invalid_request", "'question' moet tekst zijn"),
    ({}, 422, "invalid_request", "'question' ontbreekt"),
    ([], 422, "invalid_request", "JSON-object"),
    ("vraag", 422, "invalid_request", "JSON-object"),
    ({"question": "ok", "top_k": 0}, 422, "invalid_request", "'top_k' moet minstens 1"),
    ({"question": "ok", "top_k": 21}, 422, "invalid_request", "'top_k' mag hoogstens 20"),
    ({"question": "ok", "top_k": "vijf"}, 422, "invalid_request", "'top_k' moet een geheel getal"),
    ({"question": "ok", "top_k": 2.5}, 422, "invalid_request", "'top_k' moet een geheel getal"),
    ({"question": "ok", "extra": 1}, 422, "invalid_request", "'extra' is onbekend"),
])
def test_bad_questions_get_a_dutch_4xx(client: TestClient, body: Any, status: int, code: str, needle: str) -> None:
    assert needle in assert_error(client.post("/api/ask", json=body), status, code)


def test_malformed_json_and_oversized_bodies(client: TestClient) -> None:
    bad = client.post("/api/ask", content=b'{"question": ', headers={"Content-Type": "application/json"})
    assert "geen geldige JSON" in assert_error(bad, 400, "invalid_json")
    huge = client.post("/api/ask", json={"question": "x" * 100_000})
    assert "te groot" in assert_error(huge, 413, "too_large")


def test_unknown_routes_and_methods_use_the_same_shape(client: TestClient) -> None:
    assert_error(client.get("/api/bestaat-niet"), 404, "not_found")
    assert_error(client.get("/api/ask"), 405, "method_not_allowed")


def test_unexpected_errors_are_500_without_a_stack_trace(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail /srv/wegwijzer/x.py")

    monkeypatch.setattr(ctx.assistant(), "ask", boom)
    r = client.post("/api/ask", json={"question": QUESTION})
    message = assert_error(r, 500, "internal")
    assert "secret" not in r.text and "RuntimeError" not in r.text and "probeer" in message.lower()


def test_feedback_is_stored_with_question_and_sources(client: TestClient, web_settings: Settings) -> None:
    answer = client.post("/api/ask", json={"question": QUESTION}).json()
    r = client.post("/api/feedback", json={"answer_id": answer["answer_id"], "helpful": False,
                                           "comment": "  Mist de bron over subsidies.  "})
    assert r.status_code == 200 and r.json() == {"ok": True}
    rows = FeedbackStore(web_settings.feedback_db).feedback()
    assert len(rows) == 1
    row = rows[0]
    assert (row.channel, row.helpful, row.comment, row.question) == ("web", False, "Mist de bron over subsidies.",
                                                                     QUESTION)
    assert row.sources == [{"n": c["n"], "source": c["source"], "title": c["title"], "page": c["page"],
                            "section": c["section"]} for c in answer["citations"]]
    # and exactly what the person saw, so a 👎 can be read without asking again
    assert row.shown == Shown(text=answer["text"], mode=answer["mode"], index_version=answer["index_version"],
                              passage_ids=tuple(c["passage_id"] for c in answer["citations"]))


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"answer_id": "0" * 32, "helpful": True}, 404, "answer_not_found"),
    ({"answer_id": "abc", "helpful": "ja"}, 422, "invalid_request"),
    ({"answer_id": "abc"}, 422, "invalid_request"),
    ({"answer_id": 5, "helpful": True}, 422, "invalid_request"),
    ({"answer_id": "abc", "helpful": True, "comment": "x" * 2001}, 422, "invalid_request"),
])
def test_bad_feedback(client: TestClient, body: dict[str, Any], status: int, code: str) -> None:
    assert_error(client.post("/api/feedback", json=body), status, code)


def test_documents_catalog_has_passage_counts_and_view_links(client: TestClient) -> None:
    docs = client.get("/api/documents").json()
    by_source = {d["source"]: d for d in docs}
    toolkit = by_source["inclucities-toolkit-stad-voor-iedereen.md"]
    assert toolkit["title"].startswith("IncluCities") and toolkit["passages"] > 0
    assert toolkit["url"] == "/documents/inclucities-toolkit-stad-voor-iedereen.md"
    assert all(d["passages"] > 0 for d in docs)


def test_document_view_marks_the_cited_passage(client: TestClient) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    info, pages, passages = ctx.assistant().document("inclucities-toolkit-stad-voor-iedereen.md")
    cited = passages[3]
    r = client.get(f"/documents/{cited.source}?passage={cited.id}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert html.count(f'id="p-{cited.id}"') == 1 and f'<mark class="cited" id="p-{cited.id}"' in html
    # the passage is marked block by block (a heading is a block of its own), markup hidden
    pieces = re.findall(r'<mark class="cited"[^>]*>(.*?)</mark>', html, re.S)
    inner = re.sub(r'<span class="sr-only">.*?</span>', "", "".join(pieces))
    from html import unescape

    assert "".join(unescape(re.sub(r"<[^>]+>", "", inner)).split()) == "".join(cited.text.split())
    # every other passage has an anchor, so #p-N links work without the query too
    assert all(f'id="p-{p.id}"' in html for p in passages)


def test_document_view_errors(client: TestClient) -> None:
    assert_error(client.get("/documents/bestaat-niet.md"), 404, "document_not_found")
    assert_error(client.get("/documents/inclucities-toolkit-stad-voor-iedereen.md?passage=99999"), 404,
                 "passage_not_found")
    assert_error(client.get("/documents/inclucities-toolkit-stad-voor-iedereen.md?passage=abc"), 422)
    # a person following a dead link in the browser gets a readable page, still with the status
    page = client.get("/documents/bestaat-niet.md", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "bestaat niet" in page.text and "<html" in page.text


def test_document_view_escapes_document_text(client: TestClient, web_settings: Settings, fake_embedder: Any) -> None:
    from ingest.build import ingest

    (web_settings.corpus_dir / "kwaadaardig.txt").write_text(
        "Titel\n\n<script>alert(1)</script> en <img src=x onerror=alert(2)> in de tekst.\n", encoding="utf-8")
    ingest(web_settings, embedder=fake_embedder)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    ctx.assistant().refresh(force=True)
    html = client.get("/documents/kwaadaardig.txt").text
    assert "<script>alert" not in html and "<img" not in html
    # document markup is never rendered, and not shown as raw tags either: the reader sees the text
    assert "&lt;script" not in html and "&lt;img" not in html and "alert(1) en  in de tekst." in html


def test_original_file_is_served_only_for_indexed_documents(client: TestClient) -> None:
    r = client.get("/files/inclucities-toolkit-stad-voor-iedereen.md")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert_error(client.get("/files/catalog.toml"), 404, "document_not_found")
    assert_error(client.get("/files/../../etc/passwd"), 404)


# ---------------------------------------------------------------- health, readiness, metrics, widget

def test_health_readiness_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["index_version"]
    spec = client.get("/openapi.json").json()
    for path in ("/api/ask", "/api/feedback", "/api/documents", "/documents/{source}", "/healthz", "/readyz",
                 "/metrics", "/api/admin/documents", "/api/admin/reindex", "/api/admin/status"):
        assert path in spec["paths"], path
    ask = spec["paths"]["/api/ask"]["post"]
    assert "answer_id" in spec["components"]["schemas"]["AskResponse"]["properties"]
    assert "422" in ask["responses"] and "503" in ask["responses"]


def test_not_ready_without_an_index(tmp_path: Path, fake_embedder: Any) -> None:
    settings = Settings(data_dir=tmp_path / "leeg", corpus_dir=tmp_path / "corpus")
    with TestClient(create_app(settings, embedder=fake_embedder)) as c:
        assert c.get("/healthz").status_code == 200
        assert "index" in assert_error(c.get("/readyz"), 503, "index_missing")
        r = c.post("/api/ask", json={"question": QUESTION})
        assert_error(r, 503, "index_missing")
        assert r.headers["retry-after"] == "5"


def test_not_ready_when_the_index_was_built_by_another_model(fake_index: Settings) -> None:
    from .fakes import FakeEmbedder

    with TestClient(create_app(fake_index, embedder=FakeEmbedder(name="ander-model"))) as c:
        message = assert_error(c.get("/readyz"), 503, "model_mismatch")
        assert "ander taalmodel" in message
        assert_error(c.post("/api/ask", json={"question": QUESTION}), 503, "model_mismatch")


def test_the_service_picks_up_the_first_index_without_restart(tmp_path: Path, corpus_copy: Path,
                                                               fake_embedder: Any) -> None:
    from ingest.build import ingest

    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus_copy)
    with TestClient(create_app(settings, embedder=fake_embedder)) as c:
        assert c.get("/readyz").status_code == 503
        ingest(settings, embedder=fake_embedder)
        assert c.get("/readyz").status_code == 200
        assert c.post("/api/ask", json={"question": QUESTION}).status_code == 200


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Prometheus text parsed (with prometheus-client's own parser): (name, labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(parsed: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return parsed.get((name, frozenset(labels.items())), 0.0)


def test_metrics_in_prometheus_text_format(client: TestClient) -> None:
    answer = client.post("/api/ask", json={"question": QUESTION}).json()
    client.post("/api/ask", json={"question": ""})
    client.post("/api/feedback", json={"answer_id": answer["answer_id"], "helpful": True})
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    m = samples(text)
    assert sample(m, "wegwijzer_http_requests_total", method="POST", route="/api/ask", status="200") == 1
    assert sample(m, "wegwijzer_http_requests_total", method="POST", route="/api/ask", status="422") == 1
    assert '# TYPE wegwijzer_http_request_duration_seconds histogram' in text
    assert sample(m, "wegwijzer_http_request_duration_seconds_bucket", method="POST", route="/api/ask",
                  le="+Inf") == 2
    found = "true" if answer["found"] else "false"
    assert sample(m, "wegwijzer_answers_total", found=found) == 1
    assert sample(m, "wegwijzer_feedback_total", helpful="true") == 1
    assert sample(m, "wegwijzer_index_info", version=answer["index_version"]) == 1
    # every sample line is "name{labels} number"
    for line in text.splitlines():
        if not line.startswith("#"):
            assert re.fullmatch(r'[a-z_]+(\{[^}]*\})? [0-9.e+-]+', line), line


def test_demo_page_and_widget_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/widget.js" defer' in page.text
    assert 'lang="nl-BE"' in page.text
    js = client.get("/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "attachShadow" in js.text and "innerHTML" not in js.text  # server data is only ever text
    assert "http://" not in js.text.replace("http://www.w3.org/2000/svg", "")  # no CDN, no external font
    assert "https://" not in js.text.replace("https://HOST/widget.js", "")


def test_the_widget_takes_its_texts_from_the_catalogue(client: TestClient) -> None:
    js = client.get("/widget.js")
    assert "@wegwijzer-messages" not in js.text  # the placeholder line was filled in
    for key in ("launcher", "send", "related", "networkError"):
        assert json.dumps(t(f"widget.ui.{key}"), ensure_ascii=False) in js.text
    again = client.get("/widget.js", headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304 and not again.content


# ---------------------------------------------------------------- CORS

def test_cors_allows_only_configured_origins(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = client.options("/api/ask", headers={"Origin": ORIGIN, **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    bad = client.options("/api/ask", headers={"Origin": "https://evil.test", **preflight})
    assert "access-control-allow-origin" not in bad.headers
    simple = client.post("/api/ask", json={"question": QUESTION}, headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in simple.headers
    # the admin token can never be sent cross-origin from a browser
    admin = client.options("/api/admin/reindex", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    assert "authorization" not in admin.headers.get("access-control-allow-headers", "").lower()


# ---------------------------------------------------------------- admin

def test_admin_api_is_off_without_a_token(fake_index: Settings, fake_embedder: Any) -> None:
    with TestClient(create_app(fake_index.with_(admin_token=""), embedder=fake_embedder)) as c:
        assert "WEGWIJZER_ADMIN_TOKEN" in assert_error(c.get("/api/admin/status", headers=ADMIN), 404,
                                                       "admin_disabled")
        assert_error(c.post("/api/admin/reindex"), 404, "admin_disabled")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer fout"}, {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_admin_needs_the_bearer_token(client: TestClient, headers: dict[str, str]) -> None:
    r = client.get("/api/admin/status", headers=headers)
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


def test_admin_status(client: TestClient) -> None:
    status = client.get("/api/admin/status", headers=ADMIN).json()
    assert status["ready"] is True
    assert status["index"]["version"] and status["index"]["documents"] == 5
    assert status["index"]["last_ingest"]["ok"] is True
    assert status["reindex"] == {"current": None, "next": None, "recent": []}
    assert "inclucities-toolkit-stad-voor-iedereen.md" in status["corpus"]["documents"]


JOB_DEADLINE_S = 180.0  # a job process that never finishes fails; a slow one on a busy CI machine does not


def _wait_reindex(client: TestClient, ticket: dict[str, Any], timeout: float = JOB_DEADLINE_S) -> dict[str, Any]:
    """The job of a re-index ticket once it finished (the job process runs it; we poll its state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/admin/reindex/{ticket['job']['id']}", headers=ADMIN).json()
        if job["state"] in ("done", "failed"):
            return dict(job)
        time.sleep(0.05)
    raise AssertionError("re-index did not finish")


def test_upload_reindex_and_delete(client: TestClient, web_settings: Settings) -> None:
    text = "Taalcafé in de bibliotheek\n\nElke dinsdag oefenen nieuwkomers Nederlands met vrijwilligers.\n"
    r = client.post("/api/admin/documents?reindex=true", headers=ADMIN,
                    files={"file": ("../../Taalcafé Bibliotheek 2024.TXT", text.encode(), "text/plain")})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["source"] == "Taalcafe-Bibliotheek-2024.txt" and body["size"] == len(text.encode())
    assert (web_settings.corpus_dir / "Taalcafe-Bibliotheek-2024.txt").read_text(encoding="utf-8") == text
    assert not list(web_settings.corpus_dir.parent.glob("*.TXT"))
    assert body["reindex"]["job"]["state"] == "queued" and body["reindex"]["queued_behind"] is None
    assert body["reindex"]["message"] == t("job.started")
    job = _wait_reindex(client, body["reindex"])
    assert job["state"] == "done" and job["report"]["documents_embedded"] == 1
    until_serving(client, job["report"]["version_id"])
    sources = {d["source"] for d in client.get("/api/documents").json()}
    assert "Taalcafe-Bibliotheek-2024.txt" in sources

    # same name again needs replace=true
    again = client.post("/api/admin/documents", headers=ADMIN, files={"file": ("Taalcafe-Bibliotheek-2024.txt", b"x")})
    assert_error(again, 409, "document_exists")
    replaced = client.post("/api/admin/documents?replace=true", headers=ADMIN,
                           files={"file": ("Taalcafe-Bibliotheek-2024.txt", b"Nieuwe tekst over het taalcafe.")})
    assert replaced.status_code == 201

    gone = client.delete("/api/admin/documents/Taalcafe-Bibliotheek-2024.txt?reindex=true", headers=ADMIN)
    assert gone.status_code == 200 and gone.json()["source"] == "Taalcafe-Bibliotheek-2024.txt"
    job = _wait_reindex(client, gone.json()["reindex"])
    assert job["report"]["documents_removed"] == 1
    until_serving(client, job["report"]["version_id"])
    assert "Taalcafe-Bibliotheek-2024.txt" not in {d["source"] for d in client.get("/api/documents").json()}
    assert_error(client.delete("/api/admin/documents/Taalcafe-Bibliotheek-2024.txt", headers=ADMIN), 404,
                 "document_not_found")


@pytest.mark.parametrize(("name", "content", "status", "code"), [
    ("virus.exe", b"MZ...", 415, "unsupported_type"),
    ("notities.docx", b"PK..", 422, "invalid_document"),
    ("verslag.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 415, "unsupported_type"),
    ("nota.docx", b"%PDF-1.7\n%%EOF\n", 422, "invalid_document"),
    ("geen-extensie", b"tekst", 415, "unsupported_type"),
    ("nep.pdf", b"dit is geen pdf", 422, "invalid_document"),
    ("leeg.txt", b"", 422, "invalid_document"),
    ("binair.txt", b"abc\x00def", 422, "invalid_document"),
    ("....txt", b"tekst", 422, "invalid_filename"),
    ("groot.txt", b"a" * (64 * 1024 + 1), 413, "too_large"),
])
def test_upload_limits(client: TestClient, web_settings: Settings, name: str, content: bytes, status: int,
                       code: str) -> None:
    before = sorted(p.name for p in web_settings.corpus_dir.iterdir())
    r = client.post("/api/admin/documents", headers=ADMIN, files={"file": (name, content, "application/octet-stream")})
    assert_error(r, status, code)
    assert sorted(p.name for p in web_settings.corpus_dir.iterdir()) == before  # nothing left behind


def test_uploaded_pdf_is_indexed_and_viewed_page_by_page(client: TestClient, web_settings: Settings) -> None:
    from .pdfs import make_pdf

    pdf = make_pdf(web_settings.data_dir / "nota.pdf", [
        "Eerste pagina. Inleiding van de nota over het onthaal van nieuwkomers.",
        "Tweede pagina. De stad opent een onthaalbalie voor nieuwkomers in het administratief centrum.",
    ], title="Nota onthaalbeleid")
    r = client.post("/api/admin/documents?reindex=true", headers=ADMIN,
                    files={"file": ("Nota onthaal.pdf", pdf.read_bytes(), "application/pdf")})
    assert r.status_code == 201 and r.json()["source"] == "Nota-onthaal.pdf"
    job = _wait_reindex(client, r.json()["reindex"])
    assert job["state"] == "done"
    until_serving(client, job["report"]["version_id"])
    doc = next(d for d in client.get("/api/documents").json() if d["source"] == "Nota-onthaal.pdf")
    assert doc["pages"] == 2
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    _, _, passages = ctx.assistant().document("Nota-onthaal.pdf")
    second = next(p for p in passages if p.page == 2)
    html = client.get(f"/documents/Nota-onthaal.pdf?passage={second.id}").text
    assert "Pagina 2 van 2" in html and "onthaalbalie" in html and "Inleiding van de nota" not in html
    assert f'<mark class="cited" id="p-{second.id}"' in html
    assert "Inleiding van de nota" in client.get("/documents/Nota-onthaal.pdf?page=1").text
    assert_error(client.get("/documents/Nota-onthaal.pdf?page=3"), 404, "page_not_found")
    original = client.get("/files/Nota-onthaal.pdf")
    assert original.headers["content-type"] == "application/pdf" and original.content.startswith(b"%PDF-")


def test_upload_far_above_the_limit_is_refused_before_parsing(client: TestClient) -> None:
    r = client.post("/api/admin/documents", headers=ADMIN,
                    files={"file": ("groot.txt", io.BytesIO(b"a" * (1024 * 1024)), "text/plain")})
    assert_error(r, 413, "too_large")


def test_upload_without_file(client: TestClient) -> None:
    assert_error(client.post("/api/admin/documents", headers=ADMIN, data={"x": "y"}), 422, "no_file")


@pytest.mark.parametrize("source", ["../corpus/x.md", "/etc/passwd", "catalog.toml", "bestaat-niet.md",
                                    "%2e%2e/%2e%2e/etc/passwd"])
def test_delete_stays_inside_the_corpus(client: TestClient, source: str) -> None:
    assert_error(client.delete(f"/api/admin/documents/{source}", headers=ADMIN), 404)


def test_a_reindex_request_during_a_run_is_queued_not_refused(web_settings: Settings, fake_embedder: Any,
                                                               tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    jobs = Reindexer(web_settings, embedder_factory=functools.partial(GatedFakeEmbedder, str(gate)))
    (web_settings.corpus_dir / "eerst.md").write_text("# Eerst\n\nEen document over buurtwerk.\n")
    with TestClient(create_app(web_settings, embedder=fake_embedder, jobs=jobs)) as c:
        first = c.post("/api/admin/reindex", headers=ADMIN)
        assert first.status_code == 202 and first.json()["job"]["state"] == "queued"
        deadline = time.monotonic() + JOB_DEADLINE_S
        while not (gate / "embedding").exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second = c.post("/api/admin/reindex", headers=ADMIN)
        assert second.status_code == 202, second.text
        body = second.json()
        assert body["queued_behind"] == first.json()["job"]["id"] and body["message"] == t("job.queued_behind")
        status = c.get("/api/admin/status", headers=ADMIN).json()["reindex"]
        assert status["current"]["state"] == "running" and status["next"]["id"] == body["job"]["id"]
        (gate / "release").touch()
        assert _wait_reindex(c, first.json())["state"] == "done"
        assert _wait_reindex(c, body)["state"] == "done"
        assert_error(c.get("/api/admin/reindex/bestaat-niet", headers=ADMIN), 404, "job_unknown")


def test_failed_reindex_is_reported_and_the_old_index_stays(client: TestClient, web_settings: Settings) -> None:
    version = client.get("/readyz").json()["index_version"]
    for path in web_settings.corpus_dir.iterdir():
        if path.is_file() and path.suffix in (".md", ".txt"):
            path.unlink()
    r = client.post("/api/admin/reindex", headers=ADMIN)
    assert r.status_code == 202
    job = _wait_reindex(client, r.json())
    assert job["state"] == "failed" and job["error"]
    assert client.get("/readyz").json()["index_version"] == version
    assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200


# ---------------------------------------------------------------- real model

@pytest.fixture
def real_client(real_index_settings: Settings, real_embedder: Any, tmp_path: Path) -> Iterator[TestClient]:
    settings = copy_index(real_index_settings, real_index_settings.with_(data_dir=tmp_path / "data"))
    with TestClient(create_app(settings, embedder=real_embedder)) as c:
        yield c


@pytest.mark.real_model
def test_real_answer_cites_the_inclucities_toolkit(real_client: TestClient) -> None:
    body = real_client.post("/api/ask", json={"question": QUESTION}).json()
    assert body["found"] is True
    first = body["citations"][0]
    assert "IncluCities" in first["title"] and "[1]" in body["text"]
    # the link names the quoted sentences (offsets in the passage text); the view marks them, the first one q-N
    spans = ",".join(f"{a}-{b}" for a, b in first["quotes"])
    assert first["quotes"] and first["url"] == \
        f"/documents/{first['source']}?passage={first['passage_id']}&zin={spans}#q-{first['passage_id']}"
    assert all(" ".join(first["text"][a:b].split()) in " ".join(body["text"].split()) for a, b in first["quotes"])
    assert all(not c["quotes"] and "zin=" not in c["url"] for c in body["related"])  # further reading: no quotes
    words = {first["text"][s:e].lower() for s, e in first["highlights"]}
    assert {"middelen", "beperkt"} <= words
    view = real_client.get(first["url"].split("#")[0])
    assert f'id="p-{first["passage_id"]}"' in view.text and f'id="q-{first["passage_id"]}"' in view.text
    assert view.text.count('<mark class="quote"') >= len(first["quotes"])


@pytest.mark.real_model
def test_real_top_k_and_abstention(real_client: TestClient) -> None:
    body = real_client.post("/api/ask", json={"question": QUESTION, "top_k": 2}).json()
    assert 1 <= len(body["citations"]) <= 2
    off_topic = real_client.post("/api/ask", json={"question": "Hoe laat vertrekt de laatste trein naar Oostende?"})
    assert off_topic.status_code == 200
    body = off_topic.json()
    # no answer: no [n] markers; nearby passages may still come along as "possibly related"
    assert body["found"] is False and not re.search(r"\[\d+\]", body["text"])


@pytest.mark.real_model
def test_real_feedback_round_trip_in_sqlite(real_client: TestClient) -> None:
    answer = real_client.post("/api/ask", json={"question": QUESTION}).json()
    assert real_client.post("/api/feedback", json={"answer_id": answer["answer_id"], "helpful": True}).json() == {
        "ok": True}
    db = real_client.app.state.ctx.settings.feedback_db  # type: ignore[attr-defined]
    with sqlite3.connect(db) as con:
        row = con.execute("SELECT channel, helpful, question, sources FROM feedback WHERE answer_id = ?",
                          (answer["answer_id"],)).fetchone()
    assert row[:3] == ("web", 1, QUESTION) and "IncluCities" in row[3]
    (stored,) = FeedbackStore(db).feedback()
    assert answer["found"] and answer["citations"]
    assert stored.shown == Shown(text=answer["text"], mode=answer["mode"], index_version=answer["index_version"],
                                 passage_ids=tuple(c["passage_id"] for c in answer["citations"]))
