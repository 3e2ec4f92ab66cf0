"""Schema-driven fuzzing of the web service (schemathesis): no 5xx, and every 4xx is the one Dutch error shape.

Every operation in the service's own OpenAPI document is fuzzed through the whole ASGI stack (examples,
coverage and fuzzing phases; positive and negative cases; unlisted methods), with the admin token sent,
so uploads, deletes and background re-indexes run for real on a fake-embedder index. Bounded by
``MAX_EXAMPLES`` per operation (about 1,800 requests, ~15 s).
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from assistant.config import Settings
from bots.web import create_app
from ingest.jobs import Reindexer

from .conftest import CORPUS
from .fakes import FakeEmbedder, GatedFakeEmbedder
from .web_errors import assert_dutch_error

pytestmark = pytest.mark.timeout(300)

TOKEN = "fuzz-beheer-token"
MAX_EXAMPLES = 200
STATS: Counter[tuple[str, str, int, str]] = Counter()


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The service on a fake-embedder index of the shipped corpus, with the admin API on."""
    from ingest.build import ingest

    base = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(CORPUS, base / "corpus")
    s = Settings(data_dir=base / "data", corpus_dir=base / "corpus", admin_token=TOKEN,
                 max_upload_mb=256 / 1024, ask_rate_limit=0, upload_rate_limit=0)  # fuzz, not throttle
    embedder = FakeEmbedder()
    ingest(s, embedder=embedder)
    app = create_app(s, embedder=embedder, jobs=Reindexer(s, embedder_factory=FakeEmbedder))
    yield app
    _until_idle(app.state.ctx.jobs)
    # nothing the fuzzer sent may land outside the corpus or the data directory
    outside = sorted(p.name for p in base.iterdir() if p.name not in ("corpus", "data"))
    assert outside == []
    by_status: Counter[int] = Counter()
    for (_, _, status, _), n in STATS.items():
        by_status[status] += n
    print(f"\nfuzz: {sum(STATS.values())} requests, {len({k[:2] for k in STATS})} method/path pairs, "
          f"by status {dict(sorted(by_status.items()))}")
    for (method, path, status, code), n in sorted(STATS.items()):
        if method in ("GET", "POST", "DELETE"):
            print(f"  {method:6} {path:34} {status} {code:22} {n}")


