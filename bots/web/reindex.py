"""Background re-indexing: one ingest at a time in a worker thread, the service keeps answering.

The ingest writes a new index version beside the published one and switches atomically; the
Assistant follows it (``refresh``), so in-flight questions finish on the old version and the next
ones use the new one. No request waits for, or fails because of, a re-index.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.errors import IngestBusyError, WegwijzerError
from assistant.messages import t

log = logging.getLogger(__name__)


class Reindexer:
    """Runs ``ingest`` in a daemon thread and remembers how the last run went."""

    def __init__(self, settings: Settings, embedder: Callable[[], Embedder | None],
                 on_published: Callable[[], None]) -> None:
        self.settings = settings
        self._embedder = embedder
        self._on_published = on_published
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._state: dict[str, Any] = {"state": "idle", "started_at": None, "finished_at": None,
                                       "report": None, "error": "", "runs": 0}

    @property
    def running(self) -> bool:
        with self._lock:
            return self._state["state"] == "running"

    def start(self) -> bool:
        """Start a re-index; False when one is already running in this process."""
        with self._lock:
            if self._state["state"] == "running":
                return False
            self._state.update(state="running", started_at=time.time(), finished_at=None, error="")
            self._thread = threading.Thread(target=self._run, name="wegwijzer-reindex", daemon=True)
            self._thread.start()
            return True

    def _run(self) -> None:
        from ingest.build import ingest  # the web layer may use ingest; imported where it is needed

        state, report, error = "failed", None, ""
        try:
            result = ingest(self.settings, embedder=self._embedder())
            report = result.to_dict()
            state = "done"
        except IngestBusyError:
            error = t("index.busy")
        except WegwijzerError as exc:
            log.warning("re-index failed: %s", exc)
            error = str(exc)
        except Exception:  # a background thread has nobody above it to catch this
            log.exception("re-index crashed")
            error = t("error.internal")
        if state == "done":
            try:
                self._on_published()
            except Exception:
                log.exception("switching to the new index failed; requests will retry")
        with self._lock:
            self._state.update(state=state, finished_at=time.time(), report=report, error=error,
                               runs=self._state["runs"] + 1)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
