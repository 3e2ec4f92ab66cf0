"""``/beheer``: the admin page and the small JSON API behind it (session cookie + CSRF token).

The page (bots/static/beheer.*) is static; everything it shows comes from ``/beheer/api/...``. Those
routes are not in the OpenAPI document: they are the page's own, for people in a browser, while
scripts keep using the bearer-token API under ``/api/admin`` (admin.py). Both share the same rules:
uploads and deletes through ``ingest.corpusfiles``, metadata through ``ingest.catalog`` (its one
owner), re-indexing as a job (``ingest.jobs``). ``guards.SessionGate`` has checked the session and,
for changes, the CSRF token before any of these run or a byte of a body is read.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, StrictStr

from assistant import index as idx
from assistant.errors import WegwijzerError
from assistant.hashing import file_sha256
from assistant.messages import section, t
from assistant.stores.feedback import Shown
from ingest import catalog
from ingest.catalog import CatalogError
from ingest.corpusfiles import CorpusFileError, delete_document, inside, safe_filename, store_upload
from ingest.formats import SUPPORTED_SUFFIXES, for_suffix
from ingest.loaders import discover

from . import csvexport
from .admin import CHANNEL, _jobs_status, _queue, _ticket, indexed_sources
from .context import Ctx, WebContext
from .errors import ApiError
from .pages import document_url, kind_label
from .session import COOKIE_PATH, Session, cookie_from_header, cookie_header
from .templating import render
from .uploads import api_error

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
BEHEER_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
CATALOG_STATUS = {"invalid": 422, "unreadable": 409, "busy": 503, "unwritable": 503}
FEEDBACK_LIMIT = 1000
UI_PREFIX = "beheer.ui."  # the page's texts in assistant/messages.py

router = APIRouter(prefix="/beheer", include_in_schema=False)


def _session(request: Request) -> Session:
    """The session ``guards.SessionGate`` verified for this request (it refused the request otherwise)."""
    session = request.scope.get("state", {}).get("beheer_session")
    if not isinstance(session, Session):
        raise ApiError(401, "signed_out", t("beheer.signed_out"))
    return session


def _catalog_error(exc: CatalogError) -> ApiError:
    code = "invalid_metadata" if exc.kind == "invalid" else f"catalog_{exc.kind}"
    return ApiError(CATALOG_STATUS.get(exc.kind, 422), code, exc.message)


def _is_https(request: Request) -> bool:
    """Over https (uvicorn's TLS, or a trusted proxy's X-Forwarded-Proto): then the cookie is Secure."""
    return request.url.scheme == "https"


def _reindex(ctx: WebContext) -> dict[str, Any]:
    try:
        return {"reindex": _ticket(ctx.jobs.request(CHANNEL)), "reindex_error": ""}
    except WegwijzerError as exc:
        log.warning("could not request a re-index: %s", exc)
        return {"reindex": None, "reindex_error": str(exc)}


# ---------------------------------------------------------------- the page and the session


@functools.lru_cache(maxsize=1)
def page_html() -> str:
    """beheer.html (a Jinja2 template beside its script, autoescaped) with its texts from the catalogue:
    ``{{ nav.documents }}`` is the text ``beheer.ui.nav.documents``, and all of them go to the script as JSON
    (``{{ texts_json }}``, a data block the CSP does not run; ``<`` escaped so no text can close it). A key
    missing from the catalogue fails here, at the first request, not in a browser."""
    texts = section(UI_PREFIX)
    nested: dict[str, Any] = {}
    for key, value in texts.items():
        head, _, rest = key.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            nested[head] = value
    data = json.dumps(texts, ensure_ascii=False, sort_keys=True).replace("<", "\\u003c")
    return render("beheer.html", **nested, texts_json=Markup(data))  # noqa: S704 (JSON with < escaped)


@router.get("")
def page() -> HTMLResponse:
    return HTMLResponse(page_html(), headers={"Content-Security-Policy": BEHEER_CSP, "Cache-Control": "no-store"})


def _session_body(ctx: WebContext, session: Session | None) -> dict[str, Any]:
    return {
        "enabled": ctx.sessions.enabled,
        "signed_in": session is not None,
        "csrf": session.csrf if session else "",
        "expires_at": session.expires_at if session else None,
        "kinds": [{"value": k, "label": kind_label(k)} for k in catalog.KINDS],
        "suffixes": list(SUPPORTED_SUFFIXES),
        "max_upload_mb": ctx.settings.max_upload_bytes // (1024 * 1024),
    }


@router.get("/api/session")
def session_state(ctx: Ctx, request: Request) -> JSONResponse:
    session = ctx.sessions.verify(cookie_from_header(request.headers.get("cookie")))
    return JSONResponse(_session_body(ctx, session), headers={"Cache-Control": "no-store"})


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: StrictStr


@router.post("/api/login")
def login(body: LoginRequest, ctx: Ctx, request: Request) -> JSONResponse:
    if not ctx.sessions.enabled:
        raise ApiError(404, "admin_disabled", t("admin.disabled"))
    if not ctx.sessions.token_matches(body.token.strip()):
        log.warning("failed admin sign-in")
        raise ApiError(401, "bad_token", t("beheer.bad_token"))
    value, session = ctx.sessions.issue()
    response = JSONResponse(_session_body(ctx, session), headers={"Cache-Control": "no-store"})
    response.headers.append("set-cookie", cookie_header(value, int(ctx.sessions.lifetime_s), _is_https(request)))
    return response


@router.post("/api/logout")
def logout(ctx: Ctx, request: Request) -> JSONResponse:
    ctx.sessions.sign_out(_session(request))
    response = JSONResponse({"signed_in": False, "message": t("beheer.signed_out_ok")})
    response.headers.append("set-cookie", cookie_header("", 0, _is_https(request)))
    return response


# ---------------------------------------------------------------- documents


class _HashCache:
    """SHA-256 of corpus files, recomputed only when size or mtime changed."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int, str]] = {}

    def digest(self, path: Path) -> tuple[str, float]:
        st = path.stat()
        key = str(path)
        hit = self._seen.get(key)
        if hit is not None and hit[:2] == (st.st_size, st.st_mtime_ns):
            return hit[2], st.st_mtime
        digest = file_sha256(path)
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[key] = (st.st_size, st.st_mtime_ns, digest)
        return digest, st.st_mtime


