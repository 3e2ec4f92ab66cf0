"""Public endpoints: ask, documents, feedback, health, readiness and metrics. Thin: parse, call, render."""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

from assistant.answer.breaker import describe
from assistant.answer.generate import Checked
from assistant.errors import DocumentError, InvalidQuestionError, WegwijzerError
from assistant.stores.conversation import ID_SHAPE, new_conversation_id, valid_conversation_id
from assistant.stores.feedback import Shown
from assistant.types import Answer
from bots.texts import suggestions, t
from ingest.corpuspath import open_regular, refusal
from ingest.formats import for_suffix

from .audience import Audiences
from .context import AssistantDep, Ctx, WebContext
from .errors import ApiError, ErrorBody
from .guards import client_address
from .highlight import highlight_spans
from .origins import origin_allowed
from .pages import CSP, document_url, render_document, render_document_list
from .quotespans import parse_spans

router = APIRouter()
log = logging.getLogger(__name__)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in ((400, "Ongeldige JSON"), (422, "Ongeldige vraag of velden"), (503, "Nog geen index"))
}
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "Te veel vragen van deze client; zie Retry-After"},
}
MAX_COMMENT_CHARS = 2000


def _valid_unicode(value: str) -> str:
    """JSON may spell a lone surrogate (``"\\udc80"``); such text cannot be stored, encoded or answered."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("invalid_unicode", "text holds a lone surrogate (invalid Unicode)") from None
    return value


Text = Annotated[StrictStr, AfterValidator(_valid_unicode)]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Text = Field(description="De vraag, in gewone taal.",
                                examples=["Wat doet een stad voor nieuwkomers?"])
    top_k: StrictInt | None = Field(default=None, ge=1, le=20, description="Aantal bronnen (1-20).")
    conversation_id: Text | None = Field(
        default=None, pattern=f"^{ID_SHAPE.pattern}$",
        description="Het gesprek waarin de vraag valt (uit een vorig antwoord). Zonder: een nieuw gesprek.")


class CitationOut(BaseModel):
    n: int
    text: str
    title: str
    source: str
    page: int | None
    section: str
    score: float
    passage_id: int
    start: int
    end: int
    ocr: bool = Field(default=False, description="De passage komt uit een gescande pagina (OCR).")
    url: str = Field(description="Documentweergave met de passage gemarkeerd (en de geciteerde zinnen, als die er "
                                 "zijn: `&zin=a-b,c-d#q-N`).")
    highlights: list[tuple[int, int]] = Field(description="Tekenposities in `text` van woorden uit de vraag.")
    quotes: list[tuple[int, int]] = Field(
        default_factory=list, description="Tekenposities in `text` van de zinnen die het antwoord citeert, in "
                                          "tekstvolgorde; leeg bij een verwante passage.")


class AskResponse(BaseModel):
    answer_id: str
    question: str
    found: bool
    text: str
    citations: list[CitationOut] = Field(description="De passages waarop het antwoord steunt ([n] in de tekst).")
    related: list[CitationOut] = Field(description="Andere gevonden passages: verwant, geen bron van het antwoord.")
    mode: str = Field(description="'extractive' (geciteerde zinnen) of 'generated' (taalmodel, elke zin nagekeken).")
    conversation_id: str = Field(description="Stuur dit mee met een vervolgvraag.")
    index_version: str
    latency_ms: float


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_id: Text = Field(min_length=1, max_length=64)
    helpful: StrictBool
    comment: Text = Field(default="", max_length=MAX_COMMENT_CHARS)


class FeedbackResponse(BaseModel):
    ok: bool


class DocumentOut(BaseModel):
    source: str
    title: str
    publisher: str
    date: str
    kind: str
    language: str
    sha256: str
    pages: int | None
    passages: int
    url: str


def answer_payload(answer: Answer, answer_id: str) -> dict[str, Any]:
    """The Answer contract plus the id for feedback, a view link and highlight spans per citation."""
    data = answer.to_dict()
    data["answer_id"] = answer_id
    for c in data["citations"] + data["related"]:
        c["url"] = document_url(c["source"], c["passage_id"], quotes=c.get("quotes") or ())
        c["highlights"] = highlight_spans(answer.question, c["text"])
    return data


# How an answer was made, machine-readably (issue 22; README "Generated answers"): the header follows the
# answer's `mode`. Protocol values, not user text, so they are not in the catalogue.
MODE_HEADER = "X-Wegwijzer-Antwoord"
MODE_VALUES = {"generated": "gegenereerd", "extractive": "extractief"}


def mode_header(mode: str) -> dict[str, str]:
    return {MODE_HEADER: MODE_VALUES.get(mode, mode)}


def _record(ctx: Any, answer: Answer) -> dict[str, Any]:
    answer_id = uuid.uuid4().hex
    ctx.store.record_answer(answer_id, channel="web", question=answer.question, found=answer.found,
                            sources=[{"n": c.n, "source": c.source, "title": c.title, "page": c.page,
                                      "section": c.section} for c in answer.citations], shown=Shown.of(answer))
    ctx.metrics.observe_answer(answer.found, answer.index_version)
    return answer_payload(answer, answer_id)


@router.post("/api/ask", response_model=AskResponse, responses={**ERRORS, **RATE_LIMITED}, tags=["vragen"],
             summary="Stel een vraag en krijg een antwoord met bronnen")
def ask(body: AskRequest, ctx: Ctx, assistant: AssistantDep, response: Response,
        audiences: Audiences) -> dict[str, Any]:
    # A plain def: retrieval is CPU-bound, so FastAPI runs it in its threadpool (STYLE habit 9).
    answer = assistant.ask(body.question, top_k=body.top_k or ctx.settings.top_k,
                           conversation=body.conversation_id or new_conversation_id(), audiences=audiences)
    response.headers.update(mode_header(answer.mode))
    return _record(ctx, answer)


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Event (JSON on one data line: JSON never holds a raw line break)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


STREAM_DESCRIPTION = """Hetzelfde antwoord als `POST /api/ask`, als Server-Sent Events (`text/event-stream`):

