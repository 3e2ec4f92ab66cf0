"""Which Dutch stemmer serves retrieval best: Snowball "dutch", "dutch_porter", and dutch_porter with the
two Dutch ending rules of assistant.text.analysis ("dutch_porter+nl").

Each variant gets its own index of the shipped corpus (same model, same chunks); retrieval is measured
on every answerable training question (dev, extra, bench/questions/train_answerable) and, reported
apart, on our held-out questions. Hybrid (what users get) and lexical-only (where the stemmer acts
alone) ranks are both shown.

    .venv/bin/python bench/stemmers.py [--json-out FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import common

from assistant.evaluation import normalise, read_questions
from assistant.text.analysis import analyzer_config

VARIANTS = ("dutch", "dutch_porter", "dutch_porter+nl")


def _rank(texts: list[str], gold: tuple[str, ...]) -> int | None:
    golds = [normalise(g) for g in gold]
    for i, text in enumerate(texts, start=1):
        if any(g in normalise(text) for g in golds):
            return i
    return None


def measure(assistant: Any, paths: list[Path]) -> dict[str, float]:
    hybrid, lexical = [], []
    reader = assistant.reader
    for path in paths:
        for q in read_questions(path):
            if not q.answerable:
                continue
            retrieval, _ = assistant.explain(q.question, top_k=5)
            hybrid.append(_rank([h.passage.text for h in retrieval.hits], q.gold))
            ids, _ = reader.lexical_search(retrieval.terms, 5)
            lexical.append(_rank([p.text for p in reader.passages(list(ids))], q.gold))

    def summary(ranks: list[int | None]) -> dict[str, float]:
        n = len(ranks)
        return {"n": n, "hit@1": sum(r == 1 for r in ranks) / n, "hit@5": sum(r is not None for r in ranks) / n,
                "mrr": sum(1 / r for r in ranks if r) / n}
    return {**{f"hybrid_{k}": v for k, v in summary(hybrid).items()},
            **{f"lexical_{k}": v for k, v in summary(lexical).items() if k != "n"}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    shared = common.REPO.parent / "shared" / "eval"
    train = [p for p in (shared / "dev.jsonl", common.EXTRA_SET,
                         common.REPO / "bench" / "questions" / "train_answerable.jsonl") if p.is_file()]
    test = [p for p in (common.REPO / "bench" / "questions" / "test_answerable.jsonl",) if p.is_file()]
    rows, result = [], {}
    for variant in VARIANTS:
        assistant, _ = common.real_assistant(f"stem-{variant.replace('+', '-')}", analyzer=analyzer_config(variant))
        result[variant] = {"train": measure(assistant, train), "held_out": measure(assistant, test) if test else {}}
        for part in ("train", "held_out"):
            r = result[variant][part]
            if r:
                rows.append([variant, part, r["hybrid_n"], f"{r['hybrid_hit@1']:.3f}", f"{r['hybrid_hit@5']:.3f}",
                             f"{r['hybrid_mrr']:.3f}", f"{r['lexical_hit@1']:.3f}", f"{r['lexical_hit@5']:.3f}",
                             f"{r['lexical_mrr']:.3f}"])
        print(f"measured {variant}", file=sys.stderr)
    print(common.md_table(["stemmer", "questions", "n", "hybrid hit@1", "hybrid hit@5", "hybrid MRR",
                           "BM25 hit@1", "BM25 hit@5", "BM25 MRR"], rows))
    common.write_json(result, args.json_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
