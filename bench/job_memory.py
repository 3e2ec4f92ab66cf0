"""The re-index job's embedder and its peak memory: one ingest of the shipped corpus, in this process.

    .venv/bin/python bench/job_memory.py            # the job's embedder (lean calls)
    .venv/bin/python bench/job_memory.py --plain    # the service's embedder, for comparison

Prints the process's VmHWM (its own peak resident set; ru_maxrss would carry a parent's peak across exec)
after the model is loaded and after the ingest. Issue 20: a re-index job stays under 1.5 GB. The job
process proper also holds the job state and the reading server's pipe; bench/hostile_files.py measures it
whole, with hostile uploads.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def vm_hwm_mb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", action="store_true", help="the service's embedder instead of the job's")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.config import Settings
    from assistant.model.embedding import open_embedder
    from ingest.build import ingest

    with tempfile.TemporaryDirectory(prefix="job-memory-") as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "corpus", root / "corpus")
        (root / "data").mkdir()
        (root / "data" / "models").symlink_to(REPO / "data" / "models")
        settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus")
        start = time.perf_counter()
        embedder = open_embedder(settings.embedding_model, settings.models_dir, backend=settings.embedding_backend,
                                 threads=settings.ingest_threads, lean=not args.plain)
        loaded = vm_hwm_mb()
        report = ingest(settings, embedder=embedder).to_dict()
        print(f"{'service' if args.plain else 'job'} embedder: peak {vm_hwm_mb()} MB (after loading the model "
              f"{loaded} MB); {report.get('passages')} passages in {time.perf_counter() - start:.1f} s; "
              f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
