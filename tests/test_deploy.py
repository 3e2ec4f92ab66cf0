"""The shipped deployment files (deploy/) are valid and are the ones docs/operations.md describes (issue 20).

systemd units: ``systemd-analyze verify`` in a scratch root that holds the host's unit library and stand-ins for
the paths the units name (/opt/wegwijzer/.venv/bin/wegwijzer), and it must print nothing (it exits 0 even on
warnings). Where systemd-analyze is absent, a strict INI check of the keys we use runs instead and the test
says so in its output. The nginx site: a tokenizer check (balanced blocks, every directive ended) plus the
values that must agree with the settings. Neither case is ever skipped.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
OPERATIONS = REPO_ROOT / "docs" / "operations.md"
UNITS = sorted(DEPLOY.glob("*.service"))
SYSTEMD_UNIT_DIRS = (Path("/lib/systemd/system"), Path("/usr/lib/systemd/system"))

# The keys our units use, per section: a typo ("MemoryMx") fails here even without systemd.
KNOWN_KEYS = {
    "Unit": {"Description", "Documentation", "After", "Wants", "Requires"},
    "Service": {"Type", "User", "Group", "EnvironmentFile", "Environment", "WorkingDirectory", "ExecStart",
                "Restart", "RestartSec", "MemoryMax", "NoNewPrivileges", "ProtectSystem", "ProtectHome",
                "PrivateTmp", "ReadWritePaths"},
    "Install": {"WantedBy"},
}


def test_the_units_are_the_ones_operations_md_names() -> None:
    names = {p.name for p in UNITS}
    assert names == {"wegwijzer-web.service", "wegwijzer-telegram.service", "wegwijzer-watch.service"}
    text = OPERATIONS.read_text(encoding="utf-8")
    for path in DEPLOY.iterdir():
        assert f"deploy/{path.name}" in text, f"docs/operations.md does not mention deploy/{path.name}"
    for named in set(re.findall(r"deploy/([\w.-]+)", text)):
        assert (DEPLOY / named).exists(), f"docs/operations.md names deploy/{named}, which is not shipped"


def _strict_ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None, delimiters=("=",), comment_prefixes=("#",),
                                       empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    assert set(parser.sections()) == {"Unit", "Service", "Install"}, path.name
    for section in parser.sections():
        unknown = set(parser[section]) - KNOWN_KEYS[section]
        assert not unknown, f"{path.name} [{section}]: unknown keys {unknown}"
    service = parser["Service"]
    assert service["ExecStart"].startswith("/opt/wegwijzer/.venv/bin/wegwijzer ")
    assert re.fullmatch(r"\d+[KMG]", service["MemoryMax"]), service["MemoryMax"]
    assert service["User"] == service["Group"] == "wegwijzer" and service["ProtectSystem"] == "strict"
    return parser


def _verify_root(tmp_path: Path, units: list[Path]) -> Path:
    """A scratch root for ``systemd-analyze verify --root``: the host's unit library and our paths."""
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "usr/lib/systemd").mkdir(parents=True)
    library = next(d for d in SYSTEMD_UNIT_DIRS if d.is_dir())
    (root / "usr/lib/systemd/system").symlink_to(library, target_is_directory=True)
    binary = root / "opt/wegwijzer/.venv/bin/wegwijzer"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    (root / "etc/wegwijzer").mkdir(parents=True)
    (root / "etc/wegwijzer/wegwijzer.env").write_text("")
    for unit in units:
        shutil.copy(unit, root / "etc/systemd/system" / unit.name)
    return root


def _verify(root: Path) -> subprocess.CompletedProcess[str]:
    units = sorted(str(p) for p in (root / "etc/systemd/system").glob("*.service"))
    return subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", *units],
                          capture_output=True, text=True, timeout=60)


