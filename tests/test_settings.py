"""Settings: read from the environment by pydantic-settings, wrong values refused in Dutch, naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings, env_name
from assistant.errors import ConfigError


def test_every_field_is_read_from_its_variable() -> None:
    s = Settings.from_env({"WEGWIJZER_TOP_K": "7", "WEGWIJZER_CORS_ORIGINS": "https://a.be, https://b.be",
                           "WEGWIJZER_WATCH": "nee", "TELEGRAM_BOT_TOKEN": " 1:abc ",
                           "WEGWIJZER_TELEGRAM_ALLOWED_USERS": "1, 2", "WEGWIJZER_MAX_UPLOAD_MB": "2"})
    assert (s.top_k, s.cors_origins, s.watch, s.telegram_token) == (7, ("https://a.be", "https://b.be"), False, "1:abc")
    assert s.telegram_allowed_users == frozenset({1, 2}) and s.max_upload_bytes == 2 * 1024 * 1024
    assert env_name("telegram_token") == "TELEGRAM_BOT_TOKEN" and env_name("top_k") == "WEGWIJZER_TOP_K"


def test_direct_construction_does_not_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WEGWIJZER_TOP_K", "9")
    assert Settings(data_dir=tmp_path, corpus_dir=tmp_path).top_k == 5
    assert Settings.from_env().top_k == 9


@pytest.mark.parametrize("name, value, words", [
    ("WEGWIJZER_TOP_K", "veel", "moet een geheel getal zijn"),
    ("WEGWIJZER_TOP_K", "0", "moet minstens 1 zijn"),
    ("WEGWIJZER_INGEST_NICE", "25", "mag hoogstens 19 zijn"),
    ("WEGWIJZER_WATCH", "misschien", "moet aan of uit zijn"),
    ("WEGWIJZER_EMBEDDING_BACKEND", "cuda", "moet een van deze zijn: onnx-int8, onnx, torch"),
    ("WEGWIJZER_DATABASE_URL", "mysql://x", "moet een PostgreSQL-adres zijn"),
    ("WEGWIJZER_PUBLIC_URL", "wegwijzer", "moet een http(s)-adres zijn"),
])
def test_a_wrong_value_is_refused_in_dutch_naming_the_variable(name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(f"{name} = '{value}': ") and words in str(caught.value)


def test_several_wrong_values_are_all_named() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"WEGWIJZER_TOP_K": "x", "WEGWIJZER_PORT": "-1"})
    lines = str(caught.value).splitlines()
    assert len(lines) == 2 and {line.split(" ")[0] for line in lines} == {"WEGWIJZER_TOP_K", "WEGWIJZER_PORT"}


def test_a_copy_is_checked_like_the_original(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, corpus_dir=tmp_path)
    assert s.with_(top_k=3).top_k == 3 and s.top_k == 5
    with pytest.raises(ConfigError, match="bestaat niet als instelling"):
        s.with_(top_kk=3)
    with pytest.raises(ConfigError, match="moet minstens 1 zijn"):
        s.with_(top_k=0)


def test_the_cli_prints_the_dutch_sentence_without_a_traceback(tmp_path: Path) -> None:
    env = {"WEGWIJZER_DATA_DIR": str(tmp_path), "WEGWIJZER_ASK_RATE_LIMIT": "veel", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "bots.cli", "status"], env=env, capture_output=True, text=True,
                            timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "WEGWIJZER_ASK_RATE_LIMIT = 'veel': moet een geheel getal zijn." in result.stderr
