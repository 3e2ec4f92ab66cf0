"""The web service on the fake embedder, as its own process, for tests that measure the server alone.

    python -m tests.web_fake_server DATA_DIR CORPUS_DIR ADMIN_TOKEN

Binds 127.0.0.1 on a free port, prints ``PORT <n>`` on stdout once listening, and serves until SIGTERM
or SIGINT. The default upload limit (20 MB) applies unless WEGWIJZER_MAX_UPLOAD_MB says otherwise;
WEGWIJZER_TEST_JOB_GATE=DIR parks re-index jobs before they embed (see ``GatedFakeEmbedder``).
"""

from __future__ import annotations

import functools
import os
import socket
import sys
from pathlib import Path

import uvicorn

from assistant.config import Settings
from bots.web import create_app
from ingest.jobs import Reindexer

from .fakes import FakeEmbedder, GatedFakeEmbedder


def main(argv: list[str]) -> None:
    data_dir, corpus_dir, token = Path(argv[0]), Path(argv[1]), argv[2]
    limit_mb = int(os.environ.get("WEGWIJZER_MAX_UPLOAD_MB") or 20)
    settings = Settings(data_dir=data_dir, corpus_dir=corpus_dir, admin_token=token,
                        max_upload_mb=limit_mb)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    # Re-index job processes use the fake model too; WEGWIJZER_TEST_JOB_GATE parks them before embedding.
    gate = os.environ.get("WEGWIJZER_TEST_JOB_GATE")
    factory = functools.partial(GatedFakeEmbedder, gate) if gate else FakeEmbedder
    jobs = Reindexer(settings, embedder_factory=factory)
    config = uvicorn.Config(create_app(settings, embedder=FakeEmbedder(), jobs=jobs), log_level="warning",
                            access_log=False, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
