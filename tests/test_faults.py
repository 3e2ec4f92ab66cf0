"""Fault tests: killed ingests, a full or size-limited disk, concurrent ingests, re-indexing under load.

Ingests that must die or collide run in real subprocesses (``python -c WORKER``) with the fake
embedder. The worker can park at a chosen point -- while embedding, while writing the new version,
just before the atomic switch -- and tells the test through a marker file, so the test kills it
exactly there with SIGKILL. Every wait is bounded; nothing here needs the network or the real model.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant import Assistant
from assistant import index as idx
from assistant.config import REPO_ROOT, Settings
from assistant.errors import IngestBusyError, WegwijzerError
from bots.texts import t
from ingest.build import ingest

from .fakes import FakeEmbedder

pytestmark = pytest.mark.timeout(180)

WAIT_S = 60.0

# The subprocess side. Modes: "ingest" (optionally parking at $PAUSE_AT and with a file-size limit) and
# "ask" (an Assistant answering in a loop until told to stop, logging the version of every answer).
WORKER = r"""
import json, os, signal, sys, time
from pathlib import Path

from assistant import index as idx
from assistant.config import Settings
from assistant.errors import WegwijzerError
from tests.fakes import FakeEmbedder

mode, data_dir, corpus_dir, signals = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
settings = Settings(data_dir=data_dir, corpus_dir=corpus_dir)
pause_at = os.environ.get("PAUSE_AT", "")


