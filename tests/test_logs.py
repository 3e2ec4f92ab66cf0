"""One log format for every process (issue 20): a timestamp in every line, JSON with WEGWIJZER_LOG_FORMAT=json.

The formatter alone, then real processes: `wegwijzer watch`, a re-index job process and the CLI. The web
service (uvicorn, its access log and spawned workers) is checked where it already runs: tests/test_web_watch.py
(JSON, one worker, with the watcher and job processes it starts) and tests/test_web_workers.py (text, two workers).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT, Settings
from assistant.logs import Formatter, dict_config, log_format
from ingest.jobs import Reindexer

from .fakes import FakeEmbedder
from .logcheck import TEXT_LINE, log_roles

pytestmark = pytest.mark.timeout(120)


def _record(name: str, msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_a_text_line_has_time_level_role_pid_logger_and_message() -> None:
    line = Formatter("job", "text").format(_record("ingest.jobs", "re-index job %s done", "j1"))
    assert TEXT_LINE.match(line) and line.endswith(f"INFO wegwijzer-job[{os.getpid()}] ingest.jobs: "
                                                   "re-index job j1 done")


def test_a_json_line_is_one_object_with_the_access_fields_and_extras() -> None:
    fmt = Formatter("web", "json")
    access = json.loads(fmt.format(_record("uvicorn.access", '%s - "%s %s HTTP/%s" %d',
                                           "127.0.0.1:5000", "GET", "/readyz", "1.1", 200)))
    assert access["message"] == '127.0.0.1:5000 - "GET /readyz HTTP/1.1" 200'
    assert (access["method"], access["path"], access["status"], access["process"]) == ("GET", "/readyz", 200,
                                                                                        "wegwijzer-web")
    assert "color_message" not in json.loads(fmt.format(_record("uvicorn.error", "Started", color_message="\x1b[36m")))
    extra = json.loads(fmt.format(_record("bots.web", "refused origin", origin="https://x.example", n=2)))
    assert extra["origin"] == "https://x.example" and extra["n"] == 2 and "\n" not in fmt.format(
        _record("x", "two\nlines"))
    try:
        raise ValueError("kapot")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: kapot" in json.loads(fmt.format(record))["exception"]


def test_a_bad_log_format_is_a_dutch_configuration_error_that_names_the_variable() -> None:
    from assistant.errors import ConfigError

    assert log_format({}) == "text" and log_format({"WEGWIJZER_LOG_FORMAT": " JSON "}) == "json"
    with pytest.raises(ConfigError, match="WEGWIJZER_LOG_FORMAT moet een van text, json zijn, niet 'xml'"):
        log_format({"WEGWIJZER_LOG_FORMAT": "xml"})
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WEGWIJZER_LOG_FORMAT": "xml"}
    done = subprocess.run([sys.executable, "-m", "bots.cli", "status"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and done.stderr.strip() == \
        "wegwijzer: WEGWIJZER_LOG_FORMAT moet een van text, json zijn, niet 'xml'." and "Traceback" not in done.stderr


def test_uvicorn_lines_go_through_the_one_handler_once() -> None:
    config = dict_config("web")
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name] == {"handlers": [], "propagate": True, "level": "INFO"}
    assert config["formatters"]["wegwijzer"] == {"()": "assistant.logs.Formatter", "role": "web"}


def test_wegwijzer_watch_logs_json_lines(fake_index: Settings) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WEGWIJZER_DATA_DIR": str(fake_index.data_dir),
           "WEGWIJZER_CORPUS_DIR": str(fake_index.corpus_dir), "WEGWIJZER_WATCH_POLL_S": "0.2",
           "WEGWIJZER_LOG_FORMAT": "json"}
    proc = subprocess.Popen([sys.executable, "-m", "bots.cli", "watch"], cwd=REPO_ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        first = json.loads(proc.stderr.readline())
        assert first["process"] == "wegwijzer-watch" and first["logger"] == "ingest.watch"
        assert first["message"].startswith("Wegwijzer bewaakt") and first["level"] == "INFO"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert proc.stdout is not None and proc.stdout.read() == ""  # logs on stderr, nothing else on stdout
    rest = proc.stderr.read()
    log_roles(rest, "json")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_job_process_logs_in_the_one_format(fake_index: Settings, tmp_path: Path, fmt: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEGWIJZER_LOG_FORMAT", fmt)
    log = tmp_path / "job.log"
    command = ["sh", "-c", f'exec "{sys.executable}" -m ingest jobs 2>>"{log}"']
    jobs = Reindexer(fake_index, embedder_factory=FakeEmbedder, command=command)
    (fake_index.corpus_dir / "nieuw.md").write_text("# Nieuw\n\nHet buurthuis Nieuw opent op maandag.\n")
    ticket = jobs.request("web")
    deadline = time.monotonic() + 60
    while not (job := jobs.job(ticket.job.id)) or not job.finished:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job.state == "done"
    text = log.read_text()
    roles = log_roles(text, fmt)
    assert roles["wegwijzer-job ingest.jobs"] >= 1, text  # "re-index job ... done"
    assert set(r.split()[0] for r in roles) == {"wegwijzer-job"}