def test_the_systemd_units_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for unit in UNITS:
        _strict_ini(unit)  # always, also where systemd is present
    if shutil.which("systemd-analyze") is None or not any(d.is_dir() for d in SYSTEMD_UNIT_DIRS):
        with capsys.disabled():
            print("\nsystemd-analyze is not available here: the units got the strict INI check only")
        return
    done = _verify(_verify_root(tmp_path, UNITS))
    assert done.returncode == 0 and done.stderr.strip() == "" and done.stdout.strip() == "", done.stderr
    # the check is not blind: a unit with a bad value makes it speak
    broken = tmp_path / "broken" / "wegwijzer-web.service"
    broken.parent.mkdir()
    broken.write_text(UNITS[-1].read_text().replace("MemoryMax=4G", "MemoryMax=4Q"))
    complaint = _verify(_verify_root(tmp_path / "b", [broken]))
    assert "Invalid memory limit" in complaint.stderr, complaint.stderr


def test_the_strict_ini_check_refuses_a_typo(tmp_path: Path) -> None:
    bad = tmp_path / "x.service"
    bad.write_text(UNITS[0].read_text().replace("MemoryMax=", "MemoryMx="))
    with pytest.raises(AssertionError, match="unknown keys"):
        _strict_ini(bad)


def _nginx_blocks(text: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """(block path, directive words) for every directive; asserts balanced braces and terminated directives."""
    text = re.sub(r"#[^\n]*", "", text)
    tokens = re.findall(r"[{};]|[^\s{};]+", text)
    path: list[str] = []
    words: list[str] = []
    out: list[tuple[tuple[str, ...], list[str]]] = []
    for token in tokens:
        if token == "{":
            assert words, "a block without a name"
            path.append(" ".join(words))
            words = []
        elif token == ";":
            assert words, "an empty directive"
            out.append((tuple(path), words))
            words = []
        elif token == "}":
            assert not words, f"directive not ended with ';' before '}}': {words}"
            assert path, "'}' without a block"
            path.pop()
        else:
            words.append(token)
    assert not path and not words, "unbalanced braces or an unterminated directive at the end"
    return out


def test_the_nginx_site_matches_the_service() -> None:
    directives = _nginx_blocks((DEPLOY / "nginx-wegwijzer.conf").read_text(encoding="utf-8"))
    proxied = [(p, w) for p, w in directives if w[0] == "proxy_pass"]
    assert proxied and all(w[1] == "http://127.0.0.1:8000" for _, w in proxied)  # WEGWIJZER_PORT in the env file
    locations = {p[-1] for p, _ in proxied}
    assert {"location /", "location /api/admin/", "location /beheer", "location = /metrics"} <= locations
    for p, w in directives:  # the admin surfaces and metrics are never open to everyone
        if p and p[-1] in ("location /api/admin/", "location /beheer", "location = /metrics") and w[0] == "deny":
            assert w[1] == "all"
    body = next(w for _, w in directives if w[0] == "client_max_body_size")[1]
    env = (DEPLOY / "wegwijzer.env.example").read_text()
    upload_mb = int(re.search(r"^WEGWIJZER_MAX_UPLOAD_MB=(\d+)", env, re.M).group(1))  # type: ignore[union-attr]
    assert body == f"{upload_mb + 1}m"
    assert re.search(r"^WEGWIJZER_PORT=8000$", env, re.M) and re.search(r"^WEGWIJZER_HOST=127.0.0.1$", env, re.M)


def test_the_nginx_check_refuses_a_missing_semicolon() -> None:
    with pytest.raises(AssertionError):
        _nginx_blocks("server { listen 80 }")
    with pytest.raises(AssertionError):
        _nginx_blocks("server { listen 80; ")


def test_the_env_example_is_valid_settings(tmp_path: Path) -> None:
    """Every variable of the example env file is read by the settings without an error."""
    from assistant.config import Settings

    env = {}
    for line in (DEPLOY / "wegwijzer.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env["WEGWIJZER_DATA_DIR"] = str(tmp_path)
    settings = Settings.from_env(env)
    assert settings.port == 8000 and settings.host == "127.0.0.1"