def park(where):
    (signals / where).touch()
    deadline = time.monotonic() + 60
    while not (signals / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


class SlowEmbedder(FakeEmbedder):
    def embed_passages(self, texts):
        if pause_at == "embed":
            park("embedding")
        return super().embed_passages(texts)


if mode == "ingest":
    if os.environ.get("FSIZE_LIMIT"):
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        limit = int(os.environ["FSIZE_LIMIT"])
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if pause_at == "write":
        import assistant.index.files as files
        real_write_database = files._write_database
        def write_database(*args, **kwargs):
            real_write_database(*args, **kwargs)
            park("writing")
        files._write_database = write_database
    if pause_at == "publish":
        real_replace = os.replace
        def replace(src, dst, *a, **k):
            if Path(dst).name == idx.CURRENT:
                park("publishing")
            return real_replace(src, dst, *a, **k)
        os.replace = replace
    from ingest.build import ingest
    try:
        report = ingest(settings, embedder=SlowEmbedder())
    except WegwijzerError as exc:
        print(f"wegwijzer: {exc}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(report.to_dict()))

elif mode == "ask":
    from assistant import Assistant
    a = Assistant.load(settings=settings, embedder=FakeEmbedder())
    a.REFRESH_EVERY_S = 0.0  # look for a new version before every question
    questions = ["Wat zijn pleinmakers?", "Wie geeft de presentatie over multilevel governance?",
                 "Wat vraagt de VVSG over inburgering?"]
    answered, errors, versions = 0, [], []
    (signals / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 90
    while not (signals / "stop").exists() and time.monotonic() < deadline:
        try:
            ans = a.ask(questions[answered % len(questions)])
            assert ans.citations + ans.related, "no passages"
            answered += 1
            if not versions or versions[-1] != ans.index_version:
                versions.append(ans.index_version)
        except Exception as exc:  # every failure counts, whatever its type
            errors.append(repr(exc))
    settle = time.monotonic() + 2  # the watcher thread follows the last version within a second
    while a.version != idx.current_version(settings.index_dir) and time.monotonic() < settle:
        time.sleep(0.05)
    print(json.dumps({"answered": answered, "errors": errors, "versions": versions, "final": a.version}))
"""


def _worker(mode: str, settings: Settings, signals: Path, **env: str) -> subprocess.Popen[str]:
    signals.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, mode, str(settings.data_dir), str(settings.corpus_dir), str(signals)],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen[str] | None = None, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"worker exited ({proc.returncode}) before {path.name}: {err[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {path.name}")
        time.sleep(0.02)


def _kill9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=WAIT_S)
    assert proc.returncode == -signal.SIGKILL


def _leftovers(index_dir: Path) -> list[str]:
    return [p.name for p in (index_dir / idx.VERSIONS).iterdir() if p.name.startswith(idx.TMP_PREFIX)]


def _assert_served_intact(settings: Settings, version: str | None, passages: int) -> None:
    """The published version is ``version``, loads whole, and answers questions."""
    assert idx.current_version(settings.index_dir) == version
    data = idx.open_index(settings.index_dir)  # opening checks vectors, lexical entries and sentences agree
    assert data.version_id == version and data.passage_count == passages
    answer = Assistant.load(settings=settings, embedder=FakeEmbedder()).ask("Wat zijn pleinmakers?")
    assert answer.index_version == version and answer.citations + answer.related


def _add_document(settings: Settings, name: str = "nieuw.md") -> None:
    (settings.corpus_dir / name).write_text(
        "# Buurtkoks\n\nDe gemeente Zoersel start met buurtkoks die samen met nieuwkomers koken.\n", encoding="utf-8")


def _published(fake_index: Settings) -> tuple[str | None, int]:
    return idx.current_version(fake_index.index_dir), idx.open_index(fake_index.index_dir).passage_count


@pytest.mark.parametrize("pause_at, marker", [("embed", "embedding"), ("write", "writing"),
                                              ("publish", "publishing")])
def test_ingest_killed_part_way_keeps_the_previous_index(fake_index: Settings, tmp_path: Path, pause_at: str,
                                                         marker: str) -> None:
    before, n_before = _published(fake_index)
    _add_document(fake_index)
    signals = tmp_path / "signals"
    proc = _worker("ingest", fake_index, signals, PAUSE_AT=pause_at)
    _wait_for(signals / marker, proc)
    if pause_at == "write":
        assert _leftovers(fake_index.index_dir), "the worker should be half-way through writing a version"
    _kill9(proc)

    _assert_served_intact(fake_index, before, n_before)

    # the next ingest needs no manual clean-up: the lock died with its holder, leftovers are removed
    report = ingest(fake_index, embedder=FakeEmbedder())
    assert report.ok and report.documents == 6 and report.documents_embedded == 1
    assert idx.current_version(fake_index.index_dir) == report.version_id != before
    assert _leftovers(fake_index.index_dir) == []
    assert idx.open_index(fake_index.index_dir).manifest.document("nieuw.md") is not None
    with idx.IngestLock(fake_index.index_dir):
        pass


def test_leftover_switch_link_of_a_killed_publish_is_cleaned(fake_index: Settings, tmp_path: Path) -> None:
    """A kill between creating the new `current.*.tmp` link and renaming it over `current` leaves that link."""
    _add_document(fake_index)
    signals = tmp_path / "signals"
    proc = _worker("ingest", fake_index, signals, PAUSE_AT="publish")
    _wait_for(signals / "publishing", proc)
    _kill9(proc)
    assert list(fake_index.index_dir.glob(f"{idx.CURRENT}.*.tmp")), "the kill should leave the temporary link"
    ingest(fake_index, embedder=FakeEmbedder())
    assert list(fake_index.index_dir.glob(f"{idx.CURRENT}.*.tmp")) == []


def _big_document(settings: Settings, kb: int) -> None:
    sentence = "De gemeente betrekt nieuwkomers bij het lokaal integratiebeleid via buurtwerk en taalcafés. "
    paragraphs = "\n\n".join(f"## Werkpunt {i}\n\n" + sentence * 8 for i in range(kb * 1024 // 800))
    (settings.corpus_dir / "groot.md").write_text(paragraphs, encoding="utf-8")


def _assert_clean_write_failure(settings: Settings, message: str, before: str | None, n_before: int) -> None:
    head, tail = t("ingest.write_failed", reason="\0").split("\0")  # "... ({reason}); the old index stays"
    assert head in message and tail in message, message
    _assert_served_intact(settings, before, n_before)
    assert _leftovers(settings.index_dir) == []
    last = idx.read_last_ingest(settings.index_dir)
    assert last is None or last["ok"] is False or last["version_id"] == before


def test_file_size_limit_during_ingest_is_a_clear_error(fake_index: Settings, tmp_path: Path) -> None:
    """Writes fail with EFBIG past RLIMIT_FSIZE (works without root, unlike chmod, which root ignores)."""
    before, n_before = _published(fake_index)
    _big_document(fake_index, kb=60)  # its vectors.faiss still fits under the limit, its passages.jsonl does not
    proc = _worker("ingest", fake_index, tmp_path / "signals", FSIZE_LIMIT=str(48 * 1024))
    _, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 1, err
    assert "File too large" in err, err
    _assert_clean_write_failure(fake_index, err, before, n_before)


def test_failure_while_writing_the_vectors_is_a_clear_error(fake_index: Settings, tmp_path: Path) -> None:
    before, n_before = _published(fake_index)
    _big_document(fake_index, kb=200)
    proc = _worker("ingest", fake_index, tmp_path / "signals", FSIZE_LIMIT=str(8 * 1024))  # < vectors.faiss
    _, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 1, err[-3000:]
    _assert_clean_write_failure(fake_index, err, before, n_before)


@pytest.fixture
def small_tmpfs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real 1 MB filesystem, so the disk is really full (needs root and mount; skipped otherwise)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True,
                          timeout=30, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30, check=False)


def test_full_disk_during_ingest_is_a_clear_error(small_tmpfs: Path, settings: Settings) -> None:
    full = settings.with_(data_dir=small_tmpfs / "data")
    ingest(full, embedder=FakeEmbedder())
    before, n_before = _published(full)
    _big_document(full, kb=1200)  # its passages and pages do not fit in what is left of 1 MB
    with pytest.raises(WegwijzerError) as caught:
        ingest(full, embedder=FakeEmbedder())
    assert "No space left on device" in str(caught.value)
    _assert_clean_write_failure(full, str(caught.value), before, n_before)
    # once space is freed, the next ingest just works
    (full.corpus_dir / "groot.md").unlink()
    _add_document(full)
    assert ingest(full, embedder=FakeEmbedder()).documents == 6


@pytest.fixture
def read_only_data(small_tmpfs: Path, settings: Settings):  # type: ignore[no-untyped-def]
    """A published index on a filesystem that is then remounted read-only, and a corpus with a new document."""
    ro = settings.with_(data_dir=small_tmpfs / "data")
    ingest(ro, embedder=FakeEmbedder())
    _add_document(ro)
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True, timeout=30)
    try:
        yield ro
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_tmpfs)], check=True, timeout=30)


def test_read_only_data_dir_keeps_the_old_index_in_service(read_only_data: Settings) -> None:
    before, n_before = _published(read_only_data)
    with pytest.raises(WegwijzerError):
        ingest(read_only_data, embedder=FakeEmbedder())
    _assert_served_intact(read_only_data, before, n_before)


def test_read_only_data_dir_is_a_clear_error(read_only_data: Settings) -> None:
    with pytest.raises(WegwijzerError) as caught:
        ingest(read_only_data, embedder=FakeEmbedder())
    assert "Read-only file system" in str(caught.value)
    head, tail = t("ingest.write_failed", reason="\0").split("\0")
    assert head in str(caught.value) and tail in str(caught.value)


def test_two_concurrent_ingests_one_is_refused(fake_index: Settings, tmp_path: Path) -> None:
    before = idx.current_version(fake_index.index_dir)
    _add_document(fake_index)
    signals = tmp_path / "signals"
    first = _worker("ingest", fake_index, signals, PAUSE_AT="embed")
    try:
        _wait_for(signals / "embedding", first)
        second = _worker("ingest", fake_index, tmp_path / "signals2")
        _, err = second.communicate(timeout=WAIT_S)
        assert second.returncode == 1
        assert t("index.busy") in err, err
        with pytest.raises(IngestBusyError):
            ingest(fake_index, embedder=FakeEmbedder())
        assert idx.current_version(fake_index.index_dir) == before
    finally:
        (signals / "release").touch()
    out, err = first.communicate(timeout=WAIT_S)
    assert first.returncode == 0, err
    assert idx.current_version(fake_index.index_dir) == json.loads(out)["version_id"] != before


def test_questions_keep_being_answered_during_reindexes(fake_index: Settings, tmp_path: Path) -> None:
    a = Assistant.load(settings=fake_index, embedder=FakeEmbedder())
    a.REFRESH_EVERY_S = 0.0
    first = a.version
    stop = threading.Event()
    errors: list[str] = []
    seen: list[str] = []
    answered = 0

    def asker() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                ans = a.ask("Wat vraagt de VVSG over inburgering?")
                assert ans.citations + ans.related
                answered += 1
                if not seen or seen[-1] != ans.index_version:
                    seen.append(ans.index_version)
            except Exception as exc:  # every failure counts
                errors.append(repr(exc))

    thread = threading.Thread(target=asker, daemon=True)
    thread.start()
    try:
        for i in range(3):  # re-index in another process, as `wegwijzer ingest` or the admin API does
            _add_document(fake_index, f"nieuw-{i}.md")
            proc = _worker("ingest", fake_index, tmp_path / f"signals{i}")
            _, err = proc.communicate(timeout=WAIT_S)
            assert proc.returncode == 0, err
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=WAIT_S)
    assert errors == []
    assert answered > 20
    final = idx.current_version(fake_index.index_dir)
    deadline = time.monotonic() + 2  # the watcher thread follows a new version within a second
    while a.version != final and time.monotonic() < deadline:
        time.sleep(0.05)
    assert a.version == final != first
    if seen[-1] != final:  # the asker may have stopped just before the watcher moved to the last version
        seen.append(a.ask("Wat is Plan Samenleven?").index_version)
    assert seen[0] == first and seen[-1] == final


def test_two_processes_sharing_the_data_dir_both_switch(fake_index: Settings, tmp_path: Path) -> None:
    """Two reader processes (as two server workers would be) follow a re-index without a failed answer."""
    signals = tmp_path / "signals"
    before = idx.current_version(fake_index.index_dir)
    readers = [_worker("ask", fake_index, signals) for _ in range(2)]
    try:
        for r in readers:
            _wait_for(signals / f"ready-{r.pid}", r)
        _add_document(fake_index)
        new = ingest(fake_index, embedder=FakeEmbedder()).version_id
        time.sleep(1.0)
    finally:
        (signals / "stop").touch()
    for r in readers:
        out, err = r.communicate(timeout=WAIT_S)
        assert r.returncode == 0, err
        result = json.loads(out)
        assert result["errors"] == []
        assert result["answered"] > 0
        assert result["versions"][0] == before and result["final"] == new
