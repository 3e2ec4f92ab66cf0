"""The admin API, behind a bearer token: upload and delete documents, re-index, index status.

Without ``WEGWIJZER_ADMIN_TOKEN`` every admin route answers 404 (the API is off). Browsers on other
origins cannot call it: CORS never allows the Authorization header.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from assistant.errors import WegwijzerError
from assistant.messages import t
from ingest.catalog import CatalogError, remove_entry, update_entry, validate_entry
from ingest.jobs import Ticket
from ingest.jobstate import Job, JobQueue
from ingest.loaders import discover

from .context import Ctx, WebContext
from .errors import ApiError, ErrorBody
from .guards import admin_refusal
from .uploads import delete_document, store_upload

log = logging.getLogger(__name__)
CHANNEL = "web"
bearer = HTTPBearer(auto_error=False, description="WEGWIJZER_ADMIN_TOKEN")


def require_admin(ctx: Ctx,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """The token check as a dependency: documents the scheme in OpenAPI and backs up ``guards.AdminGate``,
    which already refused a wrong token before the body was read."""
    given = f"Bearer {credentials.credentials}" if credentials is not None else None
    refusal = admin_refusal(ctx.settings.admin_token, given)
    if refusal is not None:
        raise refusal


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Geen of een verkeerd toegangstoken"},
    404: {"model": ErrorBody, "description": "Beheer-API staat uit, of onbekend document"},
}
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "Te veel aanvragen van deze client; zie Retry-After"},
}

router = APIRouter(prefix="/api/admin", tags=["beheer"], dependencies=[Depends(require_admin)],
                   responses=AUTH_ERRORS)


class JobProgress(BaseModel):
    phase: str
    documents_done: int
    documents_total: int
    passages_done: int
    passages_total: int


class ReindexJob(BaseModel):
    """One re-index job as every worker sees it (the shared job state)."""

    id: str
    state: str  # queued | running | done | failed
    channels: list[str]
    requests: int
    requested_at: float
    started_at: float | None
    read_at: float | None
    finished_at: float | None
    host: str
    pid: int | None
    progress: JobProgress
    report: dict[str, Any] | None
    peak_rss_kb: int | None
    error: str
    note: str


class ReindexTicket(BaseModel):
    """The job that carries a request, and (in Dutch) why it does not start at once."""

    job: ReindexJob
    queued_behind: str | None
    message: str


class ReindexQueue(BaseModel):
    current: ReindexJob | None
    next: ReindexJob | None
    recent: list[ReindexJob]


class UploadResponse(BaseModel):
    source: str
    size: int
    audience: list[str] = Field(default_factory=list, description="Doelgroep (groepen); leeg: iedereen.")
    reindex: ReindexTicket | None
    reindex_error: str = ""


class AudienceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: list[StrictStr] = Field(description="Groepen die het document mogen zien; een lege lijst: iedereen.")


class AudienceResponse(BaseModel):
    source: str
    audience: list[str]
    reindex: ReindexTicket | None
    reindex_error: str = ""


class DeleteResponse(BaseModel):
    source: str
    reindex: ReindexTicket | None
    reindex_error: str = ""


def _job(job: Job | None) -> dict[str, Any] | None:
    return job.to_dict() if job is not None else None


def _ticket(ticket: Ticket) -> dict[str, Any]:
    return {"job": _job(ticket.job), "queued_behind": ticket.behind.id if ticket.behind else None,
            "message": ticket.message}


def _queue(queue: JobQueue) -> dict[str, Any]:
    return {"current": _job(queue.current), "next": _job(queue.next),
            "recent": [j.to_dict() for j in queue.history[:5]]}


def _jobs_status(ctx: Ctx) -> JobQueue:
    """The shared job state; settling a dead job needs a write, and a read-only data dir still shows it."""
    try:
        return ctx.jobs.status()
    except WegwijzerError as exc:
        log.warning("could not settle the job state: %s", exc)
        return ctx.jobs.store.read()


def indexed_sources(ctx: WebContext) -> set[str]:
    """The sources the published index holds: each can be deleted, whatever it is on disk now."""
    store = ctx.index_store()
    try:
        version = store.current_version()
        return {d.source for d in store.read_manifest(version).documents} if version else set()
    except WegwijzerError as exc:
        log.warning("cannot read the published manifest: %s", exc)
        return set()


def _after_change(ctx: Ctx, reindex: bool) -> dict[str, Any]:
    """Request the re-index an upload or delete asked for; the change itself is already made."""
    if not reindex:
        return {"reindex": None}
    try:
        return {"reindex": _ticket(ctx.jobs.request(CHANNEL))}
    except WegwijzerError as exc:
        log.warning("could not request a re-index: %s", exc)
        return {"reindex": None, "reindex_error": str(exc)}


@router.get("/status", summary="Indexstatus: versie, documenten, laatste indexering en haar verslag")
def status(ctx: Ctx) -> dict[str, Any]:
    files, unsupported = discover(ctx.settings.corpus_dir) if ctx.settings.corpus_dir.is_dir() else ([], [])
    out: dict[str, Any] = {
        "ready": ctx.ready,
        "problem": ctx.problem if not ctx.ready else "",
        "reindex": _queue(_jobs_status(ctx)),
        "corpus": {"documents": sorted(source for _, source in files),
                   "unsupported": [{"source": s, "reason": r} for s, r in unsupported]},
    }
    if ctx.ready:
        out["index"] = ctx.assistant().status()
    else:
        try:
            version = ctx.index.current_version()
        except WegwijzerError:
            version = None
        out["index"] = {"version": version, "last_ingest": ctx.index.read_last_ingest()}
    return out


@router.post("/documents", status_code=201, response_model=UploadResponse,
             responses={409: {"model": ErrorBody}, 413: {"model": ErrorBody}, 415: {"model": ErrorBody},
                        422: {"model": ErrorBody}, **RATE_LIMITED},
             summary="Laad een document op (PDF, DOCX, ODT, PPTX, HTML, TXT of MD) in de documentenmap")
def upload(ctx: Ctx, file: Annotated[UploadFile | None,
                                     File(description="PDF-, DOCX-, ODT-, PPTX-, HTML-, TXT- of MD-bestand")] = None,
           replace: Annotated[bool, Query(description="Een bestaand document vervangen")] = False,
           reindex: Annotated[bool, Query(description="Meteen opnieuw indexeren")] = False,
           audience: Annotated[str, Form(description=(
               "Doelgroep: groepsnamen gescheiden door komma's (bv. 'personeel'); leeg: voor iedereen."))] = "",
           ) -> dict[str, Any]:
    if file is None or not file.filename:
        raise ApiError(422, "no_file", t("upload.no_file"))
    try:
        meta = validate_entry({"audience": audience}) if audience.strip() else {}  # before the file is stored
    except CatalogError as exc:
        raise ApiError(422, "invalid_metadata", exc.message) from None
    name, size = store_upload(ctx.settings.corpus_dir, file.filename, file.file,
                              ctx.settings.max_upload_bytes, replace)
    entry = _set_catalog(ctx, name, meta) if meta else {}
    return {"source": name, "size": size, "audience": _names(entry), **_after_change(ctx, reindex)}


def _names(entry: dict[str, str]) -> list[str]:
    return [name for name in entry.get("audience", "").split(",") if name]


def _set_catalog(ctx: Ctx, source: str, fields: dict[str, Any]) -> dict[str, str]:
    try:
        return update_entry(ctx.settings.corpus_dir, source, fields)
    except CatalogError as exc:
        status = {"invalid": 422, "unreadable": 409}.get(exc.kind, 503)
        raise ApiError(status, "invalid_metadata" if exc.kind == "invalid" else f"catalog_{exc.kind}",
                       exc.message) from None


@router.put("/documents/{source:path}/audience", response_model=AudienceResponse,
            responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
            summary="Stel de doelgroep van een document in (wie het mag zien); geldt na de volgende herindexering")
def set_audience(source: str, body: AudienceRequest, ctx: Ctx,
                 reindex: Annotated[bool, Query(description="Meteen opnieuw indexeren")] = True) -> dict[str, Any]:
    if source not in {s for _, s in discover(ctx.settings.corpus_dir)[0]}:
        raise ApiError(404, "document_not_found", t("document.not_in_corpus", name=source[:120]))
    entry = _set_catalog(ctx, source, {"audience": body.audience})
    return {"source": source, "audience": _names(entry), **_after_change(ctx, reindex)}


@router.delete("/documents/{source:path}", response_model=DeleteResponse,
               summary="Verwijder een document uit de documentenmap")
def delete(source: str, ctx: Ctx,
           reindex: Annotated[bool, Query(description="Meteen opnieuw indexeren")] = False) -> dict[str, Any]:
    removed = delete_document(ctx.settings.corpus_dir, source, indexed_sources(ctx))
    try:
        remove_entry(ctx.settings.corpus_dir, removed)  # its catalog entry goes with it
    except CatalogError as exc:
        log.warning("could not remove the catalog entry of %s: %s", removed, exc)
    return {"source": removed, **_after_change(ctx, reindex)}


@router.post("/reindex", status_code=202, response_model=ReindexTicket,
             responses={503: {"model": ErrorBody, "description": "De jobtoestand kan niet worden geschreven"}},
             summary="Herindexeer in een apart proces; loopt er al een, dan volgt er meteen nog een")
def reindex(ctx: Ctx) -> dict[str, Any]:
    try:
        return _ticket(ctx.jobs.request(CHANNEL))
    except WegwijzerError as exc:  # e.g. the data directory is read-only: the job state cannot be written
        log.warning("could not request a re-index: %s", exc)
        raise ApiError(503, "reindex_unavailable", str(exc)) from exc


@router.get("/reindex/{job_id}", response_model=ReindexJob, summary="Een herindexering: toestand en verslag",
            responses={404: {"model": ErrorBody, "description": "Onbekende herindexering"}})
def reindex_job(job_id: str, ctx: Ctx) -> dict[str, Any]:
    job = ctx.jobs.job(job_id)
    if job is None:
        raise ApiError(404, "job_unknown", t("job.unknown"))
    return job.to_dict()