* `sentence` `{"text", "so_far"}`: een zin van het taalmodel die al is nagekeken tegen de bron die hij
  noemt (alleen bij gegenereerde antwoorden); `so_far` is alle nagekeken tekst tot nu toe, zoals het
  antwoord begint. Een zin die de bron niet steunt, wordt nooit verstuurd;
* `answer`: het antwoord, exact zoals `POST /api/ask` het geeft (altijd het laatste bericht);
* `error` `{"code", "message"}`: het antwoord kon niet gemaakt worden.

De kop `X-Wegwijzer-Antwoord` zegt `gegenereerd` als de stroom tekst van het taalmodel bevat, anders
`extractief`; het antwoord zelf zegt het in `mode`. De stroom begint pas met de eerste nagekeken zin of
met het antwoord. Een ongeldige vraag krijgt, zoals bij `POST /api/ask`, een 4xx met een JSON-foutmelding."""


@router.post("/api/ask/stream", responses={**ERRORS, **RATE_LIMITED, 200: {
                 "content": {"text/event-stream": {}}, "description": "Server-Sent Events: sentence*, answer"}},
             response_class=StreamingResponse, tags=["vragen"], description=STREAM_DESCRIPTION,
             summary="Stel een vraag en volg het antwoord terwijl het geschreven wordt")
def ask_stream(body: AskRequest, ctx: Ctx, assistant: AssistantDep, audiences: Audiences) -> StreamingResponse:
    assistant.validate(body.question)  # a bad question is a 422 before the stream starts
    events = iter(assistant.stream(body.question, top_k=body.top_k or ctx.settings.top_k,
                                   conversation=body.conversation_id or new_conversation_id(), audiences=audiences))
    # The headers wait for the first checked sentence or the answer: then the mode header can say whether
    # the stream carries generated text. A failure before that is an error response, as on /api/ask.
    first = next(events)
    mode = "generated" if isinstance(first, Checked) else first.mode

    def stream() -> Iterator[bytes]:
        try:
            for event in itertools.chain([first], events):
                if isinstance(event, Checked):
                    yield sse("sentence", {"text": event.text, "so_far": event.so_far})
                else:
                    yield sse("answer", _record(ctx, event))
        except InvalidQuestionError as exc:
            yield sse("error", {"code": "invalid_question", "message": str(exc)})
        except WegwijzerError as exc:
            log.warning("streamed answer failed: %s", exc)
            yield sse("error", {"code": "failed", "message": t("error.internal")})
        except Exception:  # the status is sent already: say it in the stream, never a stack trace
            log.exception("streamed answer failed")
            yield sse("error", {"code": "internal_error", "message": t("error.internal")})

    # Starlette runs a sync iterator in its threadpool; proxies must not buffer the events.
    return StreamingResponse(stream(), media_type="text/event-stream; charset=utf-8",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **mode_header(mode)})


@router.delete("/api/conversations/{conversation_id}", status_code=204, response_class=Response, tags=["vragen"],
               responses={422: {"model": ErrorBody, "description": "Geen geldige gespreks-id"}, 503: ERRORS[503]},
               summary="Wis een gesprek op de server (\u201cNieuw gesprek\u201d)")
def forget_conversation(conversation_id: str, assistant: AssistantDep) -> Response:
    """The conversation's earlier turns are deleted at once; an unknown or expired id is no error (idempotent).

    The id is the only key to a conversation (unguessable, from an earlier answer), so whoever holds it may end it.
    """
    if not valid_conversation_id(conversation_id):
        raise ApiError(422, "invalid_conversation", t("conversation.bad_id"))
    assistant.forget(conversation_id)
    return Response(status_code=204)


ANSWER_WAIT_S = 30.0  # what the widget waits for an answer without a language model (retrieval on a busy server)


class WidgetConfig(BaseModel):
    suggestions: list[str] = Field(description="Voorbeeldvragen om mee te beginnen (2 tot 4).")
    max_question_chars: int
    streaming: bool = Field(description="Of antwoorden geschreven worden door een taalmodel (dan gestreamd).")
    timeout_s: float = Field(description="Hoe lang de widget op (een stuk van) een antwoord wacht, in seconden.")
    origin_allowed: bool = Field(description="Of de pagina die dit vraagt (de kop `Origin`) de API mag gebruiken: "
                                             "staat ze niet in WEGWIJZER_CORS_ORIGINS, dan toont de widget dat.")


_STARTERS: dict[tuple[str, frozenset[str], tuple[str, ...]], list[str]] = {}
_STARTERS_LOCK = threading.Lock()


def _starters(ctx: WebContext, questions: list[str], audiences: frozenset[str]) -> list[str]:
    """The starter questions this asker may be offered: not one that is about a document they may not see (its
    best passage, asked with every group, comes from it): the question itself would tell them what that document
    says. Checked once per index version and audience set, and only when the version holds documents hidden
    from them."""
    if not ctx.ready:
        return questions  # no index: no document to tell of
    assistant = ctx.assistant()
    every_group = assistant.audiences()
    restricted = {d["source"] for d in assistant.documents(every_group)} - \
        {d["source"] for d in assistant.documents(audiences)}
    if not restricted:
        return questions
    key = (assistant.version, audiences, tuple(questions))
    with _STARTERS_LOCK:
        cached = _STARTERS.get(key)
    if cached is None:
        cached = [q for q in questions if _best_source(assistant.ask(q, audiences=every_group)) not in restricted]
        with _STARTERS_LOCK:
            if len(_STARTERS) > 256:
                _STARTERS.clear()
            _STARTERS[key] = cached
    return cached


def _best_source(answer: Answer) -> str:
    best = (answer.citations or answer.related)[:1]
    return best[0].source if best else ""


@router.get("/api/widget", response_model=WidgetConfig, tags=["vragen"],
            summary="Instellingen voor de chatwidget: voorbeeldvragen, maximale vraaglengte")
def widget_config(ctx: Ctx, request: Request, response: Response, audiences: Audiences) -> dict[str, Any]:
    # Readable from every origin (it holds what the public widget.js holds): a page that CORS refuses must still
    # learn that it is refused, or its widget can only say that the service is unreachable.
    # Private: the starter questions depend on who asks (documents per audience).
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Vary"] = "Origin, Cookie"
    settings = ctx.settings
    allowed = origin_allowed(settings.cors_origins, request.headers.get("origin"), request.headers.get("host"))
    # With a language model the first word may come only near its deadline; the widget must not give up sooner.
    timeout = ANSWER_WAIT_S + (settings.llm_timeout_s if settings.llm_enabled else 0.0)
    starters = list(settings.suggested_questions) or suggestions()
    return {"suggestions": _starters(ctx, starters, audiences),
            "max_question_chars": settings.max_question_chars, "streaming": settings.llm_enabled,
            "timeout_s": timeout, "origin_allowed": allowed}


@router.post("/api/feedback", response_model=FeedbackResponse, tags=["vragen"],
             responses={404: {"model": ErrorBody, "description": "Onbekend antwoord"}, 422: ERRORS[422]},
             summary="Geef feedback (👍/👎) op een antwoord; een latere stem vervangt de vorige")
def feedback(body: FeedbackRequest, ctx: Ctx, request: Request) -> dict[str, bool]:
    # One vote per answer and client: the client is its address (a pseudonym of it is stored).
    user_ref = ctx.client_ref(client_address(request.scope))
    if not ctx.store.add_feedback(body.answer_id, channel="web", helpful=body.helpful, comment=body.comment.strip(),
                                  user_ref=user_ref):
        raise ApiError(404, "answer_not_found", t("answer.unknown"))
    return {"ok": True}


def _listed(ctx: WebContext, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The index's documents minus any whose corpus entry is not a regular file (corpuspath.refusal).

    A link an older version indexed stays hidden until the re-index (which the watcher starts) drops it.
    """
    root = ctx.settings.corpus_dir
    return [d for d in documents if refusal(root, str(d["source"])) is None]


