"""Quality measured through the public contract, as a user meets it.

Ranking (hit@k, MRR over the passages an answer shows: its citations, then the related passages), and
what a person reads: does the answer *text* state the fact (a gold string appears in it), are
questions the documents cannot answer refused, and are answerable ones wrongly refused. Every figure
is also given per language and per question set.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .messages import t
from .types import Answer, Citation


@dataclass(frozen=True)
class Question:
    id: str
    lang: str
    kind: str
    question: str
    gold: tuple[str, ...]
    set: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


def read_questions(path: Path) -> list[Question]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(Question(str(row.get("id", n)), row.get("lang", ""), row.get("kind", ""),
                                row["question"], tuple(row.get("gold") or ()), Path(path).stem))
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{path}:{n}: not a question line ({exc})") from exc
    return out


def normalise(text: str) -> str:
    """Whitespace collapsed and case folded: how gold strings are matched."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def shown(answer: Answer) -> list[Citation]:
    """The passages an answer shows, in its order: the ones it cites, then the related ones."""
    return sorted(answer.citations + answer.related, key=lambda c: c.n)


def first_hit(answer: Answer, gold: tuple[str, ...], max_chars: int | None = None) -> int | None:
    """1-based rank of the first shown passage containing a gold string, or None.

    With ``max_chars``, only the first ``max_chars`` characters of passage text (over all passages, in
    order) count, so that large passages cannot buy recall.
    """
    budget = max_chars
    golds = [normalise(g) for g in gold]
    for rank, c in enumerate(shown(answer), start=1):
        text = c.text if budget is None else c.text[:budget]
        if any(g in normalise(text) for g in golds):
            return rank
        if budget is not None:
            budget -= len(c.text)
            if budget <= 0:
                return None
    return None


def states_fact(answer: Answer, gold: tuple[str, ...]) -> bool:
    """Whether the answer text itself states the fact (not just a cited passage)."""
    return answer.found and any(normalise(g) in normalise(answer.text) for g in gold)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _ranking(ranks: list[tuple[int | None, int | None]]) -> dict[str, float]:
    n = len(ranks)
    return {
        "n": n,
        "hit@1": sum(1 for r, _ in ranks if r == 1) / n,
        "hit@5": sum(1 for r, _ in ranks if r is not None and r <= 5) / n,
        "mrr": sum(1 / r for r, _ in ranks if r) / n,
        "hit@1500chars": sum(1 for _, r in ranks if r is not None) / n,
    }


def _reading(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    return {
        "answerable": len(answerable),
        "states_fact": sum(r["states_fact"] for r in answerable) / len(answerable) if answerable else None,
        "false_refusals": sum(1 for r in answerable if not r["found"]),
        "unanswerable": len(unanswerable),
        "refused": sum(1 for r in unanswerable if not r["found"]),
    }


def evaluate(ask: Callable[[str], Answer], questions: Iterable[Question]) -> dict[str, Any]:
    """Run every question once through ``ask`` and summarise."""
    per_kind: dict[str, list[tuple[int | None, int | None]]] = defaultdict(list)
    latencies: list[float] = []
    rows = []
    for q in questions:
        t0 = time.perf_counter()
        ans = ask(q.question)
        latencies.append((time.perf_counter() - t0) * 1000)
        row: dict[str, Any] = {"id": q.id, "set": q.set, "lang": q.lang, "kind": q.kind, "answerable": q.answerable,
                               "found": ans.found, "rank": None, "states_fact": False}
        if q.answerable:
            rank = first_hit(ans, q.gold)
            ranks = (rank, first_hit(ans, q.gold, max_chars=1500))
            per_kind[q.kind].append(ranks)
            per_kind["all"].append(ranks)
            row.update(rank=rank, states_fact=states_fact(ans, q.gold))
        rows.append(row)

    by_set = {name: _reading([r for r in rows if r["set"] == name]) for name in sorted({r["set"] for r in rows})}
    by_lang = {lang: _reading([r for r in rows if r["lang"] == lang]) for lang in sorted({r["lang"] for r in rows})}
    return {
        "answerable": {kind: _ranking(r) for kind, r in sorted(per_kind.items())},
        "reading": {"all": _reading(rows), "by_set": by_set, "by_language": by_lang},
        # kept for scripts that read the earlier report
        "abstention": {"n": sum(1 for r in rows if not r["answerable"]),
                       "accuracy": _reading(rows)["refused"] / max(1, _reading(rows)["unanswerable"])},
        "false_abstentions": _reading(rows)["false_refusals"],
        "latency_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95)},
        "questions": rows,
    }


def misses_of(result: dict[str, Any]) -> list[str]:
    """Ids of answerable questions whose answer does not state the fact or whose passage is not first, and of
    unanswerable ones answered anyway."""
    return [r["id"] for r in result["questions"]
            if (r["answerable"] and (r["rank"] != 1 or not r["states_fact"])) or (not r["answerable"] and r["found"])]


def _reading_line(name: str, r: dict[str, Any]) -> str:
    states = "–" if r["states_fact"] is None else f"{r['states_fact']:.2f}"
    return (f"{name:<28}{r['answerable']:>7}{states:>7}{r['false_refusals']:>11}{r['unanswerable']:>9}"
            f"{r['refused']:>11}")


def format_report(result: dict[str, Any]) -> str:
    """The evaluation as a readable Dutch table."""
    lines = [t("eval.ranking_header"),
             f"{t('eval.kind'):<14}{'n':>4}{'hit@1':>8}{'hit@5':>8}{'MRR':>8}{'hit≤1500':>10}"]
    for kind, s in result["answerable"].items():
        lines.append(f"{kind:<14}{s['n']:>4}{s['hit@1']:>8.2f}{s['hit@5']:>8.2f}{s['mrr']:>8.2f}"
                     f"{s['hit@1500chars']:>10.2f}")
    reading = result["reading"]
    lines += ["", t("eval.reading_header"),
              f"{'':<28}{t('eval.answerable'):>7}{t('eval.states'):>7}{t('eval.false_refusals'):>11}"
              f"{t('eval.unanswerable'):>9}{t('eval.refused'):>11}",
              _reading_line(t("eval.all"), reading["all"])]
    for name, r in reading["by_set"].items():
        lines.append(_reading_line(f"{t('eval.set')} {name}", r))
    for lang, r in reading["by_language"].items():
        lines.append(_reading_line(f"{t('eval.language')} {lang}", r))
    lat = result["latency_ms"]
    lines += [t("eval.legend"), "", t("eval.latency", p50=f"{lat['p50']:.1f}", p95=f"{lat['p95']:.1f}")]
    misses = misses_of(result)
    if misses:
        lines.append(t("eval.misses", ids=", ".join(misses)))
    return "\n".join(lines)
