"""How the answer's composition settings trade 'states the fact' against length and the fact's place.

    .venv/bin/python bench/reading_variants.py            # cross-validated on the training questions
    .venv/bin/python bench/reading_variants.py --held-out # also the held-out questions (final report only)

The gates and the ranker are fitted exactly as bench/calibrate.py fits them (nested 5-fold cross-validation on
the training questions); each question's scored sentences are kept, and every variant of the composition
settings in ``assistant/answer/compose.py`` (which sentences follow the best one, how long a quoted list may be) is
applied to the same out-of-fold evidence. Nothing here is fitted: the variants are a handful of design
settings, chosen on the training questions; the held-out figures are printed for the final report only.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import calibrate as cal
import common
import numpy as np

from assistant.answer import compose as comp
from assistant.answer.evidence import Evidence
from assistant.evaluation import LEAD_CHARS, normalise

VARIANTS: dict[str, dict[str, Any]] = {
    "ratio 0.10": {"FOLLOWER_RATIO": 0.1},
    "ratio 0.15 (shipped)": {"FOLLOWER_RATIO": 0.15},
    "ratio 0.20": {"FOLLOWER_RATIO": 0.2},
    "ratio 0.25": {"FOLLOWER_RATIO": 0.25},
    "ratio 0.50": {"FOLLOWER_RATIO": 0.5},
    "best sentence only": {"FOLLOWER_RATIO": 1.01},
    "ratio 0.15, no lead cut": {"FOLLOWER_RATIO": 0.15, "LONG_LEAD": 10**6},
    "ratio 0.15, lists of 6 / 350 chars": {"FOLLOWER_RATIO": 0.15, "MAX_LIST_ITEMS": 6, "MAX_LIST_CHARS": 350},
}


def evidences(items: list[cal.Item], model: dict[str, Any]) -> list[tuple[bool, Evidence, list[Any]]]:
    out = []
    for it in items:
        answered, evidence = cal.evidence_of(it, model)
        out.append((answered, evidence, it.evidence_inputs[0].hits if evidence.sentences else []))
    return out


def reading(items: list[cal.Item], evs: list[tuple[bool, Evidence, list[Any]]]) -> dict[str, float]:
    states = lead = 0
    lengths = []
    answerable = [i for i, it in enumerate(items) if it.q.answerable]
    for i in answerable:
        answered, ev, hits = evs[i]
        if not answered:
            continue
        text = comp.compose(ev, hits)[0]
        lengths.append(len(text))
        norm = normalise(text)
        at = [norm.find(normalise(g)) for g in items[i].q.gold]
        if any(a >= 0 for a in at):
            states += 1
            if min(a for a in at if a >= 0) < LEAD_CHARS:
                lead += 1
    n = len(answerable)
    return {"states": states / n, "lead": lead / n, "median": float(np.median(lengths)) if lengths else 0.0,
            "p90": float(np.percentile(lengths, 90)) if lengths else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--held-out", action="store_true")
    args = parser.parse_args()
    assistant, _ = common.real_assistant("reading", neutral=True)
    items = cal.collect(assistant, cal.training_sets())
    evs: list[Any] = [None] * len(items)
    for f in cal.folds(items, cal.FOLDS):
        fs = set(int(i) for i in f)
        model = cal.fit_all([items[i] for i in range(len(items)) if i not in fs], cal.FOLDS)
        for i, e in zip(f, evidences([items[int(i)] for i in f], model), strict=True):
            evs[int(i)] = e
    test_items = cal.collect(assistant, cal.test_sets()) if args.held_out else []
    test_evs = evidences(test_items, cal.fit_all(items, cal.FOLDS)) if test_items else []
    print("| variant | states the fact | fact in first 160 chars | median chars | p90 chars |"
          + (" held-out: states | lead | median |" if test_items else ""))
    print("|---|---|---|---|---|" + ("---|---|---|" if test_items else ""))
    defaults = {k: getattr(comp, k) for v in VARIANTS.values() for k in v}
    for name, setting in VARIANTS.items():
        for k, v in {**defaults, **setting}.items():
            setattr(comp, k, v)
        r = reading(items, evs)
        row = f"| {name} | {r['states']:.2f} | {r['lead']:.2f} | {r['median']:.0f} | {r['p90']:.0f} |"
        if test_items:
            h = reading(test_items, test_evs)
            row += f" {h['states']:.2f} | {h['lead']:.2f} | {h['median']:.0f} |"
        print(row, flush=True)
    for k, v in defaults.items():
        setattr(comp, k, v)
    print(f"({len(items)} training questions, {sum(it.q.answerable for it in items)} answerable)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
