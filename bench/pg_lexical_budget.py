"""PostgreSQL lexical search against its work budget: latency and agreement with the exhaustive search.

Needs a directory written by ``bench/scale.py --keep DIR`` with a PostgreSQL version of ``--n`` passages.
Each budget (``POSTINGS_BUDGET``, posting entries applied per question) is run over the kept questions;
recall@10 and @100 are against the same search with no budget (exhaustive MaxScore).

    .venv/bin/python bench/pg_lexical_budget.py --keep /var/tmp/keep-1m --n 1000000 --budgets 200000,400000,800000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import common
import numpy as np
from scale import Kept


def main(argv: list[str] | None = None) -> int:
    from assistant import index as idx
    from assistant.config import Settings
    from assistant.index.postgres import reader as pg

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--budgets", default="200000,400000,800000")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    kept = Kept(args.keep, args.n)
    with kept.postgres() as url:
        settings = Settings(data_dir=args.keep / "scratch", corpus_dir=common.CORPUS, database_url=url)
        reader = idx.open_store(settings).open()
        questions = kept.questions()
        terms = [reader.query_terms(text) for text, _ in questions]

        def run(budget: int) -> tuple[list[float], list[np.ndarray]]:
            pg.POSTINGS_BUDGET = budget
            for tm in terms[:20]:  # warm-up
                reader.lexical_search(tm, 100)
            times, found = [], []
            for tm in terms:
                t0 = time.perf_counter()
                ids, _ = reader.lexical_search(tm, 100)
                times.append(time.perf_counter() - t0)
                found.append(ids)
            return times, found

        rows = []
        times, exact = run(10**12)
        rows.append({"budget": "none", "p50_ms": common.ms(common.percentile(times, 0.5)),
                     "p95_ms": common.ms(common.percentile(times, 0.95)), "recall@10": 1.0, "recall@100": 1.0})
        for budget in (int(b) for b in args.budgets.split(",")):
            times, found = run(budget)
            rows.append({"budget": budget, "p50_ms": common.ms(common.percentile(times, 0.5)),
                         "p95_ms": common.ms(common.percentile(times, 0.95)),
                         "recall@10": round(common.recall_at(found, exact, 10), 3),
                         "recall@100": round(common.recall_at(found, exact, 100), 3)})
        for row in rows:
            print(row, flush=True)
        print(f"load average at the end: {common.loadavg()[0]:.2f}")
        common.write_json({"n": args.n, "rows": rows}, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
