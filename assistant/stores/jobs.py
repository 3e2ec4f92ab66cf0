"""Where the re-index job state lives: one small JSON document and the runner claim.

The storage half of ``ingest/jobstate.py`` (which keeps what a job is and how the queue moves): every serving
worker, replica and job process reads and updates the same document, atomically, and at most one process
holds the runner claim (released by the OS or the server when its holder dies).

- :class:`FileJobStateStore`     ``index/job.json`` written atomically under ``index/.job.lock``; the claim is
                                 ``index/.runner.lock`` (file locks)
- :class:`PostgresJobStateStore` one row of ``wegwijzer.jobs`` updated under ``SELECT … FOR UPDATE``; the claim
                                 is a session advisory lock
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from assistant.errors import IndexWriteError
from assistant.messages import t
from assistant.stores.statefiles import create_private, private_file, private_folder

log = logging.getLogger(__name__)

JOB_FILE = "job.json"
STATE_LOCK = ".job.lock"  # held for the few milliseconds of one read-modify-write of job.json
RUNNER_LOCK = ".runner.lock"  # held by the one job process for as long as it runs (the OS drops it on death)

Document = dict[str, Any]


class JobStateStore(Protocol):
    def read(self) -> Document | None:
        """The document as last written (never half-written), or None."""
        ...

    def update(self, change: Callable[[Document | None], Document | None]) -> None:
        """Run ``change`` on the document while the store is locked; what it returns is written (None: keep)."""
        ...

    def claim_runner(self, timeout: float) -> bool: ...
    def release_runner(self) -> None: ...
    def runner_active(self) -> bool: ...


class FileJobStateStore:
    LOCK_TIMEOUT_S = 30.0

    def __init__(self, index_dir: Path) -> None:
        self.dir = Path(index_dir)
        self.path = self.dir / JOB_FILE
        self._runner: Any = None

    def _mkdir(self) -> None:
        try:
            private_folder(self.dir)
            private_file(self.path)  # one an older version wrote 0644
        except OSError as exc:
            raise IndexWriteError(t("ingest.write_failed", reason=exc.strerror or exc)) from exc

    def read(self) -> Document | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # a damaged file must not stop serving or indexing
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            return None
        return data if isinstance(data, dict) else None

    def update(self, change: Callable[[Document | None], Document | None]) -> None:
        from filelock import FileLock, Timeout

        self._mkdir()
        lock = FileLock(str(self.dir / STATE_LOCK), timeout=self.LOCK_TIMEOUT_S)
        try:
            with lock:
                after = change(self.read())
                if after is not None:
                    self._write(after)
        except Timeout as exc:
            raise IndexWriteError(t("ingest.write_failed", reason=f"{STATE_LOCK} blijft bezet")) from exc
        except OSError as exc:
            raise IndexWriteError(t("ingest.write_failed", reason=exc.strerror or exc)) from exc

    def _write(self, document: Document) -> None:
        tmp = self.path.with_name(f".{JOB_FILE}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        # 0600 (statefiles): the job records who asked for a re-index and the ingest report
        create_private(tmp, json.dumps(document, ensure_ascii=False, indent=2))
        os.replace(tmp, self.path)

    def claim_runner(self, timeout: float) -> bool:
        from filelock import FileLock, Timeout

        self._mkdir()
        lock = FileLock(str(self.dir / RUNNER_LOCK), timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            return False
        self._runner = lock
        return True

    def release_runner(self) -> None:
        if self._runner is not None:
            self._runner.release()
            self._runner = None

    def runner_active(self) -> bool:
        from filelock import FileLock, Timeout

        if self._runner is not None:
            return True
        probe = FileLock(str(self.dir / RUNNER_LOCK), timeout=0)
        try:
            probe.acquire()
        except Timeout:
            return True
        except OSError:  # cannot even open the lock file: nobody can hold it either
            return False
        probe.release()
        return False


_PG_MIGRATIONS = (
    """
    CREATE TABLE wegwijzer.jobs (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        state jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO wegwijzer.jobs (state) VALUES ('{}');
    """,
)


class PostgresJobStateStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self._runner: Any = None

    def _tables(self) -> None:
        self.db.migrate("jobs", _PG_MIGRATIONS)  # once per process (cached)

    def read(self) -> Document | None:
        self._tables()
        rows = self.db.rows("SELECT state FROM wegwijzer.jobs")
        data = rows[0][0] if rows else None
        return data if isinstance(data, dict) else None

    def update(self, change: Callable[[Document | None], Document | None]) -> None:
        self._tables()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT state FROM wegwijzer.jobs FOR UPDATE").fetchone()
            after = change(row[0] if row and isinstance(row[0], dict) else None)
            if after is not None:
                conn.execute("UPDATE wegwijzer.jobs SET state = %s, updated_at = now()", (self.db.jsonb(after),))

    def claim_runner(self, timeout: float) -> bool:
        from assistant.stores.pg import LOCK_RUNNER

        self._runner = self.db.try_lock(LOCK_RUNNER, timeout)
        return self._runner is not None

    def release_runner(self) -> None:
        if self._runner is not None:
            self._runner.release()
            self._runner = None

    def runner_active(self) -> bool:
        from assistant.stores.pg import LOCK_RUNNER

        return self._runner is not None or bool(self.db.lock_held(LOCK_RUNNER))