_HASHES = _HashCache()


def _published(ctx: WebContext) -> idx.Manifest | None:
    store = ctx.index_store()
    try:
        version = store.current_version()
        return store.read_manifest(version) if version else None
    except WegwijzerError as exc:
        log.warning("cannot read the published manifest: %s", exc)
        return None


def document_rows(ctx: WebContext) -> dict[str, Any]:
    """Every document in the corpus folder or the published index, with its status for people.

    indexed: the published version holds this file with this catalog entry. waiting: in the folder
    (or changed, or removed) but not yet so in the published version. skipped: the last ingest could
    not read it (its reason), and the file did not change since.
    """
    settings = ctx.settings
    corpus = settings.corpus_dir
    files, unsupported = discover(corpus) if corpus.is_dir() else ([], [])
    entries, _ = catalog.read_catalog(corpus)
    manifest = _published(ctx)
    indexed = {d.source: d for d in manifest.documents} if manifest else {}
    last = ctx.index_store().read_last_ingest() or {}
    last_at = float(last.get("finished_at") or 0)
    skipped = {s.get("source"): s.get("reason", "") for s in last.get("skipped") or [] if isinstance(s, dict)}
    rows = []
    for path, source in files:
        entry = entries.get(source, {})
        doc = indexed.get(source)
        try:
            digest, mtime = _HASHES.digest(path)
        except OSError:
            continue  # removed while we looked
        status, reason = "waiting", ""
        if doc is not None and doc.sha256 == digest and doc.catalog == entry:
            status = "indexed"
        elif doc is not None:
            reason = t("beheer.status_changed")
        elif source in skipped and last_at >= mtime:
            status, reason = "skipped", skipped[source]
        rows.append(_row(source, entry, doc, status, reason, True, path.stat().st_size))
    present = {source for _, source in files} | {source for source, _ in unsupported}
    for source, doc in indexed.items():
        if source not in present:
            rows.append(_row(source, entries.get(source, {}), doc, "waiting", t("beheer.status_removed"), False, None))
    for source, reason in unsupported:
        # a link or FIFO an older version indexed: shown once, as refused, and deletable (the link, not its target)
        rows.append(_row(source, {}, indexed.get(source), "skipped", reason, True, None))
    rows.sort(key=lambda r: (str(r["title"]).casefold(), r["source"]))
    return {
        "documents": rows,
        "index": {"version": manifest.version_id if manifest else None,
                  "documents": len(indexed), "passages": manifest.passage_count if manifest else 0},
        "last_ingest": {"finished_at": last.get("finished_at"), "ok": last.get("ok"), "error": last.get("error", "")},
    }