@router.get("/api/documents", response_model=list[DocumentOut], tags=["documenten"],
            responses={503: ERRORS[503]}, summary="De documenten in de index, met aantallen passages")
def documents(ctx: Ctx, assistant: AssistantDep, audiences: Audiences) -> list[dict[str, Any]]:
    return [{**d, "url": document_url(d["source"])} for d in _listed(ctx, assistant.documents(audiences))]


@router.get("/documents", response_class=HTMLResponse, tags=["documenten"], summary="Lijst van documenten")
def document_list(ctx: Ctx, assistant: AssistantDep, audiences: Audiences) -> HTMLResponse:
    return HTMLResponse(render_document_list(_listed(ctx, assistant.documents(audiences))),
                        headers={"Content-Security-Policy": CSP})


@router.get("/documents/{source:path}", response_class=HTMLResponse, tags=["documenten"],
            responses={404: {"model": ErrorBody, "description": "Onbekend document of onbekende passage"}},
            summary="Leesbare weergave van een document, met de geciteerde passage gemarkeerd")
def document_view(source: str, ctx: Ctx, assistant: AssistantDep, audiences: Audiences,
                  passage: Annotated[int | None, Query(ge=0, description="Te markeren passage")] = None,
                  page: Annotated[int | None, Query(ge=1, description="Pagina (PDF)")] = None,
                  zin: Annotated[str | None, Query(description=(
                      "Geciteerde zinnen om te markeren, als tekenposities in de passagetekst: `a-b,c-d` "
                      "(zoals `quotes` van een bron). Met `passage`; een ongeldige waarde wordt genegeerd."))] = None,
                  ) -> HTMLResponse:
    # a document the asker may not see is "unknown", exactly like one that does not exist
    found = assistant.document(source, audiences) if refusal(ctx.settings.corpus_dir, source) is None else None
    if found is None:
        raise ApiError(404, "document_not_found", t("document.unknown"))
    info, pages, passages = found
    cited = None
    if passage is not None:
        cited = next((p for p in passages if p.id == passage), None)
        if cited is None:
            raise ApiError(404, "passage_not_found", t("passage.unknown"))
    if page is not None and not any(p.page == page for p in pages):
        raise ApiError(404, "page_not_found", t("document.page_unknown"))
    quotes = parse_spans(zin, cited.text) if cited is not None else []
    return HTMLResponse(render_document(info, pages, passages, cited, page, quotes),
                        headers={"Content-Security-Policy": CSP})


