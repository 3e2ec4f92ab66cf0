"""Shared helpers for the benchmarks: the machine, memory from /proc, percentiles, throw-away data dirs.

Every benchmark script is runnable alone (``.venv/bin/python bench/<name>.py``) and offers
``--json-out FILE`` so that ``bench/run_all.py`` can run each in a fresh process and collect the numbers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # the scripts run from bench/, the packages live in the repository root
    sys.path.insert(0, str(REPO))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CORPUS = REPO / "corpus"
DEV_SET = REPO.parent / "shared" / "eval" / "dev.jsonl"
EXTRA_SET = REPO / "bench" / "extra_questions.jsonl"
QUESTIONS = REPO / "bench" / "questions"


def question_files(prefix: str) -> list[Path]:
    """Our single-question sets, ``train`` (tuning) or ``test`` (held out); the conversation sets
    (``*followups.jsonl``, run by bench/followups.py) have another shape and are left out."""
    return sorted(p for p in QUESTIONS.glob(f"{prefix}_*.jsonl") if p.is_file() and "followups" not in p.name)


SHARED_MODELS = REPO / "data" / "models"  # the materialised model, shared with the tests and the dev data dir


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in 0..1 (the same definition as `wegwijzer eval`)."""
    from assistant.evaluation import percentile as _p

    return float(_p(values, q))


def proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS / VmHWM / VmSize of a process in MB, read from /proc (psutil is not a dependency)."""
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "VmSize"):
                out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def rss_mb() -> float:
    return proc_status().get("VmRSS", 0.0)


def loadavg() -> tuple[float, float, float]:
    one, five, fifteen = (float(x) for x in Path("/proc/loadavg").read_text().split()[:3])
    return one, five, fifteen


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = 0.0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gb": round(mem_gb, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "faiss": _version("faiss-cpu"),
        "sentence_transformers": _version("sentence-transformers"),
        "numpy": _version("numpy"),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg": loadavg(),
    }


@contextlib.contextmanager
def temp_data_dir(prefix: str = "wegwijzer-bench-") -> Iterator[Path]:
    """A throw-away WEGWIJZER_DATA_DIR whose models/ points at the shared materialised model."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        data = base / "data"
        data.mkdir()
        SHARED_MODELS.mkdir(parents=True, exist_ok=True)
        (data / "models").symlink_to(SHARED_MODELS, target_is_directory=True)
        yield data
    finally:
        shutil.rmtree(base, ignore_errors=True)


def real_embedder() -> tuple[Any, float]:
    """The product's embedder (bundled multilingual-e5-small) and the seconds it took to load."""
    from assistant.config import DEFAULT_EMBEDDING_BACKEND, DEFAULT_MODEL
    from assistant.model.embedding import load_embedder

    started = time.perf_counter()
    embedder = load_embedder(DEFAULT_MODEL, SHARED_MODELS, backend=DEFAULT_EMBEDDING_BACKEND)
    return embedder, time.perf_counter() - started


def write_json(result: dict[str, Any], path: Path | None) -> None:
    if path is not None:
        Path(path).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


def recall_at(found: Any, truth: Any, k: int) -> float:
    """Mean over questions of the share of the true top ``k`` found in the top ``k`` (lists or arrays of ids)."""
    shares = [len(set(list(f[:k])) & set(list(t[:k]))) / max(1, len(t[:k])) for f, t in zip(found, truth, strict=True)]
    return sum(shares) / len(shares) if shares else 0.0


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table; floats are printed as given (format them before)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def real_assistant(name: str, corpus: Path = CORPUS, analyzer: dict[str, Any] | None = None,
                   neutral: bool = False) -> tuple[Any, Any]:
    """An Assistant on the real model over ``corpus``, indexed into data/bench-<name> (kept between runs;
    an ingest with nothing changed keeps the published version, so a second run starts in seconds)."""
    from assistant import Assistant
    from assistant.answer.evidence import EvidenceModel
    from assistant.config import Settings
    from ingest.build import ingest

    data = REPO / "data" / f"bench-{name}"
    data.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data, corpus_dir=corpus)
    embedder, _ = real_embedder()
    ingest(settings, embedder=embedder, analyzer=analyzer)
    model = EvidenceModel.neutral() if neutral else None
    return Assistant.load(settings=settings, embedder=embedder, follow=False, evidence_model=model), settings