def _row(source: str, entry: dict[str, str], doc: idx.DocumentEntry | None, status: str, reason: str,
         in_corpus: bool, size: int | None) -> dict[str, Any]:
    def pick(name: str, default: str = "") -> str:
        return entry.get(name) or (str(getattr(doc, name)) if doc is not None and getattr(doc, name) else default)

    kind = pick("kind")
    return {
        "source": source, "title": pick("title", Path(source).stem.replace("-", " ")),
        "publisher": pick("publisher"), "date": pick("date"), "kind": kind, "kind_label": kind_label(kind),
        "language": pick("language"), "pages": doc.pages if doc else None, "passages": doc.passages if doc else None,
        "format": doc.format if doc else Path(source).suffix.lstrip(".").lower(), "size": size,
        "status": status, "reason": reason, "in_corpus": in_corpus, "in_index": doc is not None,
        "editable": in_corpus and for_suffix(source) is not None,
        "url": document_url(source) if doc is not None else None, "catalog": entry,
    }


@router.get("/api/documents")
def documents(ctx: Ctx, request: Request) -> dict[str, Any]:
    _session(request)
    return document_rows(ctx)


@router.post("/api/documents", status_code=201)
def upload(ctx: Ctx, request: Request, file: Annotated[UploadFile | None, File()] = None,
           title: Annotated[str, Form()] = "", publisher: Annotated[str, Form()] = "",
           date: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "",
           language: Annotated[str, Form()] = "",
           replace: Annotated[bool, Query()] = False, reindex: Annotated[bool, Query()] = False) -> dict[str, Any]:
    """One file with its metadata (the page sends one request per dropped file)."""
    _session(request)
    if file is None or not file.filename:
        raise ApiError(422, "no_file", t("upload.no_file"))
    fields = {k: v for k, v in (("title", title), ("publisher", publisher), ("date", date), ("kind", kind),
                                ("language", language)) if v.strip()}
    try:
        meta = catalog.validate_entry(fields)  # before the file is stored: a bad date leaves nothing behind
        name, size = store_upload(ctx.settings.corpus_dir, file.filename, file.file,
                                  ctx.settings.max_upload_bytes, replace)
    except CatalogError as exc:
        raise _catalog_error(exc) from None
    except CorpusFileError as exc:
        if exc.kind == "exists":  # the API's message names its query parameter; the page has a checkbox
            name = safe_filename(file.filename)
            raise ApiError(409, "document_exists", t("beheer.exists", name=name)) from None
        raise api_error(exc) from None
    entry: dict[str, str] = {}
    if meta:
        try:
            entry = catalog.update_entry(ctx.settings.corpus_dir, name, meta)
        except CatalogError as exc:  # the file is in; say why its metadata is not
            raise _catalog_error(exc) from None
    out: dict[str, Any] = {"source": name, "size": size, "catalog": entry}
    return {**out, **(_reindex(ctx) if reindex else {"reindex": None, "reindex_error": ""})}


class MetadataRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: StrictStr | None = None
    publisher: StrictStr | None = None
    date: StrictStr | None = None
    kind: StrictStr | None = None
    language: StrictStr | None = None


def _in_corpus(ctx: WebContext, source: str) -> None:
    path = inside(ctx.settings.corpus_dir, source)
    if path is None or not path.is_file() or source not in {s for _, s in discover(ctx.settings.corpus_dir)[0]}:
        raise ApiError(404, "document_not_found", t("document.not_in_corpus", name=source[:120]))


