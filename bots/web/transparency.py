"""``GET /transparantie``: what Wegwijzer is, what it answers from, what it keeps, who oversees it (issue 22).

Built on every request from the live configuration (settings, the index in service, the last evaluation
summary), so the page cannot drift from what the service does. Server-rendered like the document pages (the same
Jinja2 base template and stylesheet, no script), autoescaped. ``docs/transparency.md`` states the same facts as an
algorithm-register entry for people to fill in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from assistant.config import Settings
from assistant.transparency import (
    Evaluation,
    ai_notice,
    contact,
    documents_maintainer,
    feedback_review,
    load_evaluation,
)
from bots.texts import t

from .audience import Audiences
from .context import Ctx, WebContext
from .pages import CSP, document_url
from .templating import render

router = APIRouter()


@dataclass(frozen=True)
class IndexFacts:
    """What the page says about the index in service (empty when there is none yet)."""

    version: str = ""
    created_at: float = 0.0
    model: str = ""
    dim: int = 0
    backend: str = ""
    documents: list[dict[str, Any]] = field(default_factory=list)


def _pct(value: float) -> str:
    """A share as people read it in Flanders: whole percents, one decimal under 10%, decimal comma."""
    digits = 1 if 0 < value < 0.1 else 0
    return f"{value * 100:.{digits}f}%".replace(".", ",")


def _date(epoch: float) -> str:
    return time.strftime("%d-%m-%Y", time.localtime(epoch)) if epoch else ""


BACKENDS = {"onnx": "ONNX Runtime", "onnx-int8": "ONNX Runtime (int8)", "torch": "PyTorch"}


def _documents(index: IndexFacts) -> list[dict[str, str]]:
    return [{"url": document_url(str(d["source"])), "title": str(d.get("title") or d["source"]),
             "publisher": str(d.get("publisher") or ""), "date": str(d.get("date") or "")} for d in index.documents]


def _how(settings: Settings, index: IndexFacts) -> list[str]:
    model = index.model or settings.embedding_model
    backend = BACKENDS.get(index.backend or settings.embedding_backend, index.backend or settings.embedding_backend)
    out = [t("transparency.how.search", model=model, dim=index.dim or "?", backend=backend)]
    if settings.llm_enabled:
        out.append(t("transparency.how.generated", llm=settings.llm_model))
    else:
        out.append(t("transparency.how.extractive"))
    out.append(t("transparency.how.refusal"))
    return out


def _evaluation(evaluation: Evaluation | None) -> dict[str, Any] | None:
    if evaluation is None or not (evaluation.retrieval or evaluation.verification):
        return None
    items = []
    for r in evaluation.retrieval:
        items.append(t("transparency.eval.retrieval", name=r.name, answerable=r.answerable, hit1=_pct(r.hit_at_1),
                       hit5=_pct(r.hit_at_5)))
        if r.unanswerable:
            items.append(t("transparency.eval.refusals", n=r.unanswerable, share=_pct(r.abstention_accuracy),
                           false=r.false_abstentions))
    v = evaluation.verification
    if v is not None:
        items.append(t("transparency.eval.verify", claims=v.claims, kept=_pct(v.kept_unsupported),
                       removed=_pct(v.removed_supported)))
    return {"when": t("transparency.eval.when", when=evaluation.measured_at), "lines": items}


def _stored(settings: Settings) -> list[str]:
    days = settings.question_retention_days
    items = [t("transparency.data.questions", days=days), t("transparency.data.feedback", days=days),
             t("transparency.data.conversations", minutes=int(settings.conversation_ttl_s // 60),
               turns=settings.conversation_max_turns),
             t("transparency.data.rate_web", count=settings.ask_rate_limit) if settings.ask_rate_limit
             else t("transparency.data.rate_none"),
             t("transparency.data.browser")]
    if settings.telegram_token:
        items.append(t("transparency.data.telegram"))
        if settings.telegram_questions_per_minute:
            items.append(t("transparency.data.rate_bot", count=settings.telegram_questions_per_minute))
    if settings.llm_enabled:
        items.append(t("transparency.data.llm"))
    return items


def render_transparency(settings: Settings, index: IndexFacts, evaluation: Evaluation | None) -> str:
    """The whole page (``templates/transparency.html``): pure, so it is tested without a server."""
    return render(
        "transparency.html", title=t("transparency.title"), notice=ai_notice(settings),
        documents=_documents(index),
        documents_caption=t("transparency.documents.count", n=len(index.documents), date=_date(index.created_at)),
        how=_how(settings, index), evaluation=_evaluation(evaluation), stored=_stored(settings),
        oversight=[t("transparency.oversight.documents", who=documents_maintainer(settings)),
                   t("transparency.oversight.feedback", how=feedback_review(settings))],
        contact=t("transparency.contact", contact=contact(settings)), version=index.version)


def index_facts(ctx: WebContext, audiences: frozenset[str] = frozenset()) -> IndexFacts:
    """The index in service, or nothing while there is none (the page still answers, without a 503)."""
    if not ctx.ready:
        return IndexFacts()
    assistant = ctx.assistant()
    status = assistant.status()
    model = status.get("model") or {}
    return IndexFacts(version=str(status.get("version", "")), created_at=float(status.get("created_at") or 0.0),
                      model=str(model.get("name", "")), dim=int(model.get("dim") or 0),
                      backend=str(model.get("backend", "")), documents=assistant.documents(audiences))


@router.get("/transparantie", response_class=HTMLResponse, tags=["documenten"],
            summary="Hoe Wegwijzer werkt: doel, documenten, modellen, bewaring, toezicht en contact")
def transparency_page(ctx: Ctx, audiences: Audiences) -> HTMLResponse:
    html = render_transparency(ctx.settings, index_facts(ctx, audiences), load_evaluation())
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})
