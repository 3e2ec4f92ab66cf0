"""`wegwijzer status` for a person: the published index, the last ingest, the jobs, the database, the LLM.

``collect`` reads (never changes) the state into the plain dict that ``wegwijzer status --json`` prints;
``render`` turns that dict plus the settings into Dutch lines with local times. Pure, so tested alone.
"""

from __future__ import annotations

import time
from typing import Any

from assistant.config import Settings
from bots.texts import t


def collect(settings: Settings) -> dict[str, Any] | None:
    """The status as ``--json`` has always printed it; None without a published index."""
    from assistant import index as idx
    from ingest.jobs import Reindexer

    store = idx.open_store(settings)
    version = store.current_version()
    if version is None:
        return None
    reader = store.open(version)
    try:
        manifest = reader.manifest
        jobs = Reindexer(settings).store.read()  # read only: `status` never starts or settles anything
        return {"version": version, "format_version": manifest.format_version,
                "created_at": manifest.created_at,
                "documents": len(manifest.documents), "passages": manifest.passage_count,
                "sentences": manifest.sentence_count, "model": manifest.model.__dict__,
                "last_ingest": store.read_last_ingest(),
                "reindex_job": jobs.current.to_dict() if jobs.current else None,
                "reindex_next": jobs.next.to_dict() if jobs.next else None,
                "llm_circuit": _circuit(settings)}
    finally:
        reader.close()


def _circuit(settings: Settings) -> dict[str, Any] | None:
    """The language model's circuit breaker as the services share it (None without a model)."""
    if not settings.llm_url:
        return None
    from assistant.answer.breaker import describe
    from assistant.answer.llm import breaker_for

    return describe(breaker_for(settings).state())


def when(epoch: float | None) -> str:
    """A moment in local time, as people read it: 2026-12-06 17:46 (CET)."""
    if not epoch:
        return t("status.never")
    local = time.localtime(epoch)
    return time.strftime("%Y-%m-%d %H:%M", local) + f" ({time.strftime('%Z', local)})"


def _job_line(job: dict[str, Any]) -> str:
    state = job.get("state", "")
    progress = job.get("progress") or {}
    if state == "running":
        done, total = progress.get("documents_done", 0), progress.get("documents_total", 0)
        return t("status.job_running", id=job["id"], since=when(job.get("started_at")), done=done, total=total)
    if state == "queued":
        return t("status.job_queued", id=job["id"], since=when(job.get("requested_at")),
                 note=f" {job['note']}" if job.get("note") else "")
    if state == "done":
        return t("status.job_done", id=job["id"], at=when(job.get("finished_at")),
                 seconds=f"{(job.get('finished_at') or 0) - (job.get('started_at') or 0):.1f}")
    return t("status.job_failed", id=job["id"], at=when(job.get("finished_at")), error=job.get("error") or "?")


def _database(settings: Settings) -> str:
    from assistant.stores.factory import open_stores

    db = open_stores(settings).database  # the state layer's one switch
    if db is None:
        return t("status.files", path=settings.data_dir)
    return t("status.postgres", url=db.describe())


def render(status: dict[str, Any] | None, settings: Settings) -> str:
    """The status as Dutch lines for a terminal."""
    lines = [t("status.title")]
    if status is None:
        lines.append(t("index.missing"))
    else:
        model = status.get("model") or {}
        lines += [t("status.version", version=status["version"], at=when(status.get("created_at"))),
                  t("status.counts", documents=status["documents"], passages=status["passages"],
                    sentences=status["sentences"]),
                  t("status.embedding", name=model.get("name", "?"), backend=model.get("backend", "?"),
                    dim=model.get("dim", "?"))]
        last = status.get("last_ingest") or {}
        if last:
            outcome = t("status.ingest_ok") if last.get("ok") else t("status.ingest_failed",
                                                                      error=last.get("error") or "?")
            lines.append(t("status.last_ingest", at=when(last.get("finished_at")), outcome=outcome,
                           seconds=f"{float(last.get('seconds') or 0):.1f}"))
            skipped = last.get("skipped") or []
            lines.append(t("status.skipped", count=len(skipped)) if skipped else t("status.none_skipped"))
            lines += [f"  - {item.get('source', '?')}: {item.get('reason', '?')}" for item in skipped]
        current, following = status.get("reindex_job"), status.get("reindex_next")
        lines.append(t("status.jobs_heading"))
        lines.append("  " + (_job_line(current) if current else t("status.no_jobs")))
        if following:
            lines.append("  " + t("status.job_next", id=following["id"], requests=following.get("requests", 1)))
    lines.append(t("status.database", where=_database(settings)))
    lines.append(t("status.llm", llm=t("status.llm_on", url=settings.llm_url, model=settings.llm_model)
                   if settings.llm_url else t("status.llm_off")))
    circuit = (status or {}).get("llm_circuit")
    if settings.llm_url and circuit:
        lines.append(f"  {circuit['message']}")
    return "\n".join(lines)