@router.patch("/api/documents/{source:path}")
def edit(source: str, body: MetadataRequest, ctx: Ctx, request: Request) -> dict[str, Any]:
    """Change a document's catalog entry; the re-index that follows re-embeds it."""
    _session(request)
    _in_corpus(ctx, source)
    fields = {k: v for k, v in body.model_dump().items() if v is not None}
    try:
        entry = catalog.update_entry(ctx.settings.corpus_dir, source, fields)
    except CatalogError as exc:
        raise _catalog_error(exc) from None
    return {"source": source, "catalog": entry, **_reindex(ctx)}


@router.delete("/api/documents/{source:path}")
def delete(source: str, ctx: Ctx, request: Request) -> dict[str, Any]:
    _session(request)
    try:
        removed = delete_document(ctx.settings.corpus_dir, source, indexed_sources(ctx))
    except CorpusFileError as exc:
        raise api_error(exc) from None
    try:
        catalog.remove_entry(ctx.settings.corpus_dir, removed)
    except CatalogError as exc:  # the file is gone; a stale entry only costs a line in the catalog
        log.warning("could not remove the catalog entry of %s: %s", removed, exc)
    return {"source": removed, **_reindex(ctx)}


@router.post("/api/reindex", status_code=202)
def reindex(ctx: Ctx, request: Request) -> dict[str, Any]:
    _session(request)
    try:
        return _ticket(ctx.jobs.request(CHANNEL))
    except WegwijzerError as exc:
        raise ApiError(503, "reindex_unavailable", str(exc)) from exc


@router.get("/api/jobs")
def jobs(ctx: Ctx, request: Request) -> JSONResponse:
    _session(request)
    return JSONResponse(_queue(_jobs_status(ctx)), headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------- feedback and unanswered questions


def _sources_text(sources: list[dict[str, object]]) -> str:
    parts = []
    for s in sources:
        page = f", p. {s['page']}" if s.get("page") else ""
        parts.append(f"{s.get('title') or s.get('source')}{page}")
    return " | ".join(parts)


@dataclass(frozen=True)
class _Published:
    """What the links on the feedback lists may point at: the published index version and its documents."""

    version: str = ""
    sources: frozenset[str] = frozenset()


def _published_now(ctx: WebContext) -> _Published:
    manifest = _published(ctx)
    if manifest is None:
        return _Published()
    return _Published(manifest.version_id, frozenset(d.source for d in manifest.documents))


def _shown(shown: Shown, sources: list[dict[str, object]], now: _Published) -> dict[str, Any]:
    """The answer that was shown, and its sources, each with a link to the document view.

    Passage ids belong to one index version: while it is still the published one, a source links to
    its passage (highlighted); after a re-index only to the document, and to nothing once the document
    left the index. Sources and passage ids come from the same citations, in order; older votes
    recorded no ids.
    """
    same_index = bool(shown.index_version) and shown.index_version == now.version
    ids: list[int | None] = list(shown.passage_ids) if len(shown.passage_ids) == len(sources) else [None] * len(sources)
    linked = []
    for source, passage_id in zip(sources, ids, strict=True):
        name = str(source.get("source") or "")
        url = document_url(name, passage_id if same_index else None) if name in now.sources else ""
        linked.append({**source, "passage_id": passage_id, "url": url})
    return {"answer": {"text": shown.text, "mode": shown.mode, "passage_ids": list(shown.passage_ids),
                       "index_version": shown.index_version, "current": same_index},
            "sources": linked}


def _feedback(ctx: WebContext, vote: str) -> list[dict[str, Any]]:
    helpful = {"up": True, "down": False}.get(vote)
    now = _published_now(ctx)
    return [{"created_at": f.created_at, "channel": f.channel, "helpful": f.helpful, "comment": f.comment,
             "question": f.question, "found": f.found, **_shown(f.shown, f.sources, now)}
            for f in ctx.store.recent_feedback(FEEDBACK_LIMIT, helpful)]


Vote = Annotated[str, Query(pattern="^(all|up|down)$")]


@router.get("/api/feedback")
def feedback(ctx: Ctx, request: Request, vote: Vote = "all") -> dict[str, Any]:
    _session(request)
    return {"feedback": _feedback(ctx, vote), "counts": ctx.store.counts()}


def _csv(name: str, text: str) -> Response:
    stamp = time.strftime("%Y-%m-%d")
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"',
                             "Cache-Control": "no-store"})


