"""Hot re-index: an upload plus re-index completes while clients keep asking, with zero failed requests."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from assistant.config import Settings
from bots.web import create_app

from .web_support import ServerThread, copy_index

pytestmark = pytest.mark.real_model

TOKEN = "beheer-token-voor-de-test"
QUESTIONS = [
    "Wat kan een stad doen als de financiële middelen beperkt zijn?",
    "Wat vraagt de VVSG over inburgering?",
    "Hoe betrek je nieuwkomers bij het lokaal beleid?",
    "Wanneer vond de studiedag participatief integratiebeleid plaats?",
]
NEW_DOCUMENT = """# Taalcafé Klinkaard in de stadsbibliotheek

Het Taalcafé Klinkaard is een wekelijkse ontmoeting in de stadsbibliotheek waar nieuwkomers Nederlands oefenen
met vrijwillige taalbuddy's. Het taalcafé vindt elke dinsdagavond plaats van 19 tot 21 uur op de tweede verdieping
van de bibliotheek. Deelname is gratis en inschrijven is niet nodig.

## Vrijwilligers

Vrijwilligers die taalbuddy willen worden, volgen eerst een korte opleiding van de dienst Samenleven.
"""
NEW_QUESTION = "Wanneer vindt het Taalcafé Klinkaard in de bibliotheek plaats?"


def test_upload_and_reindex_while_clients_ask(settings: Settings, real_index_settings: Settings,
                                              real_embedder: Any) -> None:
    # the shipped corpus is already embedded in the session index: copy it, so only the new file is embedded
    settings = copy_index(real_index_settings, settings.with_(admin_token=TOKEN, ask_rate_limit=0))
    app = create_app(settings, embedder=real_embedder)
    results: Counter[str] = Counter()
    started: list[float] = []  # wall-clock start of every successful request
    versions: set[str] = set()
    failures: list[str] = []
    stop = threading.Event()

    def client_loop(url: str, offset: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            i = offset
            while not stop.is_set():
                try:
                    t0 = time.time()
                    r = client.post("/api/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
                    if r.status_code == 200:
                        versions.add(r.json()["index_version"])
                        results["ok"] += 1
                        started.append(t0)
                    else:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                i += 1

    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as admin:
        old_version = admin.get("/readyz").json()["index_version"]
        admin.post("/api/ask", json={"question": QUESTIONS[0]})  # warm up
        loops = [threading.Thread(target=client_loop, args=(server.url, k), daemon=True) for k in range(3)]
        for t in loops:
            t.start()
        time.sleep(1.0)
        before_upload = results["ok"]

        headers = {"Authorization": f"Bearer {TOKEN}"}
        up = admin.post("/api/admin/documents", params={"reindex": "true"}, headers=headers,
                        files={"file": ("taalcafe-klinkaard.md", NEW_DOCUMENT.encode(), "text/markdown")})
        assert up.status_code == 201, up.text
        deadline = time.monotonic() + 120
        while True:
            job = admin.get("/api/admin/status", headers=headers).json()["reindex"]
            if job["state"] != "running":
                break
            assert time.monotonic() < deadline, "re-index did not finish"
            time.sleep(0.1)
        assert job["state"] == "done", job
        assert job["report"]["documents_embedded"] == 1 and job["report"]["documents_reused"] == 5
        time.sleep(1.0)  # keep asking on the new version for a moment
        stop.set()
        for t in loops:
            t.join(timeout=30)

        during = sum(1 for t in started if job["started_at"] <= t <= job["finished_at"])
        print(f"hot re-index: {results['ok']} answers, {before_upload} before the upload, {during} asked while "
              f"re-indexing ({job['finished_at'] - job['started_at']:.2f} s)")
        assert failures == []
        assert during > 0
        assert before_upload > 0 and results["ok"] > before_upload
        new_version = admin.get("/readyz").json()["index_version"]
        assert new_version != old_version and {old_version, new_version} <= versions

        answer = admin.post("/api/ask", json={"question": NEW_QUESTION}).json()
        assert answer["found"] is True
        assert answer["citations"][0]["source"] == "taalcafe-klinkaard.md"
        assert "dinsdagavond" in answer["text"] or "dinsdagavond" in answer["citations"][0]["text"]
