"""Shared fixtures: a fake embedder and tiny index for fast tests, the real model for the rest."""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT, Settings

from .fakes import FakeEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Re-index job processes run at nice 0 here, not the default 10 (a setting, so also in every `serve` a test
# starts): under `-n 2` the other worker keeps one of the two cores busy, and a nice-10 job beside a busy
# server got a few per cent of a core (four minutes for a 100-passage upload). test_jobs.py checks that
# the setting reaches the job process; bench/reindex_load.py measures the default under load.
os.environ.setdefault("WEGWIJZER_INGEST_NICE", "0")

CORPUS = REPO_ROOT / "corpus"
DEV_SET = REPO_ROOT.parent / "shared" / "eval" / "dev.jsonl"


# ---------------------------------------------------------------- markers and xdist groups

# A test that uses one of these fixtures (directly or through another fixture) gets the marker, so
# `make test-fast` (-m "not slow") can leave it out without every module having to say so.
SLOW_FIXTURES = {
    "real_embedder": "real_model",
    "browser": "browser",
    "pg_server": "postgres",
}
# Whole modules that start processes (job processes, `wegwijzer serve`, the CLI), wait on timers (the folder
# watcher's quiet time, timeouts) or run many examples, and single tests that run OCR or a re-index job
# process; measured with --durations (`make test` prints the 15 slowest). A new slow test can also say
# @pytest.mark.slow itself.
SLOW_MODULES = {
    "test_faults.py", "test_jobs.py", "test_properties.py", "test_watch.py", "test_web_fuzz.py",
    "test_web_malicious.py", "test_postgres_cli.py", "test_telegram_cli.py", "test_cli_chat.py",
    # each test starts a CLI process (1-2 s of imports) or forks reading children under their budgets
    "test_startup_errors.py", "test_status.py", "test_budgets.py",
}
SLOW_TESTS = {
    "test_formats.py::test_a_scan_ocr_cannot_read_is_refused_with_a_reason",
    "test_formats.py::test_bad_files_of_every_format_are_skipped_by_name_and_the_index_stays",
    "test_formats.py::test_scanned_pdf_is_read_by_ocr_with_page_numbers",
    "test_formats.py::test_docx_zip_bomb_is_refused_from_its_directory_alone",
    "test_ingest.py::test_bad_files_are_reported_and_skipped",
    "test_web_api.py::test_upload_reindex_and_delete",
    "test_web_api.py::test_a_reindex_request_during_a_run_is_queued_not_refused",
    "test_web_api.py::test_uploaded_pdf_is_indexed_and_viewed_page_by_page",
    "test_web_api.py::test_failed_reindex_is_reported_and_the_old_index_stays",
    "test_web_beheer.py::test_documents_upload_edit_skip_and_delete",
    "test_corpus_safety.py::test_the_admin_api_deletes_an_indexed_link_and_not_its_target",
    "test_question_sets.py::test_question_sets_pass_their_check",
    # re-index job processes (each imports the model stack): 7-12 s each in `make test-fast`
    "test_budgets.py::test_a_re_index_job_reports_the_budget_and_publishes_the_others",
    "test_budgets.py::test_documents_read_before_a_slow_one_are_published_without_waiting_for_it",
    "test_logs.py::test_the_job_process_logs_in_the_one_format",
}
POSTGRES_TESTS = {  # tests that start a PostgreSQL server of their own (not pg_server)
    "test_state_files.py::test_a_local_postgresql_still_starts_after_the_data_directory_is_tightened",
}


@pytest.hookimpl(tryfirst=True)  # before -m deselects and before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers from the fixtures a test uses (real_model, browser, postgres; all of them also slow), and one
    xdist group per module whose tests share a module- or class-scoped fixture: under `-n 2 --dist loadgroup`
    such a module runs on one worker, so its expensive fixture (a real index copy, a server, a site) is
    built once, not once per worker."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in SLOW_FIXTURES.items():
            if fixture in names:
                item.add_marker(marker)
        module = Path(str(item.fspath)).name
        test = f"{module}::{item.name.split('[')[0]}"
        if test in POSTGRES_TESTS:
            item.add_marker("postgres")
        if module in SLOW_MODULES or test in SLOW_TESTS or any(
                item.get_closest_marker(m) for m in ("real_model", "browser", "postgres")):
            item.add_marker("slow")
        info = getattr(item, "_fixtureinfo", None)
        shared = info is not None and any(
            defs and defs[-1].scope in ("module", "class", "package") for defs in info.name2fixturedefs.values())
        if shared and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


# Seconds a unit of work took in `make test` (--durations), for the order below; a unit not named here counts
# SLOW_UNIT_S when it is slow, FAST_UNIT_S otherwise. Only the order depends on these, never a result.
UNIT_COST_HINTS = {
    "test_beheer_browser.py": 120,
    "test_web_workers.py": 100,
    "test_postgres_replicas.py": 100,
    "test_web_watch.py": 100,
    "test_embedding.py::test_onnx_export_is_made_once_and_offline": 65,
    "test_web_reindex.py::test_questions_keep_being_answered_while_a_100_passage_upload_is_reindexed": 60,
    "test_postgres_sessions.py": 60,
    "test_web_workers_shared.py": 60,
}
SLOW_UNIT_S, FAST_UNIT_S = 10.0, 0.1


class _XdistUnits:
    """On an xdist worker: make --dist loadgroup group again, and hand out the heaviest work first.

    pytest 9.2 builds ``nodeid`` from a structured id, while xdist 3.8 still appends the group to the old
    ``_nodeid`` field, so the group never reached the scheduler: every test was its own unit and a module's
    shared fixture (a real-model index, a `serve` process, a browser site) was built on both workers
    (pytest-dev/pytest-xdist#1386). Until xdist's fix is released, the id is rebuilt from ``_nodeid``.

    The controller hands out units in collection order, so the units are ordered by cost, heaviest first
    (longest processing time first): a long test that starts last keeps the other worker idle. Both workers
    sort the same way, so their collections stay equal."""

    @pytest.hookimpl(trylast=True)  # after xdist's own hook has named the groups
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from _pytest.nodeid import NodeId

        units: dict[str, list[pytest.Item]] = {}
        for item in items:
            legacy = item.__dict__.get("_nodeid")
            if legacy and legacy != item.nodeid:
                item._id = NodeId.parse(legacy)  # type: ignore[attr-defined]
            group = item.get_closest_marker("xdist_group")
            units.setdefault(str(group.args[0]) if group and group.args else item.nodeid, []).append(item)
        ordered = sorted(units.values(), key=_unit_cost, reverse=True)  # stable: ties keep collection order
        items[:] = [item for unit in ordered for item in unit]


def _unit_cost(unit: list[pytest.Item]) -> float:
    module = Path(str(unit[0].fspath)).name
    if module in UNIT_COST_HINTS:
        return UNIT_COST_HINTS[module]
    total = 0.0
    for item in unit:
        hint = UNIT_COST_HINTS.get(f"{module}::{item.name.split('[')[0]}")
        total += hint if hint is not None else SLOW_UNIT_S if item.get_closest_marker("slow") else FAST_UNIT_S
    return total


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        config.pluginmanager.register(_XdistUnits(), "wegwijzer-xdist-units")


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


# ---------------------------------------------------------------- read-only trees

# Trees that session fixtures share between tests (the indexes, the shipped corpus): after every test each
# must be as it was, so a test that writes into one by mistake fails loudly instead of poisoning the next.
# (chmod would not stop root, which CI runs as; a fingerprint does.)
_READ_ONLY: dict[Path, dict[str, tuple[object, ...]]] = {}


def tree_state(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root``: links with their target, files with size and mtime (ns), directories."""
    state: dict[str, tuple[object, ...]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            state[rel] = ("link", os.readlink(path))
        elif path.is_file():
            st = path.stat()
            state[rel] = ("file", st.st_size, st.st_mtime_ns)
        else:
            state[rel] = ("dir",)
    return state


def guard_read_only(*roots: Path) -> None:
    """Check after every test (and at the end) that ``roots`` are unchanged."""
    for root in roots:
        _READ_ONLY.setdefault(Path(root), tree_state(Path(root)))


def _changed_read_only_trees() -> list[str]:
    problems = []
    for root, before in _READ_ONLY.items():
        after = tree_state(root)
        if after != before:
            changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
            problems.append(f"{root}: {', '.join(changed[:8])}")
    return problems


@pytest.fixture(autouse=True)
def _process_environment_is_restored() -> Iterator[None]:
    """A test that runs `serve`'s set-up in-process (prepare_metrics_dir) sets PROMETHEUS_MULTIPROC_DIR for the
    rest of its worker; every later in-process app would then refuse to start. Whatever a test set is undone."""
    before = dict(os.environ)
    yield
    for name in set(os.environ) - set(before):
        if name.startswith(("PROMETHEUS_", "WEGWIJZER_")):
            del os.environ[name]
    for name in ("PROMETHEUS_MULTIPROC_DIR",):
        if name in before:
            os.environ[name] = before[name]


@pytest.fixture(autouse=True)
def _read_only_trees_stay_unchanged() -> Iterator[None]:
    yield
    problems = _changed_read_only_trees()
    if problems:
        for root in list(_READ_ONLY):  # report once, then judge the next tests against the changed tree
            _READ_ONLY[root] = tree_state(root)
        pytest.fail("this test wrote into a shared read-only tree (use a function-scoped copy such as "
                    "`fake_index` or tests.web_support.copy_index): " + "; ".join(problems), pytrace=False)


# ---------------------------------------------------------------- fake index

@dataclass(frozen=True)
class _Built:
    settings: Settings
    passages_embedded: int
    calls: int


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """``build(folder)`` once per test run, shared by every xdist worker (the first one builds it, under a
    lock, the others wait and reuse it); the folder that holds what it built."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    folder, done = root / name, root / f"{name}.built"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            done.write_text(json.dumps(build(folder)), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def _fake_index_built(tmp_path_factory: pytest.TempPathFactory) -> _Built:
    """The shipped corpus indexed with the fake embedder once per run (shared by the xdist workers)."""
    from ingest.build import ingest

    def build(base: Path) -> dict[str, int]:
        shutil.copytree(CORPUS, base / "corpus")
        embedder = FakeEmbedder()
        ingest(Settings(data_dir=base / "data", corpus_dir=base / "corpus"), embedder=embedder)
        return {"passages_embedded": embedder.passages_embedded, "calls": embedder.calls}

    base = built_once(tmp_path_factory, "fake-index", build)
    counts = json.loads((base.parent / "fake-index.built").read_text(encoding="utf-8"))
    built = Settings(data_dir=base / "data", corpus_dir=base / "corpus")
    guard_read_only(built.data_dir, built.corpus_dir)
    return _Built(built, counts["passages_embedded"], counts["calls"])


@pytest.fixture(scope="session")
def fake_index_readonly(_fake_index_built: _Built) -> Settings:
    """The shipped corpus indexed with the fake embedder, shared by the whole session: for tests that only
    read the index (Assistant.load(..., follow=False), a reader). Nothing may write under its data or corpus
    directory (not even feedback or conversations): a test that does fails. Writers take ``fake_index``."""
    return _fake_index_built.settings


def _same_files(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)


@pytest.fixture
def fake_index(settings: Settings, fake_embedder: FakeEmbedder, _fake_index_built: _Built) -> Settings:
    """The shipped corpus indexed with the fake embedder; returns the settings that point at it.

    This test's own copy (data and corpus directories under its tmp_path), so it may write, ingest and
    delete: a copy of the session's index (the same ingest, done once), or a real ingest when this test's
    settings or corpus differ from the session's. ``fake_embedder`` counts the passages as if it had
    embedded them."""
    built = _fake_index_built.settings
    if settings.with_(data_dir=built.data_dir, corpus_dir=built.corpus_dir) != built \
            or settings.data_dir.exists() or not _same_files(built.corpus_dir, settings.corpus_dir):
        from ingest.build import ingest

        ingest(settings, embedder=fake_embedder)
        return settings
    shutil.copytree(built.data_dir, settings.data_dir, symlinks=True)
    # the ingest report names the corpus it read: this test's copy
    old, new = (json.dumps(str(p))[1:-1] for p in (built.corpus_dir, settings.corpus_dir))
    for report in [settings.index_dir / "last_ingest.json", *settings.index_dir.glob("versions/*/manifest.json")]:
        report.write_text(report.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    fake_embedder.passages_embedded += _fake_index_built.passages_embedded
    fake_embedder.calls += _fake_index_built.calls
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
    """The shipped corpus indexed with the real model, once per run and shared by the xdist workers.

    Read-only: its index and the shipped corpus are checked after every test (tests that write take a copy,
    tests.web_support.copy_index). Feedback and conversations in its data directory are shared state."""
    from ingest.build import ingest

    base = built_once(tmp_path_factory, "real-index",
                      lambda folder: ingest(Settings(data_dir=folder / "data", corpus_dir=CORPUS),
                                            embedder=real_embedder).ok)
    s = Settings(data_dir=base / "data", corpus_dir=CORPUS)
    guard_read_only(s.index_dir, CORPUS)
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