def _service_openapi() -> dict[str, Any]:
    """The OpenAPI document of the service, as served (built on a throwaway data dir, no lifespan)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp) / "data", corpus_dir=Path(tmp) / "corpus", admin_token=TOKEN),
                         embedder=FakeEmbedder())
        app.state.ctx.store.close()
        return app.openapi()


# Not ``schemathesis.pytest.from_fixture``: its lazy loader sets ``request.node._nodeid``, which pytest 9 no
# longer has. The schema is loaded from the app's own document; every call goes to the fixture's app.
schema = schemathesis.openapi.from_dict(_service_openapi())
PDF_LIKE = st.builds(lambda head, rest: {"file": head + rest}, st.sampled_from([b"%PDF-1.7\n", b"%PDF-", b""]),
                     st.binary(max_size=4096))


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    """Uploads: mostly send bytes, often starting like a PDF, so files get stored (see ``_as_real_file``)."""
    if context.operation is not None and context.operation.path == "/api/admin/documents":
        return st.one_of(PDF_LIKE, st.just(body))
    return st.just(body)


def _as_real_file(case: Any) -> dict[str, Any]:
    """Generated upload bytes, sent as a file part with a name.

    schemathesis sends ``UploadFile | None`` (an anyOf in the schema) as a plain form field, which only
    ever reaches FastAPI's validation. The name's suffix is picked from the bytes, deterministically.
    """
    body = case.body
    if case.path != "/api/admin/documents" or not isinstance(body, dict) or not isinstance(body.get("file"), bytes):
        return {}
    data = body["file"]
    digest = hashlib.sha1(data).hexdigest()[:10]
    suffix = ".pdf" if data.startswith(b"%PDF-") else (".txt", ".md", ".pdf", ".docx")[int(digest, 16) % 4]
    return {"files": {"file": (f"fuzz-{digest}{suffix}", data, "application/octet-stream")}}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_error_is_dutch(case: Any, fuzz_app: Any) -> None:
    sent = _as_real_file(case)
    stored = fuzz_app.state.ctx.settings.corpus_dir / sent["files"]["file"][0] if sent else None
    existed = stored is not None and stored.exists()
    t0 = time.monotonic()
    response = case.call(app=fuzz_app, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30, **sent)
    seconds = time.monotonic() - t0
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:500]}"
    assert seconds < 10, f"{where}: {seconds:.1f} s"
    code = ""
    if response.status_code >= 400:
        code = assert_error_shape(response, where, case.path)
    STATS[(case.method, case.path, response.status_code, code)] += 1
    if response.status_code >= 400 and stored is not None:
        assert stored.exists() == existed, f"{where}: refused but the corpus changed"


def assert_error_shape(response: Any, where: str, path: str) -> str:
    """The one error shape with a Dutch catalogue message (an HTML page only for document links)."""
    content_type = str(response.headers.get("content-type", ""))
    if "text/html" in content_type:
        assert path.startswith("/documents/"), where
        return "html"
    code, _ = assert_dutch_error(response.json(), where)
    return code


# ---------------------------------------------------------------- what the fuzzer found

def _until_idle(jobs: Reindexer, timeout: float = 60) -> None:
    """Wait until no re-index job runs or waits (job processes must not outlive the test's directories)."""
    deadline = time.monotonic() + timeout
    while True:
        queue = jobs.status()
        if (queue.current is None or queue.current.finished) and queue.next is None:
            return
        assert time.monotonic() < deadline, queue
        time.sleep(0.05)


def test_an_upload_or_delete_during_a_run_is_kept_and_in_the_follow_up(fake_index: Settings, tmp_path: Path) -> None:
    """An upload with ``reindex=true`` during a re-index used to store the file and still answer 409 (a
    retry then got 'document exists'). Now it is stored and the response names the follow-up job that
    will index it; a delete likewise. Both end up in the published index."""
    gate = tmp_path / "gate"
    gate.mkdir()
    settings_ = fake_index.with_(admin_token=TOKEN)
    jobs = Reindexer(settings_, embedder_factory=functools.partial(GatedFakeEmbedder, str(gate)))
    (settings_.corpus_dir / "nieuw.md").write_text("# Nieuw\n\nEen nieuw document over buurtwerk.\n")
    admin = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(settings_, embedder=FakeEmbedder(), jobs=jobs),
                    raise_server_exceptions=False) as client:
        first = client.post("/api/admin/reindex", headers=admin).json()
        try:
            deadline = time.monotonic() + 30
            while not (gate / "embedding").exists():
                assert time.monotonic() < deadline
                time.sleep(0.02)
            up = client.post("/api/admin/documents", params={"reindex": "true"}, headers=admin,
                             files={"file": ("later.md", b"# Later\n\nTekst over de bibliotheek.\n")})
            assert up.status_code == 201 and (settings_.corpus_dir / "later.md").exists()
            ticket = up.json()["reindex"]
            assert ticket["queued_behind"] == first["job"]["id"] and "volgende" in ticket["message"]
            gone = client.delete("/api/admin/documents/nieuw.md", params={"reindex": "true"}, headers=admin)
            assert gone.status_code == 200 and not (settings_.corpus_dir / "nieuw.md").exists()
            assert gone.json()["reindex"]["job"]["id"] == ticket["job"]["id"]  # one follow-up for both
        finally:
            (gate / "release").touch()
        _until_idle(jobs)
        follow = client.get(f"/api/admin/reindex/{ticket['job']['id']}", headers=admin).json()
        assert follow["state"] == "done" and follow["requests"] == 2
        assert follow["report"]["documents_embedded"] == 1 and follow["report"]["documents_removed"] == 1
