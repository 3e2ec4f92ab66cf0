"""``/beheer``: the admin page and the small JSON API behind it (session cookie + CSRF token).

The page (bots/static/beheer.*) is static; everything it shows comes from ``/beheer/api/...``. Those
routes are not in the OpenAPI document: they are the page's own, for people in a browser, while
scripts keep using the bearer-token API under ``/api/admin`` (admin.py). Both share the same rules:
uploads and deletes through ``ingest.corpusfiles``, metadata through ``ingest.catalog`` (its one
owner), re-indexing as a job (``ingest.jobs``), all through ``adminops`` (audited). ``guards.SessionGate``
has checked the session and, for changes, the CSRF token before any of these run or a byte of a body is
read; each route then names the role it needs (``auth.Editor``, ``auth.Manager``).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, StrictStr

from assistant import index as idx
from assistant.audience import may_see
from assistant.hashing import file_sha256
from assistant.stores.feedback import Shown
from bots.texts import section, t
from ingest import catalog
from ingest.corpusfiles import safe_filename
from ingest.formats import SUPPORTED_SUFFIXES, for_suffix
from ingest.loaders import discover

from . import audit, csvexport
from .adminops import AdminOps, MetadataRequest, Ops, queue_dict
from .audience import beheer_audiences
from .auth import BeheerSession, Editor, Manager, role_label
from .context import Ctx, WebContext
from .errors import ApiError
from .guards import client_address
from .identity import VIA_OIDC, Caller, token_principal
from .pages import document_url, kind_label
from .session import COOKIE_PATH, Session, cookie_from_header, cookie_header
from .templating import render

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
BEHEER_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
FEEDBACK_LIMIT = 1000
AUDIT_LIMIT = 10_000  # the page and its CSV show the newest events (the API pages further with ?limit)
UI_PREFIX = "beheer.ui."  # the page's texts in assistant/messages.py

router = APIRouter(prefix="/beheer", include_in_schema=False)


def _is_https(request: Request) -> bool:
    """Over https (uvicorn's TLS, or a trusted proxy's X-Forwarded-Proto): then the cookie is Secure."""
    return request.url.scheme == "https"


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
    who = session.principal if session else None
    return {
        "enabled": ctx.sessions.enabled,
        "oidc": ctx.settings.oidc_enabled,
        "token_sign_in": bool(ctx.settings.admin_token),
        "signed_in": session is not None,
        "csrf": session.csrf if session else "",
        "expires_at": session.expires_at if session else None,
        "user": {"name": who.name, "subject": who.subject, "role": who.role, "role_label": role_label(who.role),
                 "via": who.via} if who else None,
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
    """The break-glass sign-in with the admin token (as ``beheerder``); people normally sign in through the
    identity provider (oidc.py)."""
    if not ctx.settings.admin_token:
        raise ApiError(404, "admin_disabled", t("admin.disabled"))
    caller = Caller(token_principal(), client_address(request.scope))
    if not ctx.sessions.token_matches(body.token.strip()):
        log.warning("failed admin sign-in")
        audit.record(ctx.audit, caller, audit.SIGN_IN_FAILED, "beheer", reason="bad_token")
        raise ApiError(401, "bad_token", t("beheer.bad_token"))
    value, session = ctx.sessions.issue()
    audit.record(ctx.audit, caller, audit.SIGN_IN, "beheer")
    response = JSONResponse(_session_body(ctx, session), headers={"Cache-Control": "no-store"})
    response.headers.append("set-cookie", cookie_header(value, int(ctx.sessions.lifetime_s), _is_https(request)))
    return response


@router.post("/api/logout")
async def logout(ctx: Ctx, request: Request, session: BeheerSession) -> JSONResponse:
    """Ends the session here (everywhere: the signed-out list is shared), and names the identity provider's
    sign-out page when there is one, so the person can end that session too."""
    ctx.sessions.sign_out(session)
    audit.record(ctx.audit, Caller(session.principal, client_address(request.scope)), audit.SIGN_OUT)
    oidc = ctx.oidc
    end = await oidc.end_session_url(request) if oidc is not None and session.principal.via == VIA_OIDC else ""
    response = JSONResponse({"signed_in": False, "message": t("beheer.signed_out_ok"), "end_session_url": end})
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
    return AdminOps(ctx).published()


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
    last = ctx.index.read_last_ingest() or {}
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
        # the audience the catalog sets (what the next index will hold; the status says when it differs)
        "audience": [g for g in entry.get("audience", "").split(",") if g] if entry or doc is None
        else list(doc.audience),
    }


@router.get("/api/documents")
def documents(ctx: Ctx, caller: Editor) -> dict[str, Any]:
    return document_rows(ctx)


@router.post("/api/documents", status_code=201)
def upload(ops: Ops, caller: Editor, file: Annotated[UploadFile | None, File()] = None,
           title: Annotated[str, Form()] = "", publisher: Annotated[str, Form()] = "",
           date: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "",
           language: Annotated[str, Form()] = "", audience: Annotated[str, Form()] = "",
           replace: Annotated[bool, Query()] = False, reindex: Annotated[bool, Query()] = False) -> dict[str, Any]:
    """One file with its metadata (the page sends one request per dropped file)."""
    if file is None or not file.filename:
        raise ApiError(422, "no_file", t("upload.no_file"))
    fields = {k: v for k, v in (("title", title), ("publisher", publisher), ("date", date), ("kind", kind),
                                ("language", language), ("audience", audience)) if v.strip()}
    try:
        return ops.upload(caller, file.filename, file.file, fields, replace, reindex)
    except ApiError as exc:
        if exc.code == "document_exists":  # the API's message names its query parameter; the page has a checkbox
            raise ApiError(409, "document_exists", t("beheer.exists", name=safe_filename(file.filename))) from None
        raise


class BeheerMetadata(MetadataRequest):
    audience: StrictStr | None = None  # group names separated by commas; "" is everyone


@router.patch("/api/documents/{source:path}")
def edit(source: str, body: BeheerMetadata, ops: Ops, caller: Editor) -> dict[str, Any]:
    """Change a document's catalog entry; the re-index that follows re-embeds it."""
    return ops.edit(caller, source, body.changes())


