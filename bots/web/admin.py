"""The admin API, behind a bearer token: upload and delete documents, re-index, index status.

Without ``WEGWIJZER_ADMIN_TOKEN`` every admin route answers 404 (the API is off). Browsers on other
origins cannot call it: CORS never allows the Authorization header.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from assistant import index as idx
from assistant.messages import t
from ingest.loaders import discover

from .context import Ctx
from .errors import ApiError, ErrorBody
from .guards import admin_refusal
from .uploads import delete_document, store_upload

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


class ReindexJob(BaseModel):
    state: str
    started_at: float | None
    finished_at: float | None
    report: dict[str, Any] | None
    error: str
    runs: int


class UploadResponse(BaseModel):
    source: str
    size: int
    reindex: ReindexJob | None


class DeleteResponse(BaseModel):
    source: str
    reindex: ReindexJob | None


def _start_reindex(ctx: Ctx) -> dict[str, Any]:
    if not ctx.reindexer.start():
        raise ApiError(409, "index_busy", t("index.busy"))
    return ctx.reindexer.snapshot()


def _refuse_if_busy(ctx: Ctx, reindex: bool) -> None:
    """Refuse an upload or delete that asks for a re-index while one runs, before the corpus changes.

    Otherwise the change was made and the answer was still 409, so a client that retried got 'exists'.
    """
    if reindex and ctx.reindexer.running:
        raise ApiError(409, "index_busy", t("index.busy"))


@router.get("/status", summary="Indexstatus: versie, documenten, laatste indexering en haar verslag")
def status(ctx: Ctx) -> dict[str, Any]:
    files, unsupported = discover(ctx.settings.corpus_dir) if ctx.settings.corpus_dir.is_dir() else ([], [])
    out: dict[str, Any] = {
        "ready": ctx.ready,
        "problem": ctx.problem if not ctx.ready else "",
        "reindex": ctx.reindexer.snapshot(),
        "corpus": {"documents": sorted(source for _, source in files),
                   "unsupported": [{"source": s, "reason": r} for s, r in unsupported]},
    }
    if ctx.ready:
        out["index"] = ctx.assistant().status()
    else:
        out["index"] = {"version": idx.current_version(ctx.settings.index_dir),
                        "last_ingest": idx.read_last_ingest(ctx.settings.index_dir)}
    return out


@router.post("/documents", status_code=201, response_model=UploadResponse,
             responses={409: {"model": ErrorBody}, 413: {"model": ErrorBody}, 415: {"model": ErrorBody},
                        422: {"model": ErrorBody}, **RATE_LIMITED},
             summary="Laad een document op (PDF, DOCX, ODT, PPTX, HTML, TXT of MD) in de documentenmap")
def upload(ctx: Ctx, file: Annotated[UploadFile | None,
                                     File(description="PDF-, DOCX-, ODT-, PPTX-, HTML-, TXT- of MD-bestand")] = None,
           replace: Annotated[bool, Query(description="Een bestaand document vervangen")] = False,
           reindex: Annotated[bool, Query(description="Meteen opnieuw indexeren")] = False) -> dict[str, Any]:
    if file is None or not file.filename:
        raise ApiError(422, "no_file", t("upload.no_file"))
    _refuse_if_busy(ctx, reindex)
    name, size = store_upload(ctx.settings.corpus_dir, file.filename, file.file,
                              ctx.settings.max_upload_bytes, replace)
    return {"source": name, "size": size, "reindex": _start_reindex(ctx) if reindex else None}


@router.delete("/documents/{source:path}", response_model=DeleteResponse,
               responses={409: {"model": ErrorBody, "description": "Er loopt al een indexering"}},
               summary="Verwijder een document uit de documentenmap")
def delete(source: str, ctx: Ctx,
           reindex: Annotated[bool, Query(description="Meteen opnieuw indexeren")] = False) -> dict[str, Any]:
    _refuse_if_busy(ctx, reindex)
    removed = delete_document(ctx.settings.corpus_dir, source)
    return {"source": removed, "reindex": _start_reindex(ctx) if reindex else None}


@router.post("/reindex", status_code=202, response_model=ReindexJob,
             responses={409: {"model": ErrorBody, "description": "Er loopt al een indexering"}},
             summary="Start een nieuwe indexering op de achtergrond")
def reindex(ctx: Ctx) -> dict[str, Any]:
    return _start_reindex(ctx)
