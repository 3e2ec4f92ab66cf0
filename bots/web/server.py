"""``wegwijzer serve``: run the web service with uvicorn."""

from __future__ import annotations

import functools
import logging
import os
import shutil
from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.logs import uvicorn_log_config

from .metrics import MULTIPROC_ENV

if TYPE_CHECKING:
    from ingest.watch import CorpusWatcher


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every server of this app gets (also the tests' servers): the protocol with read timeouts."""
    from .protocol import TimeoutH11Protocol

    # A partial is picklable, so it reaches spawned worker processes with the timeouts in it.
    protocol = functools.partial(TimeoutH11Protocol, header_timeout=settings.header_timeout_s,
                                 body_timeout=settings.body_timeout_s)
    # One log format for uvicorn's lines and its access log too (assistant/logs.py), in each spawned worker.
    return {"http": protocol, "proxy_headers": False, "server_header": False, "log_config": uvicorn_log_config()}


def prepare_metrics_dir(settings: Settings) -> None:
    """An empty prometheus-client multiprocess directory for this server, named in the environment.

    Before any worker imports prometheus-client (it reads the variable at import); emptied, so files of
    workers from an earlier run do not count. Per port, so two servers on one data directory keep apart.
    """
    path = settings.metrics_dir
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)


def serve(settings: Settings, workers: int = 1) -> None:
    """Serve on ``settings.host:settings.port``.

    One worker gets the app object built from ``settings``. Several workers are separate processes that
    each build the app from the environment, so the host and port overrides are passed on through it.
    """
    import uvicorn

    # One compute thread per worker process: the embedder runs one question at a time anyway, and
    # OpenMP threads that spin-wait on a busy machine (the event loop, faiss, other workers) made the
    # tail latency 5x worse in bench/load_http.py. Scale with --workers instead; an explicit
    # OMP_NUM_THREADS still wins. Set here because torch reads it when it is first imported.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # The same for ONNX Runtime, which ignores OMP_NUM_THREADS; questions that arrive together are
    # embedded as one batch on that thread (assistant.model.embedding.BatchingEmbedder). Set in the
    # environment for the workers; re-index jobs use WEGWIJZER_INGEST_THREADS instead.
    if not settings.embedding_threads:
        settings = settings.with_(embedding_threads=1)
    os.environ["WEGWIJZER_EMBEDDING_THREADS"] = str(settings.embedding_threads)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    prepare_metrics_dir(settings)
    options = uvicorn_options(settings)
    watcher = _start_watcher(settings)
    try:
        if workers == 1:
            from .app import create_app

            uvicorn.run(create_app(settings), host=settings.host, port=settings.port, **options)
            return
        os.environ["WEGWIJZER_HOST"] = settings.host
        os.environ["WEGWIJZER_PORT"] = str(settings.port)
        uvicorn.run("bots.web.app:app_from_env", factory=True, host=settings.host, port=settings.port,
                    workers=workers, **options)
    finally:
        if watcher is not None:
            watcher.stop()


def _start_watcher(settings: Settings) -> CorpusWatcher | None:
    """The corpus folder watcher, once per ``serve`` (in the supervising process, not in every worker).

    It starts re-index jobs as separate processes; the watch lock in the data directory keeps a second
    ``serve`` or ``wegwijzer watch`` on the same data from acting too.
    """
    if not settings.watch:
        return None
    from ingest.jobs import Reindexer
    from ingest.watch import CorpusWatcher

    log = logging.getLogger("ingest.watch")
    return CorpusWatcher(settings, Reindexer(settings), on_event=lambda text: log.info("%s", text)).start()