class _OpenFileResponse(FileResponse):
    """A FileResponse of an already opened (and checked) file, closed once the response is sent.

    It reads ``/proc/self/fd/N``, the very file that ``corpuspath.open_regular`` checked: a link or FIFO
    swapped in after the check is never what is sent, and nothing blocks.
    """

    def __init__(self, fd: int, fallback: Path, **kwargs: Any) -> None:
        proc = Path(f"/proc/self/fd/{fd}")
        super().__init__(proc if proc.exists() else fallback, **kwargs)
        self._fd = fd

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            os.close(self._fd)


@router.get("/files/{source:path}", tags=["documenten"], summary="Het originele bestand van een document",
            responses={404: {"model": ErrorBody, "description": "Onbekend document"}})
def original_file(source: str, ctx: Ctx, assistant: AssistantDep, audiences: Audiences) -> FileResponse:
    root = ctx.settings.corpus_dir
    if assistant.document(source, audiences) is None:
        raise ApiError(404, "document_not_found", t("document.unknown"))
    try:
        fd = open_regular(root, source)  # a regular file inside the folder, no link followed, never blocks
    except (DocumentError, OSError):
        raise ApiError(404, "document_not_found", t("document.unknown")) from None
    name = source.rsplit("/", 1)[-1]
    fmt = for_suffix(name)
    # HTML pages go out as plain text: a document is never rendered as a page of this site
    media = fmt.media_type if fmt else "application/octet-stream"
    inline = media.startswith(("application/pdf", "text/plain"))
    try:
        return _OpenFileResponse(fd, fallback=Path(root).resolve() / source, media_type=media,
                                 content_disposition_type="inline" if inline else "attachment", filename=name,
                                 headers={"Content-Security-Policy": "default-src 'none'; sandbox"})
    except BaseException:
        os.close(fd)
        raise


@router.get("/healthz", tags=["beheer"], summary="Leeft de dienst?")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["beheer"], summary="Is er een index geladen?",
            responses={503: {"model": ErrorBody, "description": "Nog niet klaar"}})
def readyz(ctx: Ctx) -> dict[str, Any]:
    ctx.check_database()  # 503 while the database is down, so a load balancer drains this replica
    assistant = ctx.assistant()  # 503 with the reason when not ready
    body: dict[str, Any] = {"status": "ready", "index_version": assistant.version}
    circuit = assistant.llm_circuit()
    if circuit is not None:  # still ready when the model is not: the quoted answer works without it
        body["llm"] = describe(circuit)
    return body


@router.get("/metrics", response_class=Response, tags=["beheer"], summary="Prometheus-metrieken (alle workers samen)")
def metrics(ctx: Ctx) -> Response:
    version = ctx.assistant().version if ctx.ready else ""
    return Response(ctx.metrics.render(version), media_type="text/plain; version=0.0.4; charset=utf-8")
