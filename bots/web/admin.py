"""The admin API, behind a bearer token: upload, delete and describe documents, re-index, index status, audit.

Without ``WEGWIJZER_ADMIN_TOKEN`` every admin route answers 404 (the API is off). Browsers on other
origins cannot call it: CORS never allows the Authorization header. The token acts as ``beheerder``;
each route still names the role it needs (``auth``), and the operations are the admin page's
(``adminops``), audited the same way.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from assistant.errors import WegwijzerError
from bots.texts import t
from ingest.loaders import discover

from . import audit
from .adminops import MetadataRequest, Ops, queue_dict
from .auth import Editor, Manager
from .context import Ctx
from .errors import ApiError, ErrorBody
from .guards import admin_refusal

log = logging.getLogger(__name__)
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
    403: {"model": ErrorBody, "description": "De rol volstaat niet voor deze handeling"},
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


@router.get("/status", summary="Indexstatus: versie, documenten, laatste indexering en haar verslag")
def status(ctx: Ctx, ops: Ops, caller: Editor) -> dict[str, Any]:
    files, unsupported = discover(ctx.settings.corpus_dir) if ctx.settings.corpus_dir.is_dir() else ([], [])
    out: dict[str, Any] = {
        "ready": ctx.ready,
        "problem": ctx.problem if not ctx.ready else "",
        "reindex": queue_dict(ops.jobs()),
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
def upload(ops: Ops, caller: Editor,
           file: Annotated[UploadFile | None,
                           File(description="PDF-, DOCX-, ODT-, PPTX-, HTML-, TXT- of MD-bestand")] = None,
           replace: Annotated[bool, Query(description="Een bestaand document vervangen")] = False,
           reindex: Annotated[bool, Query(description="Meteen opnieuw indexeren")] = False,
           audience: Annotated[str, Form(description=(
               "Doelgroep: groepsnamen gescheiden door komma's (bv. 'personeel'); leeg: voor iedereen."))] = "",
           ) -> dict[str, Any]:
    if file is None or not file.filename:
        raise ApiError(422, "no_file", t("upload.no_file"))
    fields = {"audience": audience} if audience.strip() else None  # checked before the file is stored
    result = ops.upload(caller, file.filename, file.file, fields, replace, reindex)
    return {**result, "audience": _names(result.get("catalog", {}))}


def _names(entry: dict[str, str]) -> list[str]:
    return [name for name in entry.get("audience", "").split(",") if name]


@router.put("/documents/{source:path}/audience", response_model=AudienceResponse,
            responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
            summary="Stel de doelgroep van een document in (wie het mag zien); geldt na de volgende herindexering")
def set_audience(source: str, body: AudienceRequest, ops: Ops, caller: Editor,
                 reindex: Annotated[bool, Query(description="Meteen opnieuw indexeren")] = True) -> dict[str, Any]:
    result = ops.edit(caller, source, {"audience": body.audience}, reindex)  # type: ignore[dict-item]
    return {**result, "audience": _names(result.get("catalog", {}))}


@router.delete("/documents/{source:path}", response_model=DeleteResponse,
               summary="Verwijder een document uit de documentenmap")
def delete(source: str, ops: Ops, caller: Editor,
           reindex: Annotated[bool, Query(description="Meteen opnieuw indexeren")] = False) -> dict[str, Any]:
    return ops.delete(caller, source, reindex)


class MetadataResponse(BaseModel):
    source: str
    catalog: dict[str, Any]
    reindex: ReindexTicket | None
    reindex_error: str = ""


@router.patch("/documents/{source:path}", response_model=MetadataResponse,
              responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
              summary="Wijzig de gegevens van een document (catalogus); herindexeert daarna")
def edit(source: str, body: MetadataRequest, ops: Ops, caller: Editor) -> dict[str, Any]:
    return ops.edit(caller, source, body.changes())


@router.post("/reindex", status_code=202, response_model=ReindexTicket,
             responses={503: {"model": ErrorBody, "description": "De jobtoestand kan niet worden geschreven"}},
             summary="Herindexeer in een apart proces; loopt er al een, dan volgt er meteen nog een")
def reindex(ops: Ops, caller: Editor) -> dict[str, Any]:
    return ops.reindex(caller)


@router.get("/reindex/{job_id}", response_model=ReindexJob, summary="Een herindexering: toestand en verslag",
            responses={404: {"model": ErrorBody, "description": "Onbekende herindexering"}})
def reindex_job(job_id: str, ctx: Ctx, caller: Editor) -> dict[str, Any]:
    job = ctx.jobs.job(job_id)
    if job is None:
        raise ApiError(404, "job_unknown", t("job.unknown"))
    ctx.catch_up()  # a job that says done is served here: it published before it was marked done
    return job.to_dict()


class AuditEntry(BaseModel):
    """One audit event: what (action, target, detail), who (subject, name, role, via), when (epoch s), from where."""

    id: int
    at: float
    action: str
    subject: str
    name: str
    role: str
    via: str
    address: str
    target: str
    detail: dict[str, Any]


class AuditList(BaseModel):
    events: list[AuditEntry]


@router.get("/audit", response_model=AuditList,
            summary="Het auditlog: aanmeldingen, opladingen, verwijderingen, wijzigingen, herindexeringen "
                    "(nieuwste eerst)")
def audit_trail(ctx: Ctx, caller: Manager,
                limit: Annotated[int, Query(ge=1, le=10_000, description="Hoeveel gebeurtenissen")] = 1000
                ) -> dict[str, Any]:
    return {"events": audit.recent(ctx.audit, limit)}
