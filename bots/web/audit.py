"""What the web service writes to the audit trail, and how it reads it back for people and scripts.

Recorded: sign-in, failed sign-in, sign-out, role change, upload, delete, metadata change, re-index, and
admin requests refused for want of a role; each with who (the identity provider's subject, or
``beheertoken``), their role, from where (the client address), what it happened to and the details.
The store is the state layer's append-only ``assistant.stores.audit`` (SQLite or PostgreSQL, kept
``WEGWIJZER_AUDIT_RETENTION_DAYS``); the person's display name and how they signed in ride in ``detail``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from typing import Any

from assistant.errors import WegwijzerError
from assistant.stores.audit import MAX_LIMIT, AuditFilter, AuditRecord, AuditStore

from .identity import Caller

log = logging.getLogger(__name__)

SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, ROLE_CHANGE = "sign_in", "sign_in_failed", "sign_out", "role_change"
UPLOAD, DELETE, METADATA, REINDEX, FORBIDDEN = "upload", "delete", "metadata", "reindex", "forbidden"
ACTIONS = (SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, ROLE_CHANGE, UPLOAD, DELETE, METADATA, REINDEX, FORBIDDEN)
PURGE_EVERY_S = 3600.0  # records past their retention period leave at most this long after
_purged = {"at": 0.0}
_purge_lock = threading.Lock()


def record(store: AuditStore, caller: Caller, action: str, target: str = "", **detail: Any) -> None:
    """Record; a store that cannot write never turns a change already made into an error: it is logged loudly."""
    p = caller.principal
    try:
        store.record(p.subject, p.role, action, target, {"name": p.name, "via": p.via, **detail}, caller.address)
        _purge_now_and_then(store)
    except (WegwijzerError, sqlite3.Error, OSError) as exc:
        log.error("AUDIT NOT RECORDED (%s): %s", exc, json.dumps(
            {"subject": p.subject, "action": action, "target": target, "address": caller.address, **detail},
            ensure_ascii=False, default=str))


def _purge_now_and_then(store: AuditStore) -> None:
    now = time.time()
    with _purge_lock:
        if now - _purged["at"] < PURGE_EVERY_S:
            return
        _purged["at"] = now
    removed = store.purge(now)
    if removed:
        log.info("audit trail: %d records past their retention period removed", removed)


def as_dict(r: AuditRecord) -> dict[str, Any]:
    """One event as the API and the page show it: who (subject, name, role, via), what, when, from where."""
    detail = dict(r.detail)
    name, via = str(detail.pop("name", "") or ""), str(detail.pop("via", "") or "")
    return {"id": r.id, "at": r.at, "action": r.action, "subject": r.actor, "name": name, "role": r.role,
            "via": via, "address": r.address, "target": r.target, "detail": detail}


def recent(store: AuditStore, limit: int = MAX_LIMIT, where: AuditFilter | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` events, newest first (read a page at a time)."""
    out: list[dict[str, Any]] = []
    while len(out) < limit:
        want = min(MAX_LIMIT, limit - len(out))
        page = store.list(want, len(out), where)
        out.extend(as_dict(r) for r in page)
        if len(page) < want:
            break
    return out


def last_role(store: AuditStore, subject: str) -> str | None:
    """The role ``subject`` had at their previous sign-in, if any."""
    page = store.list(1, 0, AuditFilter(actor=subject, action=SIGN_IN))
    return page[0].role if page else None
