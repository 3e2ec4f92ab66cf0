"""How long a metadata edit on /beheer takes to be indexed, and how many re-index jobs it costs.

Starts ``wegwijzer serve`` (watcher on, its default poll and quiet periods) on a copy of the data
directory's index and corpus, signs in to /beheer, edits one document's title, and times until no job is
active; then waits the watcher's quiet period plus two polls more and counts the jobs the edit started.
Issue 20 measured 12.9 s and two jobs (the admin's and the watcher's, redundant).

    python bench/metadata_edit.py            # uses WEGWIJZER_DATA_DIR / the shipped corpus
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import get_settings  # noqa: E402

TOKEN = "bench-" + "x" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jobs(index_dir: Path) -> list[dict[str, Any]]:
    path = index_dir / "job.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    out = [j for j in (data.get("current"), data.get("next"), *data.get("history", [])) if j]
    return list({j["id"]: j for j in out}.values())


def active(index_dir: Path) -> bool:
    return any(j["state"] in ("queued", "running") for j in jobs(index_dir))


def main() -> int:
    source = get_settings()
    base = Path(tempfile.mkdtemp(prefix="wegwijzer-metaedit-"))
    corpus, data = base / "corpus", base / "data"
    shutil.copytree(source.corpus_dir, corpus)
    data.mkdir()
    shutil.copytree(source.index_dir, data / "index", symlinks=True, ignore=shutil.ignore_patterns("*.lock"))
    (data / "index" / "job.json").unlink(missing_ok=True)
    (data / "models").symlink_to(source.models_dir.resolve(), target_is_directory=True)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WEGWIJZER_DATA_DIR": str(data), "WEGWIJZER_CORPUS_DIR": str(corpus),
           "WEGWIJZER_ADMIN_TOKEN": TOKEN, "WEGWIJZER_CORS_ORIGINS": "", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    quiet, poll = float(env.get("WEGWIJZER_WATCH_QUIET_S", 5)), float(env.get("WEGWIJZER_WATCH_POLL_S", 2))
    log = (base / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "bots.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        deadline = time.monotonic() + 180
        while True:
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"server did not start; see {base / 'server.log'}")
            time.sleep(0.5)
        time.sleep(quiet + 2 * poll)  # let the watcher take its first look and settle
        before = {j["id"] for j in jobs(data / "index")}
        csrf = client.post("/beheer/api/login", json={"token": TOKEN}).json()["csrf"]
        docs = client.get("/beheer/api/documents").json()
        doc = (docs.get("documents") or docs.get("items") or [])[0]["source"]
        t0 = time.monotonic()
        r = client.patch(f"/beheer/api/documents/{doc}", json={"title": "Titel gewijzigd door de meting"},
                         headers={"x-csrf-token": csrf})
        r.raise_for_status()
        while not jobs(data / "index") or active(data / "index") or len(
                {j["id"] for j in jobs(data / "index")} - before) == 0:
            time.sleep(0.1)
        first_idle = time.monotonic() - t0
        # the watcher could still start a job after its quiet period: wait it out and keep timing
        settle_until = time.monotonic() + quiet + 3 * poll
        last_idle = first_idle
        while time.monotonic() < settle_until:
            if active(data / "index"):
                while active(data / "index"):
                    time.sleep(0.1)
                last_idle = time.monotonic() - t0
                settle_until = time.monotonic() + quiet + 3 * poll
            time.sleep(0.1)
        new = [j for j in jobs(data / "index") if j["id"] not in before]
        print(json.dumps({"document": doc, "jobs_started": len(new),
                          "channels": [j["channels"] for j in sorted(new, key=lambda j: j["requested_at"])],
                          "seconds_until_first_idle": round(first_idle, 1),
                          "seconds_until_indexed_and_settled": round(last_idle, 1)}, ensure_ascii=False))
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
