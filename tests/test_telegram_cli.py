"""`wegwijzer telegram` as an operator runs it: environment variables only, against a local Bot API."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT, Settings
from assistant.stores.feedback import FeedbackStore

from .botapi_server import TOKEN, FakeBotAPI, parse_telegram_html
from .conftest import shared_models_dir

ALICE = 1001
QUESTION = "Wie zijn de contactpersonen bij de VVSG voor de fiche over migratie en integratie?"
SOURCE_TITLE = "VVSG-verkiezingsmemorandum"


def _command() -> list[str]:
    script = Path(sys.executable).parent / "wegwijzer"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bots.cli"]


def _env(**values: str) -> dict[str, str]:
    """The test process's environment without any Wegwijzer or Telegram setting, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEGWIJZER_", "TELEGRAM_"))}
    return {**env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **values}


def _run(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_command(), "telegram"], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as server:
        yield server


@pytest.mark.parametrize("token, words", [("", "TELEGRAM_BOT_TOKEN is niet ingesteld"),
                                          ("dit-is-geen-token", "TELEGRAM_BOT_TOKEN is misvormd")])
def test_missing_or_malformed_token_fails_with_a_sentence(tmp_path: Path, token: str, words: str) -> None:
    result = _run(_env(TELEGRAM_BOT_TOKEN=token, WEGWIJZER_DATA_DIR=str(tmp_path),
                       WEGWIJZER_TELEGRAM_ALLOWED_USERS=str(ALICE)))
    assert result.returncode == 1
    assert words in result.stderr and "Traceback" not in result.stderr
    if token:
        assert token not in result.stderr


def test_token_refused_by_telegram_fails_with_a_sentence(tmp_path: Path, api: FakeBotAPI) -> None:
    other = "987654321:AAOtherTokenThatTheServerDoesNotKnow"
    result = _run(_env(TELEGRAM_BOT_TOKEN=other, WEGWIJZER_TELEGRAM_API_URL=api.base_url,
                       WEGWIJZER_DATA_DIR=str(tmp_path), WEGWIJZER_TELEGRAM_ALLOWED_USERS=str(ALICE)))
    assert result.returncode == 1
    assert "Telegram weigerde TELEGRAM_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert other not in result.stderr


@pytest.mark.real_model
def test_cli_bot_answers_a_question(tmp_path: Path, api: FakeBotAPI, real_index_settings: Settings) -> None:
    data = tmp_path / "data"
    shutil.copytree(real_index_settings.data_dir, data, symlinks=True,
                    ignore=shutil.ignore_patterns("models", "*.lock"))
    (data / "models").symlink_to(shared_models_dir(), target_is_directory=True)  # the materialised model, shared
    env = _env(TELEGRAM_BOT_TOKEN=TOKEN, WEGWIJZER_TELEGRAM_API_URL=api.base_url,
               WEGWIJZER_DATA_DIR=str(data), WEGWIJZER_CORPUS_DIR=str(real_index_settings.corpus_dir),
               WEGWIJZER_TELEGRAM_ALLOWED_USERS=f"{ALICE}, 4242")
    proc = subprocess.Popen([*_command(), "telegram"], env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        api.wait_for(lambda calls: proc.poll() is not None or any(c.method == "getUpdates" for c in calls),
                     timeout=180)
        assert proc.poll() is None, proc.communicate()[1]

        api.message("/start", ALICE)
        assert "Welkom" in parse_telegram_html(api.wait_sent(ALICE)[0].text)
        api.message(QUESTION, ALICE)
        api.wait_for(lambda _: any(c.buttons() for c in api.sent(ALICE)), timeout=30)
        answer = next(c for c in api.sent(ALICE) if c.buttons())
        assert SOURCE_TITLE in parse_telegram_html(answer.text)
        thumbs_up = next(b for b in answer.buttons() if b["text"] == "👍")
        api.callback(thumbs_up["callback_data"], ALICE, api.result_message(answer))
        api.wait_for(lambda _: bool(api.sent(method="answerCallbackQuery")))
        rows = FeedbackStore(data / "feedback.sqlite3").feedback()
        assert [(r.channel, r.helpful) for r in rows] == [("telegram", True)]

        proc.send_signal(signal.SIGTERM)  # stops gracefully, like systemd does
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0, stderr
        assert "Traceback" not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
