"""The admin operations, once: upload, delete, metadata edit, re-index, and what they report.

The bearer-token API (admin.py) and the admin page (beheer.py) both call these; each change is
recorded in the audit trail with who made it and from where. The rules themselves stay with their
owners: file rules in ``ingest.corpusfiles``, metadata in ``ingest.catalog``, jobs in ``ingest.jobs``.
Errors come out as ``ApiError`` with a Dutch message.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, BinaryIO

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, StrictStr

from assistant import index as idx
from assistant.errors import WegwijzerError
from bots.texts import t
from ingest import catalog
from ingest.catalog import CatalogError
from ingest.corpusfiles import CorpusFileError, delete_document, inside, store_upload
from ingest.jobs import Ticket
from ingest.jobstate import Job, JobQueue
from ingest.loaders import discover

from . import audit
from .context import Ctx, WebContext
from .errors import ApiError
from .identity import Caller
from .uploads import api_error

log = logging.getLogger(__name__)

CHANNEL = "web"
CATALOG_STATUS = {"invalid": 422, "unreadable": 409, "busy": 503, "unwritable": 503}


def job_dict(job: Job | None) -> dict[str, Any] | None:
    return job.to_dict() if job is not None else None


def ticket_dict(ticket: Ticket) -> dict[str, Any]:
    return {"job": job_dict(ticket.job), "queued_behind": ticket.behind.id if ticket.behind else None,
            "message": ticket.message}


def queue_dict(queue: JobQueue) -> dict[str, Any]:
    return {"current": job_dict(queue.current), "next": job_dict(queue.next),
            "recent": [j.to_dict() for j in queue.history[:5]]}


def catalog_error(exc: CatalogError) -> ApiError:
    code = "invalid_metadata" if exc.kind == "invalid" else f"catalog_{exc.kind}"
    return ApiError(CATALOG_STATUS.get(exc.kind, 422), code, exc.message)


class MetadataRequest(BaseModel):
    """Catalog fields to set ("" removes one); fields left out keep their value. The admin API takes this body;
    /beheer's form adds the audience (the API sets that with its own PUT)."""

    model_config = ConfigDict(extra="forbid")

    title: StrictStr | None = None
    publisher: StrictStr | None = None
    date: StrictStr | None = None
    kind: StrictStr | None = None
    language: StrictStr | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, as the catalog edit takes them."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class AdminOps:
    """Changes to the documents and their index, for one web context."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    @property
    def corpus(self) -> Any:
        return self.ctx.settings.corpus_dir

    # ---------------------------------------------------------------- reading

    def published(self) -> idx.Manifest | None:
        """The published index version's manifest, or None (none yet, or unreadable: logged)."""
        store = self.ctx.index
        try:
            version = store.current_version()
            return store.read_manifest(version) if version else None
        except WegwijzerError as exc:
            log.warning("cannot read the published manifest: %s", exc)
            return None
        finally:  # after the read: this process then serves that version or a newer one
            self.ctx.catch_up()

    def indexed_sources(self) -> set[str]:
        """The sources the published index holds: each can be deleted, whatever it is on disk now."""
        manifest = self.published()
        return {d.source for d in manifest.documents} if manifest else set()

    def jobs(self) -> JobQueue:
        """The shared job state; settling a dead job needs a write, and a read-only data dir still shows it.
        A job reported done is served here (a job publishes before it is marked done, so catching up after
        the read serves its version or a newer one)."""
        try:
            return self.ctx.jobs.status()
        except WegwijzerError as exc:
            log.warning("could not settle the job state: %s", exc)
            return self.ctx.jobs.store.read()
        finally:
            self.ctx.catch_up()

    # ---------------------------------------------------------------- changing

    def _after_change(self, caller: Caller, reindex: bool) -> dict[str, Any]:
        """Request the re-index a change asked for; the change itself is already made."""
        if not reindex:
            return {"reindex": None, "reindex_error": ""}
        try:
            ticket = self.ctx.jobs.request(CHANNEL)
        except WegwijzerError as exc:
            log.warning("could not request a re-index: %s", exc)
            return {"reindex": None, "reindex_error": str(exc)}
        audit.record(self.ctx.audit, caller, audit.REINDEX, ticket.job.id)
        return {"reindex": ticket_dict(ticket), "reindex_error": ""}

    def upload(self, caller: Caller, filename: str, stream: BinaryIO, fields: dict[str, str] | None = None,
               replace: bool = False, reindex: bool = False) -> dict[str, Any]:
        """Store one file (and its catalog entry, checked first: a bad date leaves nothing behind)."""
        if not filename:
            raise ApiError(422, "no_file", t("upload.no_file"))
        try:
            meta = catalog.validate_entry(fields) if fields else {}
            name, size = store_upload(self.corpus, filename, stream, self.ctx.settings.max_upload_bytes, replace)
        except CatalogError as exc:
            raise catalog_error(exc) from None
        except CorpusFileError as exc:
            raise api_error(exc) from None
        entry: dict[str, str] = {}
        if meta:
            try:
                entry = catalog.update_entry(self.corpus, name, meta)
            except CatalogError as exc:  # the file is in; say why its metadata is not
                audit.record(self.ctx.audit, caller, audit.UPLOAD, name, size=size, replace=replace)
                raise catalog_error(exc) from None
        audit.record(self.ctx.audit, caller, audit.UPLOAD, name, size=size, replace=replace,
                                                 metadata=entry)
        return {"source": name, "size": size, "catalog": entry, **self._after_change(caller, reindex)}

    def delete(self, caller: Caller, source: str, reindex: bool = False) -> dict[str, Any]:
        """Remove a document from the corpus folder (or a link an older version indexed), with its catalog entry."""
        try:
            removed = delete_document(self.corpus, source, self.indexed_sources())
        except CorpusFileError as exc:
            raise api_error(exc) from None
        try:
            catalog.remove_entry(self.corpus, removed)
        except CatalogError as exc:  # the file is gone; a stale entry only costs a line in the catalog
            log.warning("could not remove the catalog entry of %s: %s", removed, exc)
        audit.record(self.ctx.audit, caller, audit.DELETE, removed)
        return {"source": removed, **self._after_change(caller, reindex)}

    def edit(self, caller: Caller, source: str, fields: dict[str, str], reindex: bool = True) -> dict[str, Any]:
        """Change a document's catalog entry; the re-index that follows re-embeds it."""
        path = inside(self.corpus, source)
        if path is None or not path.is_file() or source not in {s for _, s in discover(self.corpus)[0]}:
            raise ApiError(404, "document_not_found", t("document.not_in_corpus", name=source[:120]))
        before = catalog.read_catalog(self.corpus)[0].get(source, {})
        try:
            entry = catalog.update_entry(self.corpus, source, fields)
        except CatalogError as exc:
            raise catalog_error(exc) from None
        changed = {k: [before.get(k, ""), entry.get(k, "")] for k in set(before) | set(entry)
                   if before.get(k, "") != entry.get(k, "")}
        audit.record(self.ctx.audit, caller, audit.METADATA, source, changed=changed)
        return {"source": source, "catalog": entry, **self._after_change(caller, reindex)}

    def reindex(self, caller: Caller) -> dict[str, Any]:
        """A re-index job (or a place behind the running one); 503 when the job state cannot be written."""
        try:
            ticket = self.ctx.jobs.request(CHANNEL)
        except WegwijzerError as exc:  # e.g. the data directory is read-only
            log.warning("could not request a re-index: %s", exc)
            raise ApiError(503, "reindex_unavailable", str(exc)) from exc
        audit.record(self.ctx.audit, caller, audit.REINDEX, ticket.job.id)
        return ticket_dict(ticket)


def get_ops(ctx: Ctx) -> AdminOps:
    return AdminOps(ctx)


Ops = Annotated[AdminOps, Depends(get_ops)]
