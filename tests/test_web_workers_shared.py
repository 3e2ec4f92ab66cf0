"""With ``serve --workers 2`` a client gets one rate limit (not one per worker) and every scrape shows totals.

The server runs as ``python -m bots.cli serve --workers 2`` on 127.0.0.1 with the real model. It trusts
127.0.0.1 as a reverse proxy, so each test plays its own clients with X-Forwarded-For (only a header
value: all traffic goes to 127.0.0.1). Every request opens a new connection, so the kernel spreads
them over both workers; ``X-Wegwijzer-Worker`` names the one that answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings

from .test_web_api import sample, samples
from .web_process import ServerProcess, free_port
from .web_support import copy_index

pytestmark = [pytest.mark.real_model, pytest.mark.timeout(300)]

WORKER = "x-wegwijzer-worker"
ASK_LIMIT = 5
QUESTION = "Wat vraagt de VVSG over inburgering?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, real_index_settings: Settings,
           models_dir: Path) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("workers-shared")
    s = copy_index(real_index_settings, Settings(data_dir=base / "data", corpus_dir=real_index_settings.corpus_dir))
    (s.data_dir / "models").symlink_to(models_dir.resolve(), target_is_directory=True)
    port = free_port()
    env = {"WEGWIJZER_DATA_DIR": str(s.data_dir), "WEGWIJZER_CORPUS_DIR": str(s.corpus_dir),
           "WEGWIJZER_ASK_RATE_LIMIT": str(ASK_LIMIT), "WEGWIJZER_TRUSTED_PROXIES": "127.0.0.1",
           "WEGWIJZER_CORS_ORIGINS": ""}
    args = ["-m", "bots.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    with ServerProcess(args, base / "log", env=env, port=port) as proc:
        # both workers up: the second may still be loading the model when the first answers
        seen: set[str] = set()
        for _ in range(400):
            r = httpx.get(proc.url + "/readyz", timeout=30)
            if r.status_code == 200:
                seen.add(r.headers[WORKER])
            if len(seen) == 2:
                break
        assert len(seen) == 2, proc.log()
        yield proc


def _post(url: str, client_ip: str) -> httpx.Response:
    return httpx.post(url + "/api/ask", json={"question": QUESTION}, headers={"X-Forwarded-For": client_ip},
                      timeout=60)


def test_a_client_gets_one_limit_across_all_workers(server: ServerProcess) -> None:
    responses = [_post(server.url, "192.0.2.50") for _ in range(4 * ASK_LIMIT)]
    workers = {r.headers[WORKER] for r in responses}
    assert len(workers) == 2, "all requests went to one worker; the test shows nothing"
    codes = [r.status_code for r in responses]
    assert codes.count(200) == ASK_LIMIT, codes  # per-worker limits would have allowed up to twice as many
    assert set(codes) == {200, 429}
    refused = next(r for r in responses if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1 and refused.json()["error"]["code"] == "rate_limited"


def test_every_scrape_shows_the_totals_of_all_workers(server: ServerProcess) -> None:
    def scrape() -> tuple[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
        r = httpx.get(server.url + "/metrics", timeout=30)
        assert r.status_code == 200
        return r.headers[WORKER], samples(r.text)

    def asked(m: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> float:
        return sample(m, "wegwijzer_http_requests_total", method="POST", route="/api/ask", status="200")

    _, before = scrape()
    # Clients with one question each, at least eight, until both workers have answered: which worker accepts a
    # connection is the kernel's choice, and on a busy machine one may take many in a row.
    new: list[httpx.Response] = []
    while len(new) < 60 and (len(new) < 8 or len({r.headers[WORKER] for r in new}) < 2):
        new.append(_post(server.url, f"192.0.2.{100 + len(new)}"))
    assert [r.status_code for r in new] == [200] * len(new)
    assert len({r.headers[WORKER] for r in new}) == 2, "all requests went to one worker; the test shows nothing"

    by_worker: dict[str, list[dict[tuple[str, frozenset[tuple[str, str]]], float]]] = {}
    for _ in range(60):
        worker, m = scrape()
        by_worker.setdefault(worker, []).append(m)
        if len(by_worker) == 2 and min(len(v) for v in by_worker.values()) >= 2:
            break
    assert len(by_worker) == 2, "every scrape came from one worker"
    scrapes = [m for ms in by_worker.values() for m in ms]
    for m in scrapes:
        assert asked(m) == asked(before) + len(new)
        answers = sample(m, "wegwijzer_answers_total", found="true") + sample(m, "wegwijzer_answers_total",
                                                                              found="false")
        assert answers == asked(m)
        assert sample(m, "wegwijzer_rate_limited_total", limit="ask") == sample(
            scrapes[0], "wegwijzer_rate_limited_total", limit="ask")
    (version,) = {r.json()["index_version"] for r in new}
    assert all(sample(m, "wegwijzer_index_info", version=version) == 1 for m in scrapes)