@router.delete("/api/documents/{source:path}")
def delete(source: str, ops: Ops, caller: Editor) -> dict[str, Any]:
    return ops.delete(caller, source, reindex=True)


@router.post("/api/reindex", status_code=202)
def reindex(ops: Ops, caller: Editor) -> dict[str, Any]:
    return ops.reindex(caller)


@router.get("/api/jobs")
def jobs(ops: Ops, caller: Editor) -> JSONResponse:
    return JSONResponse(queue_dict(ops.jobs()), headers={"Cache-Control": "no-store"})


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
    audience: dict[str, tuple[str, ...]] = field(default_factory=dict)  # of the documents that have one

    def visible(self, source: str, audiences: frozenset[str] | None) -> bool:
        """Whether a /beheer reader may see ``source`` in a feedback row (None: a beheerder, who sees all).
        A source no longer in the index cannot be checked, so only a beheerder sees it."""
        if audiences is None:
            return True
        return source in self.sources and may_see(self.audience.get(source, ()), audiences)


def _published_now(ctx: WebContext) -> _Published:
    manifest = _published(ctx)
    if manifest is None:
        return _Published()
    return _Published(manifest.version_id, frozenset(d.source for d in manifest.documents),
                      {d.source: d.audience for d in manifest.documents if d.audience})


def _for_reader(shown: Shown, sources: list[dict[str, object]], now: _Published, audiences: frozenset[str] | None,
                ) -> tuple[Shown, list[dict[str, object]]]:
    """A feedback row as a /beheer reader in ``audiences`` may read it: when the answer cited a document they may
    not see, its text and sources are left out (the question and comment are the asker's own words)."""
    if all(now.visible(str(s.get("source") or ""), audiences) for s in sources):
        return shown, sources
    return Shown(text=t("beheer.hidden_answer"), mode=shown.mode, passage_ids=(),
                 index_version=shown.index_version), []


def _shown(shown: Shown, sources: list[dict[str, object]], now: _Published,
           audiences: frozenset[str] | None = None) -> dict[str, Any]:
    """The answer that was shown, and its sources, each with a link to the document view.

    Passage ids belong to one index version: while it is still the published one, a source links to
    its passage (highlighted); after a re-index only to the document, and to nothing once the document
    left the index. Sources and passage ids come from the same citations, in order; older votes
    recorded no ids.
    """
    shown, sources = _for_reader(shown, sources, now, audiences)
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


def _feedback(ctx: WebContext, vote: str, audiences: frozenset[str] | None) -> list[dict[str, Any]]:
    helpful = {"up": True, "down": False}.get(vote)
    now = _published_now(ctx)
    return [{"created_at": f.created_at, "channel": f.channel, "helpful": f.helpful, "comment": f.comment,
             "question": f.question, "found": f.found, **_shown(f.shown, f.sources, now, audiences)}
            for f in ctx.store.recent_feedback(FEEDBACK_LIMIT, helpful)]


Vote = Annotated[str, Query(pattern="^(all|up|down)$")]


