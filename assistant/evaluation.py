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

from assistant.messages import t
from assistant.types import Answer, Citation


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


LEAD_CHARS = 160  # the fact should start within what a person reads at a glance (two lines of the widget)


def fact_start(answer: Answer, gold: tuple[str, ...]) -> int | None:
    """Where the first gold string starts in the answer text (normalised), or None when the text lacks it."""
    if not answer.found:
        return None
    text = normalise(answer.text)
    found = [i for i in (text.find(normalise(g)) for g in gold) if i >= 0]
    return min(found) if found else None


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
    lengths = [r["chars"] for r in rows if r["found"]]
    return {
        "answerable": len(answerable),
        "states_fact": sum(r["states_fact"] for r in answerable) / len(answerable) if answerable else None,
        "fact_in_lead": (sum(1 for r in answerable if r.get("fact_at") is not None and r["fact_at"] < LEAD_CHARS)
                         / len(answerable) if answerable else None),
        "median_chars": percentile([float(n) for n in lengths], 0.5) if lengths else None,
        "false_refusals": sum(1 for r in answerable if not r["found"]),
        "unanswerable": len(unanswerable),
        "refused": sum(1 for r in unanswerable if not r["found"]),
    }


def verdict(answer: Answer, gold: tuple[str, ...]) -> str:
    """What a person concludes from an answer: refused, answered with the fact, or answered without it."""
    if not answer.found:
        return "refused"
    return "states" if not gold or states_fact(answer, gold) else "answered"


def mid_conversation(ask_in: Callable[[str, str], Answer], questions: list[Question],
                     alone: dict[str, str]) -> dict[str, Any]:
    """Every question asked as turn 2, 3 or 4 of a conversation whose earlier turns are the questions before it
    in the list (other topics, as a person asks one thing after another): how many change verdict against
    ``alone`` (question id -> verdict asked alone). A question that stands on its own must not change."""
    changed = []
    for i, q in enumerate(questions):
        before = [questions[(i - k) % len(questions)] for k in range(1 + i % 3, 0, -1)]
        conversation = f"eval-{i:04d}-{abs(hash(q.question)) % 10**8:08d}"
        for earlier in before:
            ask_in(earlier.question, conversation)
        v = verdict(ask_in(q.question, conversation), q.gold)
        if v != alone[q.id]:
            changed.append({"id": q.id, "alone": alone[q.id], "in_conversation": v, "turn": len(before) + 1})
    return {"n": len(questions), "changed": len(changed), "changes": changed}


def evaluate(ask: Callable[[str], Answer], questions: Iterable[Question],
             ask_in: Callable[[str, str], Answer] | None = None) -> dict[str, Any]:
    """Run every question once through ``ask`` and summarise; with ``ask_in`` (question, conversation id), also
    ask each one mid-conversation and count the verdicts that change (:func:`mid_conversation`)."""
    questions = list(questions)
    per_kind: dict[str, list[tuple[int | None, int | None]]] = defaultdict(list)
    latencies: list[float] = []
    rows = []
    alone: dict[str, str] = {}
    for q in questions:
        t0 = time.perf_counter()
        ans = ask(q.question)
        latencies.append((time.perf_counter() - t0) * 1000)
        alone[q.id] = verdict(ans, q.gold)
        row: dict[str, Any] = {"id": q.id, "set": q.set, "lang": q.lang, "kind": q.kind, "answerable": q.answerable,
                               "found": ans.found, "rank": None, "states_fact": False, "fact_at": None,
                               "chars": len(ans.text)}
        if q.answerable:
            rank = first_hit(ans, q.gold)
            ranks = (rank, first_hit(ans, q.gold, max_chars=1500))
            per_kind[q.kind].append(ranks)
            per_kind["all"].append(ranks)
            row.update(rank=rank, states_fact=states_fact(ans, q.gold), fact_at=fact_start(ans, q.gold))
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
        "mid_conversation": mid_conversation(ask_in, questions, alone) if ask_in is not None else None,
    }


def misses_of(result: dict[str, Any]) -> list[str]:
    """Ids of answerable questions whose answer does not state the fact or whose passage is not first, and of
    unanswerable ones answered anyway."""
    return [r["id"] for r in result["questions"]
            if (r["answerable"] and (r["rank"] != 1 or not r["states_fact"])) or (not r["answerable"] and r["found"])]


def _reading_line(name: str, r: dict[str, Any]) -> str:
    states = "–" if r["states_fact"] is None else f"{r['states_fact']:.2f}"
    lead = "–" if r["fact_in_lead"] is None else f"{r['fact_in_lead']:.2f}"
    chars = "–" if r["median_chars"] is None else f"{r['median_chars']:.0f}"
    return (f"{name:<28}{r['answerable']:>7}{states:>7}{lead:>9}{chars:>8}{r['false_refusals']:>11}"
            f"{r['unanswerable']:>9}{r['refused']:>11}")


def format_report(result: dict[str, Any]) -> str:
    """The evaluation as a readable Dutch table."""
    lines = [t("eval.ranking_header"),
             f"{t('eval.kind'):<14}{'n':>4}{'hit@1':>8}{'hit@5':>8}{'MRR':>8}{'hit≤1500':>10}"]
    for kind, s in result["answerable"].items():
        lines.append(f"{kind:<14}{s['n']:>4}{s['hit@1']:>8.2f}{s['hit@5']:>8.2f}{s['mrr']:>8.2f}"
                     f"{s['hit@1500chars']:>10.2f}")
    reading = result["reading"]
    lines += ["", t("eval.reading_header"),
              f"{'':<28}{t('eval.answerable'):>7}{t('eval.states'):>7}{t('eval.lead'):>9}{t('eval.chars'):>8}"
              f"{t('eval.false_refusals'):>11}{t('eval.unanswerable'):>9}{t('eval.refused'):>11}",
              _reading_line(t("eval.all"), reading["all"])]
    for name, r in reading["by_set"].items():
        lines.append(_reading_line(f"{t('eval.set')} {name}", r))
    for lang, r in reading["by_language"].items():
        lines.append(_reading_line(f"{t('eval.language')} {lang}", r))
    lat = result["latency_ms"]
    lines += [t("eval.legend"), "", t("eval.latency", p50=f"{lat['p50']:.1f}", p95=f"{lat['p95']:.1f}")]
    mid = result.get("mid_conversation")
    if mid:
        lines.append(t("eval.mid_conversation", changed=mid["changed"], n=mid["n"]))
        for c in mid["changes"]:
            lines.append(t("eval.mid_change", id=c["id"], turn=c["turn"], alone=c["alone"], now=c["in_conversation"]))
    misses = misses_of(result)
    if misses:
        lines.append(t("eval.misses", ids=", ".join(misses)))
    return "\n".join(lines)