def _mode_text(mode: str) -> str:
    return t(f"csv.mode.{mode}") if mode in ("extractive", "generated") else ""


def _shown_cells(item: dict[str, Any]) -> tuple[str, str, str, str]:
    """The answer columns of both CSV files: text, mode, cited passage ids, index version."""
    answer = item["answer"]
    return (answer["text"], _mode_text(answer["mode"]), " ".join(str(i) for i in answer["passage_ids"]),
            answer["index_version"])


SHOWN_HEADER = ("csv.answer", "csv.mode", "csv.passages", "csv.index_version")


@router.get("/api/feedback.csv")
def feedback_csv(ctx: Ctx, request: Request, vote: Vote = "all") -> Response:
    _session(request)
    # the answer's columns come after the earlier ones, so spreadsheets built on the old export still fit
    header = [t(k) for k in ("csv.date", "csv.channel", "csv.vote", "csv.comment", "csv.question", "csv.sources",
                             *SHOWN_HEADER)]
    rows = [(csvexport.when(f["created_at"]), f["channel"], t("csv.helpful" if f["helpful"] else "csv.not_helpful"),
             f["comment"], f["question"], _sources_text(f["sources"]), *_shown_cells(f)) for f in _feedback(ctx, vote)]
    return _csv("wegwijzer-feedback", csvexport.to_csv(header, rows))


def _unanswered(ctx: WebContext) -> list[dict[str, Any]]:
    return [{"question": g.question, "count": g.count, "first_asked": g.first_asked, "last_asked": g.last_asked,
             "channels": g.channels, "variants": g.variants} for g in ctx.store.unanswered()]


@router.get("/api/unanswered")
def unanswered(ctx: Ctx, request: Request) -> dict[str, Any]:
    _session(request)
    return {"questions": _unanswered(ctx)}


@router.get("/api/unanswered.csv")
def unanswered_csv(ctx: Ctx, request: Request) -> Response:
    _session(request)
    header = [t("csv.question"), t("csv.count"), t("csv.last_asked"), t("csv.first_asked"), t("csv.channel"),
              t("csv.variants")]
    rows = [(g["question"], g["count"], csvexport.when(g["last_asked"]), csvexport.when(g["first_asked"]),
             ", ".join(g["channels"]), " | ".join(g["variants"])) for g in _unanswered(ctx)]
    return _csv("wegwijzer-vragen-zonder-antwoord", csvexport.to_csv(header, rows))


def _wrong(ctx: WebContext) -> list[dict[str, Any]]:
    now = _published_now(ctx)
    return [{"question": g.question, "count": g.count, "first_marked": g.first_marked, "last_marked": g.last_marked,
             "channels": g.channels, "variants": g.variants, "comments": g.comments,
             **_shown(g.shown, g.sources, now)} for g in ctx.store.wrong_answers()]


@router.get("/api/wrong")
def wrong_answers(ctx: Ctx, request: Request) -> dict[str, Any]:
    _session(request)
    return {"answers": _wrong(ctx)}


@router.get("/api/wrong.csv")
def wrong_answers_csv(ctx: Ctx, request: Request) -> Response:
    _session(request)
    header = [t(k) for k in ("csv.question", "csv.count", "csv.last_marked", "csv.first_marked", "csv.comments",
                             *SHOWN_HEADER, "csv.sources", "csv.channel", "csv.variants")]
    rows = [(g["question"], g["count"], csvexport.when(g["last_marked"]), csvexport.when(g["first_marked"]),
             " | ".join(g["comments"]), *_shown_cells(g), _sources_text(g["sources"]), ", ".join(g["channels"]),
             " | ".join(g["variants"])) for g in _wrong(ctx)]
    return _csv("wegwijzer-antwoorden-gemarkeerd-als-fout", csvexport.to_csv(header, rows))


__all__ = ["BEHEER_CSP", "COOKIE_PATH", "document_rows", "router"]
