"""Run every benchmark, print the numbers and write docs/benchmarks.md.

    .venv/bin/python bench/run_all.py            # everything (also `make bench`), ~15-20 min on 2 cores
    .venv/bin/python bench/run_all.py --quick    # no 1M case, the two stores only at 10k

Each benchmark runs in its own fresh process (clean memory figures, the model loaded cold once per
benchmark) and hands its numbers back as JSON. bench/load_http.py (the web service's load test)
runs too when it is present.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import backends
import common
import followups
import formats
import ingest_bench
import latency
import numpy as np
import quality
import reindex_load
import scale
import verify_calibrate

from assistant.transparency import evaluation_summary

BENCH = Path(__file__).resolve().parent
OUT = common.REPO / "docs" / "benchmarks.md"
COMMAND = ".venv/bin/python bench/run_all.py"
KEPT = "## By hand: "  # sections measured by a command too long for `make bench` (each names its command)


def kept_sections(path: Path) -> str:
    """The ``## By hand: …`` sections of the previous file, carried over unchanged."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    out, keep = [], False
    for line in lines:
        if line.startswith("## "):
            keep = line.startswith(KEPT)
        if keep:
            out.append(line)
    return ("\n" + "\n".join(out) + "\n") if out else ""


LLM_SMOKE_START, LLM_SMOKE_END = "<!-- llm-smoke:start -->", "<!-- llm-smoke:end -->"
# bench/reindex_load.py runs: the default job settings, the job at full strength for comparison, two workers
REINDEX_RUNS = [["--workers", "1"], ["--workers", "1", "--ingest-nice", "0", "--ingest-threads", "2"],
                ["--workers", "2"]]


def _run(name: str, args: list[str], tmp: Path) -> tuple[dict[str, Any] | None, float, str]:
    """Run bench/<name>.py in a fresh process; its stdout streams through; returns (json, seconds, error)."""
    out = tmp / f"{name}.json"
    print(f"\n=== {name} ===", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), *args, "--json-out", str(out)],
                          cwd=common.REPO, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or not out.exists():
        return None, seconds, f"exit code {proc.returncode}"
    return json.loads(out.read_text(encoding="utf-8")), seconds, ""


