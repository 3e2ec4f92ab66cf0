"""A configuration error a person can meet at start-up is one Dutch line that names what to fix (issue 20).

`wegwijzer serve` and `wegwijzer status` as subprocesses, the way a unit or an administrator starts them:
exit code 1 (2 for a bad command-line argument), one line on stderr, no traceback, nothing started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT

pytestmark = pytest.mark.timeout(120)


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WEGWIJZER_DATA_DIR": str(tmp_path / "data"),
            "WEGWIJZER_CORPUS_DIR": str(tmp_path / "corpus"), **env}
    return subprocess.run([sys.executable, "-m", "bots.cli", *args], env=full, capture_output=True, text=True,
                          timeout=90, cwd=tmp_path)


@pytest.mark.parametrize(("env", "needle"), [
    ({"WEGWIJZER_PORT": "acht"}, "WEGWIJZER_PORT = 'acht': moet een geheel getal zijn."),
    ({"WEGWIJZER_WATCH": "misschien"}, "WEGWIJZER_WATCH = 'misschien': moet aan of uit zijn"),
    ({"WEGWIJZER_TRUSTED_PROXIES": "nginx"}, "WEGWIJZER_TRUSTED_PROXIES = 'nginx': moet een lijst van IP-adressen"),
    ({"WEGWIJZER_LOG_FORMAT": "xml"}, "WEGWIJZER_LOG_FORMAT moet een van text, json zijn, niet 'xml'."),
])
@pytest.mark.parametrize("command", [["serve"], ["status"]])
def test_a_bad_setting_stops_the_start_with_one_dutch_line(tmp_path: Path, env: dict[str, str], needle: str,
                                                           command: list[str]) -> None:
    done = _run(command, tmp_path, **env)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("wegwijzer: ") and needle in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stdout == ""


def test_two_bad_settings_are_named_together(tmp_path: Path) -> None:
    done = _run(["serve"], tmp_path, WEGWIJZER_PORT="x", WEGWIJZER_TOP_K="y")
    assert done.returncode == 1 and "WEGWIJZER_PORT" in done.stderr and "WEGWIJZER_TOP_K" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_data_directory_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "bestand"
    blocker.write_text("geen map")
    done = _run(["serve"], tmp_path, WEGWIJZER_DATA_DIR=str(blocker / "data"))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == (f"wegwijzer: {blocker / 'data'}/metrics/8000 kan niet gebruikt worden: die map of "
                                   "dat bestand bestaat niet. Controleer WEGWIJZER_DATA_DIR en WEGWIJZER_CORPUS_DIR, "
                                   "en dat de gebruiker die Wegwijzer draait er mag schrijven."), done.stderr


def test_a_bad_worker_count_is_a_dutch_usage_error(tmp_path: Path) -> None:
    done = _run(["serve", "--workers", "0"], tmp_path)
    assert done.returncode == 2 and "moet een geheel getal van minstens 1 zijn, niet '0'" in done.stderr
    assert "Traceback" not in done.stderr
