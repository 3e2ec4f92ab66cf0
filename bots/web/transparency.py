"""``GET /transparantie``: what Wegwijzer is, what it answers from, what it keeps, who oversees it (issue 22).

Built on every request from the live configuration (settings, the index in service, the last evaluation
summary), so the page cannot drift from what the service does. Server-rendered like the document pages (same
shell and stylesheet, no script) and every value escaped. ``docs/transparency.md`` states the same facts as an
algorithm-register entry for people to fill in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from assistant.config import Settings
from assistant.messages import t
from assistant.transparency import (
    Evaluation,
    ai_notice,
    contact,
    documents_maintainer,
    feedback_review,
    load_evaluation,
)

from .audience import Audiences
from .context import Ctx, WebContext
from .pages import CSP, _shell, document_url

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


def _section(key: str, anchor: str, *blocks: str) -> str:
    return (f'<section aria-labelledby="{anchor}"><h2 id="{anchor}">{escape(t(key))}</h2>'
            f'{"".join(blocks)}</section>')


def _p(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _documents(index: IndexFacts) -> str:
    if not index.documents:
        return _p(t("transparency.documents.none"))
    unknown = escape(t("transparency.documents.unknown"))
    rows = "".join(
        f'<tr><th scope="row"><a href="{escape(document_url(str(d["source"])))}">'
        f'{escape(str(d.get("title") or d["source"]))}</a></th>'
        f'<td>{escape(str(d.get("publisher") or "")) or unknown}</td>'
        f'<td>{escape(str(d.get("date") or "")) or unknown}</td></tr>'
        for d in index.documents)
    caption = t("transparency.documents.count", n=len(index.documents), date=_date(index.created_at))
    return (f'<table class="facts"><caption>{escape(caption)}</caption><thead><tr>'
            f'<th scope="col">{escape(t("transparency.documents.col_title"))}</th>'
            f'<th scope="col">{escape(t("transparency.documents.col_publisher"))}</th>'
            f'<th scope="col">{escape(t("transparency.documents.col_date"))}</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _how(settings: Settings, index: IndexFacts) -> list[str]:
    model = index.model or settings.embedding_model
    backend = BACKENDS.get(index.backend or settings.embedding_backend, index.backend or settings.embedding_backend)
    out = [_p(t("transparency.how.search", model=model, dim=index.dim or "?", backend=backend))]
    if settings.llm_enabled:
        out.append(_p(t("transparency.how.generated", llm=settings.llm_model)))
    else:
        out.append(_p(t("transparency.how.extractive")))
    out.append(_p(t("transparency.how.refusal")))
    return out


def _evaluation(evaluation: Evaluation | None) -> list[str]:
    if evaluation is None or not (evaluation.retrieval or evaluation.verification):
        return [_p(t("transparency.eval.none"))]
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
    return [_p(t("transparency.eval.when", when=evaluation.measured_at)),
            "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>",
            _p(t("transparency.eval.caveat"))]


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
    return [_p(t("transparency.data.intro")), "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"]


def render_transparency(settings: Settings, index: IndexFacts, evaluation: Evaluation | None) -> str:
    """The whole page: pure, so it is tested without a server."""
    title = t("transparency.title")
    head = (f'<a class="skip" href="#inhoud">{escape(t("page.skip"))}</a>'
            f'<header class="doc-head"><p class="brand">Wegwijzer</p><h1>{escape(title)}</h1>'
            f'<p class="notice" role="note"><strong>{escape(ai_notice(settings))}</strong></p>'
            f'{_p(t("transparency.intro"))}</header>')
    sections = [
        _section("transparency.purpose.title", "doel", _p(t("transparency.purpose"))),
        _section("transparency.documents.title", "documenten", _documents(index)),
        _section("transparency.how.title", "werking", *_how(settings, index)),
        _section("transparency.eval.title", "evaluatie", *_evaluation(evaluation)),
        _section("transparency.data.title", "gegevens", *_stored(settings)),
        _section("transparency.oversight.title", "toezicht",
                 _p(t("transparency.oversight.documents", who=documents_maintainer(settings))),
                 _p(t("transparency.oversight.feedback", how=feedback_review(settings)))),
        _section("transparency.contact.title", "contact", _p(t("transparency.contact", contact=contact(settings)))),
    ]
    if index.version:
        foot = (f'<p class="back">{escape(t("transparency.footer", version=index.version))}'
                f'<a href="/documents">{escape(t("page.all_documents"))}</a></p>')
    else:
        foot = _p(t("transparency.no_index"))
    body = head + f'<main id="inhoud" tabindex="-1">{"".join(sections)}{foot}</main>'
    return _shell(title, body)


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