@router.get("/api/feedback")
def feedback(ctx: Ctx, caller: Editor, request: Request, vote: Vote = "all") -> dict[str, Any]:
    return {"feedback": _feedback(ctx, vote, beheer_audiences(request)), "counts": ctx.store.counts()}


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
def feedback_csv(ctx: Ctx, caller: Manager, request: Request, vote: Vote = "all") -> Response:
    # the answer's columns come after the earlier ones, so spreadsheets built on the old export still fit
    header = [t(k) for k in ("csv.date", "csv.channel", "csv.vote", "csv.comment", "csv.question", "csv.sources",
                             *SHOWN_HEADER)]
    rows = [(csvexport.when(f["created_at"]), f["channel"], t("csv.helpful" if f["helpful"] else "csv.not_helpful"),
             f["comment"], f["question"], _sources_text(f["sources"]), *_shown_cells(f))
            for f in _feedback(ctx, vote, beheer_audiences(request))]
    return _csv("wegwijzer-feedback", csvexport.to_csv(header, rows))


def _unanswered(ctx: WebContext) -> list[dict[str, Any]]:
    return [{"question": g.question, "count": g.count, "first_asked": g.first_asked, "last_asked": g.last_asked,
             "channels": g.channels, "variants": g.variants} for g in ctx.store.unanswered()]


@router.get("/api/unanswered")
def unanswered(ctx: Ctx, caller: Editor) -> dict[str, Any]:
    return {"questions": _unanswered(ctx)}


@router.get("/api/unanswered.csv")
def unanswered_csv(ctx: Ctx, caller: Manager) -> Response:
    header = [t("csv.question"), t("csv.count"), t("csv.last_asked"), t("csv.first_asked"), t("csv.channel"),
              t("csv.variants")]
    rows = [(g["question"], g["count"], csvexport.when(g["last_asked"]), csvexport.when(g["first_asked"]),
             ", ".join(g["channels"]), " | ".join(g["variants"])) for g in _unanswered(ctx)]
    return _csv("wegwijzer-vragen-zonder-antwoord", csvexport.to_csv(header, rows))


def _wrong(ctx: WebContext, audiences: frozenset[str] | None) -> list[dict[str, Any]]:
    now = _published_now(ctx)
    return [{"question": g.question, "count": g.count, "first_marked": g.first_marked, "last_marked": g.last_marked,
             "channels": g.channels, "variants": g.variants, "comments": g.comments,
             **_shown(g.shown, g.sources, now, audiences)} for g in ctx.store.wrong_answers()]


@router.get("/api/wrong")
def wrong_answers(ctx: Ctx, caller: Editor, request: Request) -> dict[str, Any]:
    return {"answers": _wrong(ctx, beheer_audiences(request))}


@router.get("/api/wrong.csv")
def wrong_answers_csv(ctx: Ctx, caller: Manager, request: Request) -> Response:
    header = [t(k) for k in ("csv.question", "csv.count", "csv.last_marked", "csv.first_marked", "csv.comments",
                             *SHOWN_HEADER, "csv.sources", "csv.channel", "csv.variants")]
    rows = [(g["question"], g["count"], csvexport.when(g["last_marked"]), csvexport.when(g["first_marked"]),
             " | ".join(g["comments"]), *_shown_cells(g), _sources_text(g["sources"]), ", ".join(g["channels"]),
             " | ".join(g["variants"])) for g in _wrong(ctx, beheer_audiences(request))]
    return _csv("wegwijzer-antwoorden-gemarkeerd-als-fout", csvexport.to_csv(header, rows))


# ---------------------------------------------------------------- the audit trail (beheerder only)


@router.get("/api/audit")
def audit_trail(ctx: Ctx, caller: Manager) -> JSONResponse:
    return JSONResponse({"events": audit.recent(ctx.audit, AUDIT_LIMIT)},
                        headers={"Cache-Control": "no-store"})


def _detail(detail: dict[str, Any]) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else ""


@router.get("/api/audit.csv")
def audit_csv(ctx: Ctx, caller: Manager) -> Response:
    header = [t(k) for k in ("csv.date", "csv.audit.action", "csv.audit.name", "csv.audit.subject", "csv.audit.role",
                             "csv.audit.via", "csv.audit.address", "csv.audit.target", "csv.audit.detail")]
    rows = [(csvexport.when(e["at"]), t(f"audit.action.{e['action']}"), e["name"], e["subject"], e["role"], e["via"],
             e["address"], e["target"], _detail(e["detail"])) for e in audit.recent(ctx.audit, AUDIT_LIMIT)]
    return _csv("wegwijzer-auditlog", csvexport.to_csv(header, rows))


__all__ = ["BEHEER_CSP", "COOKIE_PATH", "document_rows", "router"]
