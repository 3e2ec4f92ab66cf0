"""pgvector HNSW parameters: dense recall@10 and latency of other (m, ef_construction) on a kept version.

Needs a directory written by ``bench/scale.py --keep DIR`` with a PostgreSQL version of ``--n`` passages.
The version's vectors are copied into a scratch table per setting and indexed there; recall@10 is against
exhaustive numpy search over the same synthetic vectors, with the product's ef_search.

    .venv/bin/python bench/scale.py --sizes "" --store-sizes 100000 --keep /tmp/keep-100k   # once
    .venv/bin/python bench/pg_hnsw.py --keep /tmp/keep-100k --n 100000 --settings 16:64,32:80
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import common
import numpy as np


def main(argv: list[str] | None = None) -> int:
    from pgvector import Vector

    from assistant.index import postgres as pg
    from assistant.localdb import LocalServer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--settings", default="16:64,32:80", help="m:ef_construction,...")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)

    server = LocalServer(args.keep / f"postgres-{args.n}" / "postgres")
    db = pg.database(server.start().url)
    try:
        schemas = [r[0] for r in db.rows("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'wv\\_%'")]
        assert len(schemas) == 1, schemas
        vectors = np.load(args.keep / f"vectors-{args.n}.npy")
        questions = pickle.loads((args.keep / f"questions-{args.n}.pkl").read_bytes())  # our own file
        queries = [q for _, q in questions]
        truth = [set(np.argsort(-(vectors @ q))[:10].tolist()) for q in queries]
        rows: list[dict[str, Any]] = []
        for setting in args.settings.split(","):
            m, efc = (int(x) for x in setting.split(":"))
            db.execute("DROP TABLE IF EXISTS public.hnsw_bench")
            db.execute(f"CREATE TABLE public.hnsw_bench AS SELECT id, embedding FROM {schemas[0]}.vectors")
            t0 = time.perf_counter()
            with db.transaction() as conn:
                # the graph must fit, or the build slows down many times (1M vectors of 384 floats: ~3 GB)
                conn.execute(f"SET LOCAL maintenance_work_mem = '{'4GB' if args.n > 300_000 else '1GB'}'")
                conn.execute(f"CREATE INDEX ON public.hnsw_bench USING hnsw (embedding vector_ip_ops) "
                             f"WITH (m = {m}, ef_construction = {efc})")
            build_s = time.perf_counter() - t0
            found, times = [], []
            for q in queries:
                t0 = time.perf_counter()
                got = db.rows("SELECT id FROM public.hnsw_bench ORDER BY embedding <#> %s LIMIT 10", (Vector(q),))
                times.append(time.perf_counter() - t0)
                found.append({r[0] for r in got})
            size = db.rows("SELECT pg_indexes_size('public.hnsw_bench')")[0][0]
            row = {"m": m, "ef_construction": efc, "ef_search": pg.HNSW_EF_SEARCH, "build_s": round(build_s, 1),
                   "index_mb": round(size / 1024 / 1024), "loadavg": common.loadavg()[0],
                   "recall@10": round(float(np.mean([len(f & t) / 10 for f, t in zip(found, truth, strict=True)])), 4),
                   "p50_ms": common.ms(common.percentile(times, 0.5)),
                   "p95_ms": common.ms(common.percentile(times, 0.95))}
            rows.append(row)
            print(row, flush=True)
            db.execute("DROP TABLE public.hnsw_bench")
        common.write_json({"n": args.n, "rows": rows}, args.json_out)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
