"""pgvector's vector indexes side by side on a kept version: build time, size, dense recall@10 and @100, and
latency at k=100 (what the retriever asks for) of HNSW (m, ef_construction, ef_search) and IVFFlat (lists, probes).

Needs a directory written by ``bench/scale.py --keep DIR`` with a PostgreSQL version of ``--n`` passages.
The version's vectors are copied into a scratch table per index and indexed there; recall is against
exhaustive numpy search over the same synthetic vectors.

    .venv/bin/python bench/scale.py --sizes "" --store-sizes 100000 --keep /tmp/keep-100k   # once
    .venv/bin/python bench/pg_vector_index.py --keep /tmp/keep-100k --n 100000 \
        --settings hnsw:32:80:400,ivfflat:100:10

A setting is ``hnsw:M:EF_CONSTRUCTION:EF_SEARCH[:EF_SEARCH...]`` or ``ivfflat:LISTS:PROBES[:PROBES...]``;
the later numbers are swept on one build.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import common
import numpy as np
from scale import Kept


def _recall(found: list[list[int]], truth: list[list[int]], k: int) -> float:
    return round(common.recall_at(found, truth, k), 4)


def main(argv: list[str] | None = None) -> int:
    from pgvector import Vector

    from assistant.stores import pg

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--settings", default="hnsw:32:80:400,ivfflat:100:10", help="see above")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)

    kept = Kept(args.keep, args.n)
    with kept.postgres() as url:
        db = pg.database(url)
        schemas = [r[0] for r in db.rows("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'wv\\_%'")]
        assert len(schemas) == 1, schemas
        vectors, questions = kept.load_inputs()
        queries = [q for _, q in questions]
        truth = []
        for q in queries:
            scores = vectors @ q
            top = np.argpartition(-scores, 99)[:100]
            truth.append(top[np.argsort(-scores[top])].tolist())
        rows: list[dict[str, Any]] = []
        for setting in args.settings.split(","):
            kind, *numbers = setting.split(":")
            if kind == "hnsw":
                m, efc, *sweep = (int(x) for x in numbers)
                with_clause, knob = f"m = {m}, ef_construction = {efc}", "hnsw.ef_search"
            elif kind == "ivfflat":
                lists, *sweep = (int(x) for x in numbers)
                with_clause, knob = f"lists = {lists}", "ivfflat.probes"
            else:
                raise SystemExit(f"unknown index kind {kind!r} (hnsw or ivfflat)")
            db.execute("DROP TABLE IF EXISTS public.vector_bench")
            db.execute(f"CREATE TABLE public.vector_bench AS SELECT id, embedding FROM {schemas[0]}.vectors")
            t0 = time.perf_counter()
            with db.transaction() as conn:
                # an HNSW graph must fit, or the build slows down many times (1M vectors of 384 floats: ~3 GB)
                conn.execute(f"SET LOCAL maintenance_work_mem = '{'4GB' if args.n > 300_000 else '1GB'}'")
                conn.execute(f"CREATE INDEX ON public.vector_bench USING {kind} (embedding vector_ip_ops) "
                             f"WITH ({with_clause})")
            build_s = time.perf_counter() - t0
            size = db.rows("SELECT pg_indexes_size('public.vector_bench')")[0][0]
            for value in sweep:
                found, times = [], []
                for _round in range(2):  # the first round reads the index into memory
                    found, times = [], []
                    for q in queries:
                        with db.transaction() as conn:
                            conn.execute(f"SELECT set_config('{knob}', %s, true)", (str(value),))
                            t0 = time.perf_counter()
                            got = conn.execute("SELECT id FROM public.vector_bench ORDER BY embedding <#> %s "
                                               "LIMIT 100", (Vector(q),)).fetchall()
                            times.append(time.perf_counter() - t0)
                        found.append([r[0] for r in got])
                row = {"index": kind, "with": with_clause, knob: value, "build_s": round(build_s, 1),
                       "index_mb": round(size / 1024 / 1024), "loadavg": common.loadavg()[0],
                       "recall@10": _recall(found, truth, 10), "recall@100": _recall(found, truth, 100),
                       "p50_ms": common.ms(common.percentile(times, 0.5)),
                       "p95_ms": common.ms(common.percentile(times, 0.95))}
                rows.append(row)
                print(row, flush=True)
            db.execute("DROP TABLE public.vector_bench")
        common.write_json({"n": args.n, "rows": rows}, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
