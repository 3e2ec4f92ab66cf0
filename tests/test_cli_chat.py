"""`wegwijzer chat`: a conversation in the terminal, with the real model and index, in a subprocess.

Once with piped input (scripts), once in a pseudo-terminal, where the prompt shows and readline edits
the line (a typo erased with backspace never reaches the question).
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT, Settings
from assistant.stores.conversation import SQLiteConversationStore

from .conftest import shared_models_dir

pytestmark = pytest.mark.real_model


def chat_env(tmp_path: Path, real_index_settings: Settings) -> dict[str, str]:
    data = tmp_path / "data"
    # the index only: conversations and feedback other tests left in the shared data directory are not ours
    shutil.copytree(real_index_settings.index_dir, data / "index", symlinks=True,
                    ignore=shutil.ignore_patterns("*.lock"))
    (data / "models").symlink_to(shared_models_dir(), target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEGWIJZER_")}
    env.update(WEGWIJZER_DATA_DIR=str(data), WEGWIJZER_CORPUS_DIR=str(real_index_settings.corpus_dir),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


COMMAND = [sys.executable, "-m", "bots.cli", "chat"]


def test_chat_reads_follow_ups_in_the_conversation_and_starts_anew(tmp_path: Path,
                                                                   real_index_settings: Settings) -> None:
    script = ("Welke werksessie van de inspiratiedag gaat over sport?\n"
              "Wie begeleidt die sessie?\n"
              "/nieuw\n"
              "\n"
              "?!?\n"
              "/stop\n")
    result = subprocess.run(COMMAND, input=script, env=chat_env(tmp_path, real_index_settings), cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Wegwijzer: stel je vraag") and "/nieuw" in out
    first, rest = out.split("Bronnen:", 1)
    assert "sport" in first and "Tim Lamon" in rest.split("Nieuw gesprek gestart.")[0]
    assert "Nieuw gesprek gestart." in out and out.rstrip().endswith("Tot ziens!")
    assert "geen woorden" in result.stderr and "Traceback" not in result.stderr  # a bad question, said plainly


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"never saw {needle!r}; got {seen[-500:]!r}")
        poller = select.poll()  # not select.select: descriptors may be above 1023 late in a long run
        poller.register(fd, select.POLLIN)
        if poller.poll(left * 1000):
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_chat_in_a_terminal_has_a_prompt_and_line_editing(tmp_path: Path, real_index_settings: Settings) -> None:
    env = chat_env(tmp_path, real_index_settings)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the chat on the pseudo-terminal
        os.chdir(REPO_ROOT)
        os.execve(sys.executable, COMMAND, env)
    try:
        _read_until(fd, b"Jij: ", timeout=180)
        os.write(fd, b"Wat zijn pleinmakerx\x7fs?\r")  # a typo, erased with backspace
        out = _read_until(fd, b"Jij: ", timeout=120)
        assert b"Bronnen:" in out
        os.write(fd, b"\x04")  # Ctrl+D ends the conversation
        assert b"Tot ziens!" in _read_until(fd, b"Tot ziens!", timeout=30)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    with sqlite3.connect(Path(env["WEGWIJZER_DATA_DIR"]) / "conversations.sqlite3") as con:
        (cid,), = con.execute("SELECT id FROM conversations").fetchall()
    conversation = SQLiteConversationStore(Path(env["WEGWIJZER_DATA_DIR"]) / "conversations.sqlite3").load(cid)
    assert conversation is not None and [t.question for t in conversation.turns] == ["Wat zijn pleinmakers?"]
