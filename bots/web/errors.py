"""One JSON error shape for every 4xx/5xx: ``{"error": {"code": ..., "message": ...}}``, Dutch messages.

Only this module turns exceptions into responses (STYLE habit 6). FastAPI's own validation errors
are rewritten into a Dutch sentence that names the bad field; stack traces never leave the server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import (
    DatabaseUnavailableError,
    IndexNotFoundError,
    IngestBusyError,
    InvalidQuestionError,
    ModelMismatchError,
    WegwijzerError,
)
from bots.texts import t

from .templating import render

log = logging.getLogger(__name__)

class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The error shape of every failed request (documented in OpenAPI)."""

    error: ErrorDetail


class ApiError(Exception):
    """An expected failure with its HTTP status, a stable code and a Dutch message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class BodyTooLargeError(StarletteHTTPException):
    """Raised while a streamed request body passes its size limit; ``detail`` is the readable limit.

    An HTTPException because FastAPI re-raises those from body and form parsing; any other exception
    there becomes a generic 400, so a chunked upload over the limit was answered 400 instead of 413.
    """

    def __init__(self, limit: str) -> None:
        super().__init__(413, detail=limit)


def printable(text: str) -> str:
    """``text`` that can be encoded: a field name or message may echo a lone surrogate from the request."""
    return text.encode("utf-8", "replace").decode("utf-8")


def error_json(code: str, message: str) -> bytes:
    """The error body as bytes, for middleware that answers before FastAPI sees the request."""
    return json.dumps({"error": {"code": code, "message": printable(message)}}, ensure_ascii=False).encode()


async def send_error(send: Callable[[MutableMapping[str, Any]], Awaitable[None]], status: int, code: str,
                     message: str, headers: dict[str, str] | None = None, close: bool = False) -> None:
    """Answer with the error shape from pure ASGI middleware; ``close`` when the body is left unread."""
    body = error_json(code, message)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def error_response(request: Request, status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> Response:
    """JSON error, or a small Dutch HTML page for people who opened a document link in a browser."""
    message = printable(message)
    if request.url.path.startswith("/documents/") and "text/html" in request.headers.get("accept", ""):
        page = render("error.html", title=t("page.title"), message=message)
        return HTMLResponse(page, status_code=status, headers=headers)
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "request.failed"),
    404: ("not_found", "request.not_found"),
    405: ("method_not_allowed", "request.method"),
    408: ("request_timeout", "request.timeout"),
    413: ("too_large", "request.failed"),
    415: ("unsupported_media_type", "request.unsupported_type"),
}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts)


def validation_message(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """(code, Dutch message) for pydantic validation errors; names the first bad field."""
    if not errors:
        return "invalid_request", t("request.invalid", detail=t("field.body"))
    err = errors[0]
    kind = str(err.get("type", ""))
    field = _field(err.get("loc", ()))
    ctx = err.get("ctx") or {}
    if kind == "json_invalid":
        return "invalid_json", t("request.not_json")
    if kind in ("invalid_unicode", "string_unicode"):  # ours (api.Text), or pydantic's for the same fault
        if not field:
            return "invalid_unicode", t("request.bad_unicode")
        return "invalid_unicode", t("request.invalid", detail=t("field.unicode", field=field))
    if not field or kind in ("model_attributes_type", "dict_type", "model_type"):
        return "invalid_request", t("request.invalid", detail=t("field.body"))
    if kind == "missing":
        detail = t("field.missing", field=field)
    elif kind.startswith("string_type"):
        detail = t("field.str", field=field)
    elif kind.startswith("int_") or kind == "int_type":
        detail = t("field.int", field=field)
    elif kind.startswith("bool_"):
        detail = t("field.bool", field=field)
    elif kind in ("greater_than_equal", "greater_than"):
        detail = t("field.min", field=field, limit=ctx.get("ge", ctx.get("gt", "")))
    elif kind in ("less_than_equal", "less_than"):
        detail = t("field.max", field=field, limit=ctx.get("le", ctx.get("lt", "")))
    elif kind == "string_too_long":
        detail = t("field.too_long", field=field, limit=ctx.get("max_length", ""))
    elif kind == "string_too_short":
        detail = t("field.too_short", field=field)
    elif kind == "extra_forbidden":
        detail = t("field.extra", field=field)
    else:
        detail = t("field.invalid", field=field)
    return "invalid_request", t("request.invalid", detail=detail)


def install_error_handlers(app: FastAPI) -> None:
    """Translate every exception into the one error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(request, exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        code, message = validation_message(list(exc.errors()))
        return error_response(request, 400 if code == "invalid_json" else 422, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI's "error parsing the body": not UTF-8
            return error_response(request, 422, "invalid_unicode", t("request.bad_unicode"))
        code, key = _HTTP_CODES.get(exc.status_code, ("error", "request.failed"))
        headers = dict(exc.headers) if exc.headers else None
        return error_response(request, exc.status_code, code, t(key), headers)

    @app.exception_handler(BodyTooLargeError)
    async def _too_large(request: Request, exc: BodyTooLargeError) -> Response:
        return error_response(request, 413, "too_large", t("request.too_large", limit=exc.detail))

    @app.exception_handler(InvalidQuestionError)
    async def _question(request: Request, exc: InvalidQuestionError) -> Response:
        return error_response(request, 422, "invalid_question", str(exc))

    @app.exception_handler(IndexNotFoundError)
    async def _no_index(request: Request, exc: IndexNotFoundError) -> Response:
        return error_response(request, 503, "index_missing", t("index.missing"))

    @app.exception_handler(ModelMismatchError)
    async def _mismatch(request: Request, exc: ModelMismatchError) -> Response:
        return error_response(request, 503, "model_mismatch", str(exc))

    @app.exception_handler(IngestBusyError)
    async def _busy(request: Request, exc: IngestBusyError) -> Response:
        return error_response(request, 409, "index_busy", t("index.busy"))

    @app.exception_handler(DatabaseUnavailableError)
    async def _database_down(request: Request, exc: DatabaseUnavailableError) -> Response:
        log.warning("database unavailable: %s", exc)
        return error_response(request, 503, "database_unavailable", t("db.unavailable_public"),
                              headers={"Retry-After": "5"})

    @app.exception_handler(WegwijzerError)
    async def _wegwijzer(request: Request, exc: WegwijzerError) -> Response:
        log.warning("request failed: %s", exc)
        return error_response(request, 500, "internal", t("error.internal"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal", t("error.internal"))