def _run_http(tmp: Path) -> tuple[dict[str, Any] | None, float, str]:
    script = BENCH / "load_http.py"
    print("\n=== load_http ===", flush=True)
    if not script.exists():
        return None, 0.0, "bench/load_http.py is not present"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), "--json"], cwd=common.REPO, check=False,
                          stdout=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        return None, seconds, f"exit code {proc.returncode}, no JSON on stdout"
    for r in data.get("results", []):
        print(f"concurrency {r['concurrency']:>3}: {r['ok']}/{r['requests']} ok, {r['throughput_rps']} req/s, "
              f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms", flush=True)
    print(f"server memory: {data.get('server_memory_mb')}", flush=True)
    return data, seconds, "" if proc.returncode == 0 else f"exit code {proc.returncode}"


def http_markdown(r: dict[str, Any]) -> str:
    rows = [[x["concurrency"], x["requests"], sum(x["errors"].values()), x["throughput_rps"], x["p50_ms"],
             x["p95_ms"], x["p99_ms"]] for x in r["results"]]
    mem = r.get("server_memory_mb") or {}
    out = ["`bench/load_http.py` (the web engineer's load test): one `wegwijzer serve` worker on 127.0.0.1, "
           "on a freshly indexed copy of the corpus, the client in the same machine.", "",
           common.md_table(["concurrency", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"], rows)]
    if mem.get("end_rss") is not None:
        out += ["", f"Server RSS: {mem['start_rss']:.0f} MB at start, {mem['end_rss']:.0f} MB after the run, "
                f"peak {mem['peak_rss']:.0f} MB."]
    return "\n".join(out)


def threshold_markdown(sc: dict[str, Any], lat: dict[str, Any] | None) -> str:
    """The numbers behind HNSW_THRESHOLD, side by side, and what exact search costs at the threshold."""
    by = {(v["n"], v["kind"]): v for v in sc["vectors"]}
    threshold = sc["hnsw_threshold"]
    lines = [f"`assistant/index.py` switches from exact search to HNSW at `HNSW_THRESHOLD = {threshold:,}` "
             f"vectors (HNSW efSearch {sc['hnsw']['efSearch']}).", ""]
    flat_1t: list[tuple[int, float]] = []
    for n in sorted({v["n"] for v in sc["vectors"]}):
        f, h = by.get((n, "flat")), by.get((n, "hnsw"))
        if not (f and h):
            continue
        flat_1t.append((n, f["p50_1thread_ms"]))
        lines.append(f"- {n:,}: exact p50 {f['p50_ms']:.2f} ms ({f['p50_1thread_ms']:.2f} ms single-threaded), "
                     f"build {f['build_s']:.1f} s; HNSW p50 {h['p50_ms']:.2f} ms at recall@10 {h['recall@10']:.3f} "
                     f"(@100 {h.get('recall@100', float('nan')):.3f}), build {h['build_s']:.0f} s, "
                     f"{h['file_mb'] / max(f['file_mb'], 1e-9):.2f}× the memory.")
    if lat and flat_1t:
        floor = lat["floor_ms"]["p50"]
        at = float(np.interp(threshold, [n for n, _ in flat_1t], [m for _, m in flat_1t]))
        lines += ["", f"The query-embedding floor is {floor:.0f} ms p50, so everything else in an ask may take "
                  f"{floor * (latency.GOAL - 1):.0f} ms (goal {latency.GOAL}×); it takes "
                  f"{lat['ask_rest_ms']['p50']:.1f} ms on the shipped corpus. At the threshold exact search "
                  f"costs about {at:.1f} ms single-threaded (interpolated), {at / floor:.0%} of the floor, and it "
                  "grows linearly with the corpus, while HNSW stays under a millisecond."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the 1M scale case and the 100k store comparison")
    parser.add_argument("--no-http", action="store_true", help="skip bench/load_http.py")
    parser.add_argument("--no-reindex", action="store_true", help="skip bench/reindex_load.py (~10 min)")
    parser.add_argument("--out", type=Path, default=OUT,
                        help=f"markdown report (default {OUT.relative_to(common.REPO)})")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    env = common.machine()
    print(f"machine: {env['cpu']}, {env['cores']} cores, {env['ram_gb']} GB RAM; load average {env['loadavg']}")
    results: dict[str, Any] = {}
    timing: dict[str, float] = {}
    errors: dict[str, str] = {}
    loads: list[float] = [env["loadavg"][0]]
    sizes = "10000,50000,100000" if args.quick else "10000,50000,100000,1000000"
    stores = "10000" if args.quick else "100000"  # both stores; the 1M case runs by hand (hours)
    with tempfile.TemporaryDirectory(prefix="wegwijzer-bench-all-") as t:
        tmp = Path(t)
        steps: list[tuple[str, list[str]]] = [("ingest_bench", []), ("formats", []), ("quality", []),
                                              ("followups", []), ("verify_calibrate", []), ("backends", []),
                                              ("latency", [])]
        for name, extra in steps:
            results[name], timing[name], err = _run(name, extra, tmp)
            loads.append(common.loadavg()[0])
            if err:
                errors[name] = err
        if not args.no_http:
            results["http"], timing["http"], err = _run_http(tmp)
            loads.append(common.loadavg()[0])
            if err:
                errors["http"] = err
        if not args.no_reindex:
            runs, started_reindex = [], time.perf_counter()
            for k, extra in enumerate(REINDEX_RUNS):
                (tmp / f"reindex{k}").mkdir()
                run, _, err = _run("reindex_load", extra, tmp / f"reindex{k}")
                loads.append(common.loadavg()[0])
                if err:
                    errors["reindex_load"] = err
                elif run is not None:
                    runs.append(run)
            results["reindex_load"] = runs or None
            timing["reindex_load"] = time.perf_counter() - started_reindex
        results["scale"], timing["scale"], err = _run("scale", ["--sizes", sizes, "--store-sizes", stores], tmp)
        loads.append(common.loadavg()[0])
        if err:
            errors["scale"] = err
    total = time.perf_counter() - started

    md = render(env, results, timing, errors, loads, total, args) + kept_sections(args.out)
    kept = llm_smoke_section(args.out)
    if kept:  # measured by `make llm-smoke` (it needs llama-cpp-python), not by this run: carried over
        md = md.replace("\n## Run times", "\n" + kept + "\n\n## Run times", 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md, encoding="utf-8")
    write_evaluation(args.out.with_name("evaluation.json"), env["date"], results)
    print(f"\nwrote {args.out} in {total / 60:.1f} min" + (f"; FAILED: {errors}" if errors else ""))
    return 1 if errors else 0


def write_evaluation(path: Path, measured_at: str, results: dict[str, Any]) -> None:
    """docs/evaluation.json: the headline figures /transparantie shows (assistant/transparency.py reads it).

    Written only when this run measured them: a failed run leaves the previous figures in place.
    """
    summary = evaluation_summary(measured_at, results.get("quality"), results.get("verify_calibrate"))
    if summary["retrieval"] or summary["verification"]:
        path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path}")


def llm_smoke_section(path: Path) -> str:
    """The `make llm-smoke` section of the existing report, if any (see bench/llm_smoke.py --write)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(LLM_SMOKE_START), text.find(LLM_SMOKE_END)
    return text[start:end + len(LLM_SMOKE_END)] if 0 <= start < end else ""


def render(env: dict[str, Any], results: dict[str, Any], timing: dict[str, float], errors: dict[str, str],
           loads: list[float], total: float, args: argparse.Namespace) -> str:
    cmd = COMMAND + (" --quick" if args.quick else "") + (" --no-http" if args.no_http else "") \
        + (" --no-reindex" if args.no_reindex else "")
    busy = max(loads) > (env["cores"] or 1)
    out = [
        "# Benchmarks",
        "",
        f"Generated by `{cmd}` (also `make bench`); do not edit by hand, except the sections titled "
        f"\"By hand: …\", which each run carries over. Total run time {total / 60:.1f} min.",
        "",
        "## Machine",
        "",
        f"- CPU: {env['cpu']}, {env['cores']} cores ({env['cores_usable']} usable); RAM {env['ram_gb']} GB",
        f"- {env['os']}; Python {env['python']}, torch {env['torch']}, faiss-cpu {env['faiss']}, "
        f"sentence-transformers {env['sentence_transformers']}, numpy {env['numpy']}",
        f"- Date: {env['date']}",
        f"- 1-minute load average during the run: {min(loads):.1f} to {max(loads):.1f} on {env['cores']} cores."
        + (" **The machine was shared with other engineers' test runs, so absolute times are noisy;** the "
           "ratios (ask vs floor, exact vs HNSW) are measured side by side in the same process and hold "
           "up better." if busy else ""),
        "",
    ]

    def section(title: str, key: str, body: Any) -> None:
        out.extend([f"## {title}", ""])
        if results.get(key) is None:
            out.extend([f"Not measured: {errors.get(key, 'skipped')}.", ""])
        else:
            out.extend([body(results[key]), ""])

    section("Retrieval quality", "quality", quality.to_markdown)
    section("Ingest", "ingest_bench", ingest_bench.to_markdown)
    if results.get("followups") is not None:
        out.extend([followups.markdown(results["followups"], "python bench/followups.py"), ""])
    else:
        out.extend(["## Follow-up questions", "", f"Not measured: {errors.get('followups', 'skipped')}.", ""])
    section("Verifying written sentences", "verify_calibrate", verify_calibrate.to_markdown)
    section("File formats", "formats", formats.to_markdown)
    section("Embedding backends", "backends", backends.to_markdown)
    section("Query latency", "latency", latency.to_markdown)
    section("HTTP (`POST /api/ask`)", "http", http_markdown)
    section("Re-index under load", "reindex_load", reindex_load.to_markdown)
    section("Scale (synthetic vectors and versions)", "scale", scale.to_markdown)
    if results.get("scale"):
        out.extend(["### The automatic switch to HNSW", "",
                    threshold_markdown(results["scale"], results.get("latency")), "",
                    "See docs/scaling.md for what these numbers mean for a deployment.", ""])
    out.extend(["## Run times", "", common.md_table(["benchmark", "seconds"],
                                                     [[k, f"{v:.0f}"] for k, v in timing.items()]), ""])
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
