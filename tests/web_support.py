"""Helpers for the web tests: a real uvicorn server in a thread, a host page on another origin."""

from __future__ import annotations

import functools
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import uvicorn

from assistant.config import Settings


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 and a free port, in a daemon thread (or on ``sockets`` already
    bound, as ``--workers N`` hands them to its worker processes)."""

    def __init__(self, app: Any, sockets: list[Any] | None = None, **options: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
                                access_log=False, **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: self.server.run(sockets=sockets), name="uvicorn-test",
                                       daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


class StaticSite:
    """A plain static web server for ``directory`` on ``host`` (another origin than the service)."""

    def __init__(self, directory: Path, host: str = "localhost") -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.host = host
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="host-page", daemon=True)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.httpd.server_address[1]}"

    def __enter__(self) -> StaticSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def copy_index(source: Settings, dest: Settings) -> Settings:
    """Give ``dest`` its own copy of the index of ``source`` (so tests can write feedback and re-index)."""
    dest.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source.index_dir, dest.index_dir, symlinks=True,
                    ignore=shutil.ignore_patterns("*.lock"))
    return dest


NUDGE_QUESTION = "Wat doet de stad voor nieuwkomers?"


def until_serving(client: Any, version: str, timeout: float = 30.0) -> None:
    """Wait until the service behind ``client`` (TestClient or httpx.Client) answers from index ``version``.

    The one place tests wait for a worker to follow a newly published version. On main an idle worker
    only switches when a question arrives (``Assistant.ask`` starts the switch in the background), so
    this asks one; once workers follow new versions by themselves, the question can go.
    """
    deadline = time.monotonic() + timeout
    while True:
        if client.get("/readyz").json().get("index_version") == version:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still not serving {version} after {timeout:.0f} s")
        client.post("/api/ask", json={"question": NUDGE_QUESTION})
        time.sleep(0.05)
