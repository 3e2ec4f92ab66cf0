"""Shared fixtures: a fake embedder and tiny index for fast tests, the real model for the rest."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT, Settings

from .fakes import FakeEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CORPUS = REPO_ROOT / "corpus"
DEV_SET = REPO_ROOT.parent / "shared" / "eval" / "dev.jsonl"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests off the network: only loopback connections are allowed."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")) \
                and self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


@pytest.fixture
def settings(tmp_path: Path, corpus_copy: Path) -> Settings:
    """Settings pointing at a private data directory and corpus copy (models shared, see below)."""
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus_copy)


@pytest.fixture
def fake_index(settings: Settings, fake_embedder: FakeEmbedder) -> Settings:
    """The shipped corpus indexed with the fake embedder; returns the settings that point at it."""
    from ingest.build import ingest

    ingest(settings, embedder=fake_embedder)
    return settings


# ---------------------------------------------------------------- real model

def shared_models_dir() -> Path:
    """Materialised models are shared across tests (and with the developer's data dir) to save time."""
    return Path(os.environ.get("WEGWIJZER_TEST_MODELS_DIR") or REPO_ROOT / "data" / "models")


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """Where the real model is materialised; link it into a copied data dir for CLI subprocesses."""
    return shared_models_dir()


@pytest.fixture(scope="session")
def real_embedder():  # type: ignore[no-untyped-def]
    from assistant.config import DEFAULT_EMBEDDING_BACKEND, DEFAULT_MODEL
    from assistant.model.embedding import load_embedder

    return load_embedder(DEFAULT_MODEL, shared_models_dir(), backend=DEFAULT_EMBEDDING_BACKEND)


@pytest.fixture(scope="session")
def real_index_settings(tmp_path_factory: pytest.TempPathFactory, real_embedder):  # type: ignore[no-untyped-def]
    """The shipped corpus indexed with the real model, once per session (read-only for tests)."""
    from ingest.build import ingest

    base = tmp_path_factory.mktemp("real")
    s = Settings(data_dir=base / "data", corpus_dir=CORPUS)
    ingest(s, embedder=real_embedder)
    return s


@pytest.fixture(scope="session")
def real_assistant(real_index_settings, real_embedder):  # type: ignore[no-untyped-def]
    from assistant import Assistant

    return Assistant.load(settings=real_index_settings, embedder=real_embedder)


# Questions about municipal matters the shipped corpus does not cover.
OUTSIDE = ["Hoe vraag ik een omgevingsvergunning aan voor een verbouwing?",
           "Wat zijn de openingsuren van het OCMW in Leuven?",
           "Wat is het bedrag van het leefloon voor een alleenstaande in 2024?"]


@pytest.fixture(scope="session")
def unanswerable(real_assistant) -> str:  # type: ignore[no-untyped-def]
    """A Dutch question the corpus has no answer to: the first of OUTSIDE the real assistant refuses."""
    for question in OUTSIDE:
        if not real_assistant.ask(question).found:
            return question
    pytest.fail("the real assistant claims to answer every question outside the corpus")


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium, started once for all browser tests (tests/browser_support.py)."""
    from .browser_support import chromium

    with chromium() as b:
        yield b


@pytest.fixture(scope="session")
def oidc_issuer():  # type: ignore[no-untyped-def]
    """A real OpenID provider (panva's oidc-provider, tests/oidc_support.py) for the whole session: its issuer."""
    from .oidc_support import USERS, OidcProvider

    with OidcProvider(USERS) as provider:
        yield provider.issuer


# ---------------------------------------------------------------- PostgreSQL

@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """One embedded PostgreSQL (the wheel's server, as `wegwijzer db start` runs it) for the whole session.

    Its data lives in a fresh directory under /tmp (so that, under root, the server's own user can reach
    it) on a free port; it is stopped and removed at the end.
    """
    import tempfile

    from bots.localdb import LocalServer, free_port

    base = Path(tempfile.mkdtemp(prefix="wegwijzer-test-pg-"))
    base.chmod(0o755)
    server = LocalServer(base / "postgres")
    status = server.start(port=free_port())
    try:
        yield server, status.url
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server) -> str:  # type: ignore[no-untyped-def]
    """A new, empty database on the session's server for one test (dropped afterwards)."""
    from .pg import create_database, drop_database

    _, url = pg_server
    test_url = create_database(url)
    yield test_url  # type: ignore[misc]
    drop_database(url, test_url)


@pytest.fixture
def pg_settings(settings: Settings, pg_url: str) -> Settings:
    """``settings`` with WEGWIJZER_DATABASE_URL pointing at a fresh database."""
    return settings.with_(database_url=pg_url)
