"""Small hostile files against the per-document budgets (issue 20, item 7): peak memory and time to answerable.

    .venv/bin/python bench/hostile_files.py                  # the four hostile files, then an ordinary upload
    .venv/bin/python bench/hostile_files.py --together       # also: all of them and the upload in one job
    .venv/bin/python bench/hostile_files.py --control        # the upload alone, on the shipped corpus

A throw-away data directory and a copy of the shipped corpus under data/bench-hostile/; the real model and
the default budgets (WEGWIJZER_PARSE_TIMEOUT_S, _PARSE_MEMORY_MB, _OCR_MAX_MEGAPIXELS,
_MAX_PASSAGES_PER_DOCUMENT apply as set). Files are built on the fly (tests/hostile.py):

  * an OCR page bomb: a ~600-byte PDF with one 7200 x 7200 pt page, no text layer;
  * an ODT of ~80 KB that inflates to ~10,000 passages;
  * a DOCX of ~150 KB with a 4000 x 60 table (python-docx: a minute and more, hundreds of MB);
  * nested HTML of 4 MB (super-linear to walk).

Each file is dropped into the corpus folder (as an upload saves it) and one real re-index job runs for it
(``Reindexer``, the job process as in production). Every job runs under its own small supervisor process.
"job RSS" is the job process's own peak (its VmHWM, recorded by the job). "peak child" is ``ru_maxrss`` of the
supervisor's children, the job process or one reading child, whichever was larger; an upper bound, since Linux
carries ``ru_maxrss`` across execve (the reading server, started by the job, starts from the job's peak). The
tree's summed RSS (job + reading server + child, sampled every 0.1 s with psutil) is printed too.
Then an ordinary Markdown upload with a fact no other document holds; time to answerable is measured from
the moment it is saved to the moment the published index answers a question about it with it as the source.
Goal: every job under 1.5 GB, the ordinary upload answerable within 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_RSS_MB = 1536
GOAL_ANSWERABLE_S = 60.0
ORDINARY_NAME = "taalcafe-klinkaard.md"
ORDINARY = ("# Taalcafé Klinkaard\n\nTaalcafé Klinkaard is een ontmoetingsplek in de stadsbibliotheek waar "
            "nieuwkomers Nederlands oefenen met buurtbewoners. Taalcafé Klinkaard vindt plaats elke dinsdagavond "
            "van 19 tot 21 uur. Deelnemen is gratis en inschrijven is niet nodig.\n")
QUESTION = "Wanneer vindt Taalcafé Klinkaard plaats?"


def _env(work: Path) -> dict[str, str]:
    return {**os.environ, "WEGWIJZER_DATA_DIR": str(work / "data"), "WEGWIJZER_CORPUS_DIR": str(work / "corpus"),
            "WEGWIJZER_WATCH": "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}


def _prepare(work: Path) -> None:
    if work.exists():
        shutil.rmtree(work)
    (work / "data").mkdir(parents=True)
    shutil.copytree(ROOT / "corpus", work / "corpus")
    models = Path(os.environ.get("WEGWIJZER_TEST_MODELS_DIR") or ROOT / "data" / "models").resolve()
    (work / "data" / "models").symlink_to(models)


def run_job(work: Path) -> dict[str, Any]:
    """One re-index job under a supervisor process of its own; its measurements as a dict."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--supervise"], env=_env(work),
                         capture_output=True, text=True, check=False, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"the job supervisor failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def supervise() -> None:
    """In the supervisor: request a job, sample the tree's memory until it ends, print what it cost."""
    import resource
    import threading

    import psutil

    from assistant.config import Settings
    from ingest.jobs import Reindexer, pid_alive

    settings = Settings.from_env()
    reindexer = Reindexer(settings)  # the real model, loaded by the job process
    started = time.monotonic()
    ticket = reindexer.request("bench")
    tree_peak = 0
    pid = None
    while True:
        job = reindexer.job(ticket.job.id)
        pid = pid or (job.pid if job else None)
        if pid:
            try:
                proc = psutil.Process(pid)
                tree = [proc, *proc.children(recursive=True)]
                tree_peak = max(tree_peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
        if job is not None and job.finished and (pid is None or not pid_alive(pid)):
            break
        time.sleep(0.1)
    seconds = time.monotonic() - started
    for thread in threading.enumerate():  # the reaper thread collects the job process (for RUSAGE_CHILDREN)
        if thread.name.startswith("wegwijzer-job-"):
            thread.join(10)
    assert job is not None
    report = job.report or {}
    print(json.dumps({"state": job.state, "error": job.error, "seconds": round(seconds, 1),
                      "job_self_peak_mb": round((job.peak_rss_kb or 0) / 1024),
                      "children_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
                      "tree_peak_mb": round(tree_peak / 2**20),
                      "skipped": report.get("skipped", []), "documents": report.get("documents")}))


def answerable_after(start: float, deadline_s: float = 600) -> float | None:
    """Seconds from ``start`` until the published index answers QUESTION from ORDINARY_NAME (None: never)."""
    assistant = _ASSISTANT["a"]
    while time.monotonic() - start < deadline_s:
        if assistant.store.current_version() != assistant.version:
            assistant.refresh(force=True)
        answer = assistant.ask(QUESTION)
        if answer.found and answer.citations and answer.citations[0].source == ORDINARY_NAME:
            return time.monotonic() - start
        time.sleep(0.25)
    return None


_ASSISTANT: dict[str, Any] = {}


def _open_assistant(work: Path) -> None:
    os.environ.update(_env(work))
    from assistant import Assistant
    from assistant import index as idx
    from assistant.config import Settings
    from assistant.model.embedding import load_embedder

    settings = Settings.from_env()
    embedder = load_embedder(settings.embedding_model, settings.models_dir, backend=settings.embedding_backend)
    _ASSISTANT["a"] = Assistant(settings, idx.open_store(settings), embedder, follow=False)


def _upload_ordinary(work: Path) -> tuple[float, dict[str, Any], float | None]:
    """Save the ordinary document, run the job for it (in a thread: the clock runs while it works)."""
    import threading

    result: dict[str, Any] = {}
    start = time.monotonic()
    (work / "corpus" / ORDINARY_NAME).write_text(ORDINARY, encoding="utf-8")
    thread = threading.Thread(target=lambda: result.update(run_job(work)))
    thread.start()
    seconds = answerable_after(start)
    print(f"{ORDINARY_NAME} answerable after {seconds if seconds is None else round(seconds, 1)} s "
          "(the job may still be running)", flush=True)
    thread.join()
    return start, result, seconds


def _row(name: str, size: int | str, r: dict[str, Any], answer_s: float | None = None) -> str:
    peak = max(r["job_self_peak_mb"], r["children_peak_mb"])
    own = [s for s in r["skipped"] if s["source"] == name] or r["skipped"]
    reason = "; ".join(f"{s['source']}: {s['reason']}" for s in own) or "-"
    answer = "" if answer_s is None else f"{answer_s:.1f}"
    ok = "ok" if peak < GOAL_RSS_MB else "OVER"
    return (f"| {name} | {size} | {r['state']} | {r['seconds']:.1f} | {r['job_self_peak_mb']} | "
            f"{r['children_peak_mb']} | {r['tree_peak_mb']} | {ok} | {answer} | {reason} |")


HEADER = ("| file | bytes | job | job s | job RSS MB | peak child MB (ru_maxrss) | tree RSS MB | < 1.5 GB | "
          "answerable s | skipped (reason) |\n|---|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--supervise", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--together", action="store_true",
                        help="also run all hostile files and the ordinary upload in one job (fresh data dir)")
    parser.add_argument("--control", action="store_true",
                        help="only the control: the ordinary upload on the shipped corpus, no hostile file")
    parser.add_argument("--only-together", action="store_true",
                        help="only the all-in-one-job part of --together (without the file-by-file jobs)")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-hostile")
    args = parser.parse_args()
    if args.supervise:
        supervise()
        return
    if args.control:
        work = args.work / "control"
        _prepare(work)
        rows = [_row("(shipped corpus, first index)", "-", run_job(work))]
        _open_assistant(work)
        _start, result, seconds = _upload_ordinary(work)
        rows.append(_row(ORDINARY_NAME + " (control: no hostile file)", len(ORDINARY), result, seconds))
        print(HEADER)
        print("\n".join(rows))
        print(json.dumps({"control_answerable_s": seconds}))
        return
    sys.path.insert(0, str(ROOT))
    from tests.hostile import make_expanding_docx, make_expanding_odt, make_nested_html, make_page_bomb_pdf

    builders = [("bom.pdf", make_page_bomb_pdf), ("uitzetting.odt", make_expanding_odt),
                ("tabel.docx", make_expanding_docx), ("genest.html", make_nested_html)]
    rows: list[str] = []
    results: dict[str, float | None] = {}
    if not args.only_together:
        work = args.work / "one-by-one"
        _prepare(work)
        rows.append(_row("(shipped corpus, first index)", "-", run_job(work)))
        print(rows[0], flush=True)
        for name, build in builders:
            path = build(work / "corpus" / name)
            rows.append(_row(name, path.stat().st_size, run_job(work)))
            print(rows[-1], flush=True)
        again = run_job(work)  # a re-index with nothing new: the hostile files are remembered, not read again
        rows.append(_row("(re-index, nothing changed)", "-", again))
        print(rows[-1], flush=True)
        _open_assistant(work)
        _start, result, seconds = _upload_ordinary(work)
        rows.append(_row(ORDINARY_NAME + " (after them)", len(ORDINARY), result, seconds))
        print(rows[-1], flush=True)
        results["one_by_one_answerable_s"] = seconds
    if args.together or args.only_together:
        work = args.work / "together"
        _prepare(work)
        rows.append(_row("(shipped corpus, first index)", "-", run_job(work)))
        print(rows[-1], flush=True)
        sizes = sum(build(work / "corpus" / name).stat().st_size for name, build in builders)
        _ASSISTANT.clear()
        _open_assistant(work)
        _start, result, seconds = _upload_ordinary(work)
        rows.append(_row(f"all four + {ORDINARY_NAME} in one job", sizes, result, seconds))
        print(rows[-1], flush=True)
        results["together_answerable_s"] = seconds
    print()
    print(HEADER)
    print("\n".join(rows))
    print()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
