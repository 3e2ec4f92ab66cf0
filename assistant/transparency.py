"""What Wegwijzer tells people about itself (issue 22): the AI notice, who to contact, human oversight, and
the evaluation figures ``make bench`` last measured.

Texts the municipality may set (``WEGWIJZER_AI_NOTICE``, ``WEGWIJZER_CONTACT``, ...) replace the catalogue's
defaults; every front end asks here, so the widget, the bot and ``/transparantie`` never disagree.

The evaluation figures come from ``docs/evaluation.json``, a small summary that ``bench/run_all.py`` writes
next to ``docs/benchmarks.md`` in the same run. A JSON file rather than parsing the Markdown: the report's
wording and tables may change freely, and a missing or damaged summary only means the page says there are
no figures yet.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import REPO_ROOT, Settings
from assistant.messages import t

log = logging.getLogger(__name__)

EVALUATION_FILE = REPO_ROOT / "docs" / "evaluation.json"


def ai_notice(settings: Settings, lang: str = "nl") -> str:
    """The one sentence shown at the start of every conversation: an automated assistant that can be wrong."""
    return settings.ai_notice or t("notice.ai", lang)


def contact(settings: Settings) -> str:
    return settings.contact or t("transparency.contact_default")


def documents_maintainer(settings: Settings) -> str:
    return settings.documents_maintainer or t("transparency.maintainer_default")


def feedback_review(settings: Settings) -> str:
    return settings.feedback_review or t("transparency.feedback_default")


@dataclass(frozen=True)
class RetrievalFigures:
    """One question set: how often the right passage came first / among the first five, and refusals."""

    name: str
    questions: int
    answerable: int
    hit_at_1: float
    hit_at_5: float
    unanswerable: int
    abstention_accuracy: float  # share of the questions the documents cannot answer that were refused
    false_abstentions: int  # answerable questions refused


@dataclass(frozen=True)
class VerificationFigures:
    """How the check of generated sentences did on labelled claims (held-out figures)."""

    claims: int
    kept_unsupported: float
    removed_supported: float


@dataclass(frozen=True)
class Evaluation:
    measured_at: str  # as bench wrote it ("2026-11-24 22:20 UTC")
    retrieval: tuple[RetrievalFigures, ...]
    verification: VerificationFigures | None


def evaluation_summary(measured_at: str, quality: dict[str, Any] | None,
                       verification: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON ``bench/run_all.py`` writes to docs/evaluation.json, from its quality and verification results.

    Defensive on purpose: a benchmark that failed or changed its result shape leaves its part out.
    """
    out: dict[str, Any] = {"measured_at": measured_at, "retrieval": [], "verification": None}
    try:
        for name, systems in (quality or {}).get("results", {}).items():
            ours, meta = systems["wegwijzer"], quality["sets"][name]  # type: ignore[index]
            a = ours["answerable"]["all"]
            out["retrieval"].append({
                "set": name, "questions": int(meta["questions"]), "answerable": int(meta["answerable"]),
                "hit@1": float(a["hit@1"]), "hit@5": float(a["hit@5"]),
                "unanswerable": int(ours["abstention"]["n"]),
                "abstention_accuracy": float(ours["abstention"]["accuracy"]),
                "false_abstentions": int(ours["false_abstentions"])})
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("retrieval figures left out of the evaluation summary: %r", exc)
        out["retrieval"] = []
    try:
        if verification:
            cv = verification["cross_validated"]
            out["verification"] = {"claims": int(verification["claims"]),
                                   "kept_unsupported": float(cv["kept_unsupported"]),
                                   "removed_supported": float(cv["removed_supported"])}
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("verification figures left out of the evaluation summary: %r", exc)
    return out


def load_evaluation(path: Path = EVALUATION_FILE) -> Evaluation | None:
    """The last measured figures, or None when there are none (never measured, or the file is unreadable)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        retrieval = tuple(
            RetrievalFigures(name=str(r["set"]), questions=int(r["questions"]), answerable=int(r["answerable"]),
                             hit_at_1=float(r["hit@1"]), hit_at_5=float(r["hit@5"]),
                             unanswerable=int(r["unanswerable"]),
                             abstention_accuracy=float(r["abstention_accuracy"]),
                             false_abstentions=int(r["false_abstentions"]))
            for r in data.get("retrieval") or [])
        v = data.get("verification")
        verification = VerificationFigures(int(v["claims"]), float(v["kept_unsupported"]),
                                           float(v["removed_supported"])) if v else None
        return Evaluation(str(data.get("measured_at", "")), retrieval, verification)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("cannot read the evaluation summary %s: %r", path, exc)
        return None
