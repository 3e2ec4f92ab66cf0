"""Retrieval quality measured through the public contract: hit@k, MRR, abstention, latency."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .types import Answer


@dataclass(frozen=True)
class Question:
    id: str
    lang: str
    kind: str
    question: str
    gold: tuple[str, ...]

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
                                row["question"], tuple(row.get("gold") or ())))
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{path}:{n}: not a question line ({exc})") from exc
    return out


def normalise(text: str) -> str:
    """Whitespace collapsed and case folded: how gold strings are matched."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def first_hit(answer: Answer, gold: tuple[str, ...], max_chars: int | None = None) -> int | None:
    """1-based rank of the first citation containing a gold string, or None.

    With ``max_chars``, only the first ``max_chars`` characters of cited text (over all citations, in
    order) count, so that large passages cannot buy recall.
    """
    budget = max_chars
    for c in answer.citations:
        text = c.text if budget is None else c.text[:budget]
        if any(normalise(g) in normalise(text) for g in gold):
            return c.n
        if budget is not None:
            budget -= len(c.text)
            if budget <= 0:
                return None
    return None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def evaluate(ask: Callable[[str], Answer], questions: list[Question]) -> dict[str, Any]:
    """Run every question once through ``ask`` and summarise."""
    per_kind: dict[str, list[tuple[int | None, int | None]]] = defaultdict(list)
    abstain_ok = abstain_n = false_abstain = 0
    latencies: list[float] = []
    rows = []
    for q in questions:
        t0 = time.perf_counter()
        ans = ask(q.question)
        latencies.append((time.perf_counter() - t0) * 1000)
        if q.answerable:
            rank = first_hit(ans, q.gold)
            rank1500 = first_hit(ans, q.gold, max_chars=1500)
            per_kind[q.kind].append((rank, rank1500))
            per_kind["all"].append((rank, rank1500))
            false_abstain += int(not ans.found)
            rows.append({"id": q.id, "kind": q.kind, "found": ans.found, "rank": rank})
        else:
            abstain_n += 1
            abstain_ok += int(not ans.found)
            rows.append({"id": q.id, "kind": q.kind, "found": ans.found, "rank": None})

    def summary(ranks: list[tuple[int | None, int | None]]) -> dict[str, float]:
        n = len(ranks)
        return {
            "n": n,
            "hit@1": sum(1 for r, _ in ranks if r == 1) / n,
            "hit@5": sum(1 for r, _ in ranks if r is not None and r <= 5) / n,
            "mrr": sum(1 / r for r, _ in ranks if r) / n,
            "hit@1500chars": sum(1 for _, r in ranks if r is not None) / n,
        }

    return {
        "answerable": {kind: summary(r) for kind, r in sorted(per_kind.items())},
        "abstention": {"n": abstain_n, "accuracy": abstain_ok / abstain_n if abstain_n else 1.0},
        "false_abstentions": false_abstain,
        "latency_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95)},
        "questions": rows,
    }


def misses_of(result: dict[str, Any]) -> list[str]:
    """Ids of answerable questions not answered at rank 1, and of unanswerable ones answered anyway."""
    return [r["id"] for r in result["questions"]
            if (r["kind"] != "unanswerable" and r["rank"] != 1) or (r["kind"] == "unanswerable" and r["found"])]


def format_report(result: dict[str, Any]) -> str:
    lines = [f"{'kind':<14}{'n':>4}{'hit@1':>8}{'hit@5':>8}{'MRR':>8}{'hit≤1500':>10}"]
    for kind, s in result["answerable"].items():
        lines.append(f"{kind:<14}{s['n']:>4}{s['hit@1']:>8.2f}{s['hit@5']:>8.2f}{s['mrr']:>8.2f}"
                     f"{s['hit@1500chars']:>10.2f}")
    ab = result["abstention"]
    lines.append(f"abstention accuracy (unanswerable): {ab['accuracy']:.2f} over {ab['n']}")
    lines.append(f"false abstentions (answerable marked not found): {result['false_abstentions']}")
    lat = result["latency_ms"]
    lines.append(f"latency ms: p50 {lat['p50']:.1f}  p95 {lat['p95']:.1f}")
    misses = misses_of(result)
    if misses:
        lines.append("not at rank 1 / wrongly answered: " + ", ".join(misses))
    return "\n".join(lines)
