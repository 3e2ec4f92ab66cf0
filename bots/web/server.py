"""``wegwijzer serve``: run the web service with uvicorn."""

from __future__ import annotations

import os

from assistant.config import Settings


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
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        from .app import create_app

        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, proxy_headers=False,
                    server_header=False, log_level="info")
        return
    os.environ["WEGWIJZER_HOST"] = settings.host
    os.environ["WEGWIJZER_PORT"] = str(settings.port)
    uvicorn.run("bots.web.app:app_from_env", factory=True, host=settings.host, port=settings.port,
                workers=workers, proxy_headers=False, server_header=False, log_level="info")
