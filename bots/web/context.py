"""What the web service loads once at startup and hands to its endpoints (STYLE habit 8)."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from assistant import Assistant
from assistant import index as idx
from assistant.answer.breaker import CircuitState
from assistant.answer.llm import breaker_for
from assistant.config import Settings
from assistant.errors import DatabaseUnavailableError, IndexNotFoundError, ModelMismatchError, WegwijzerError
from assistant.model.embedding import Embedder, embedder_for
from assistant.stores.audit import AuditStore
from assistant.stores.factory import open_stores
from assistant.stores.feedback import hash_user
from bots.ratelimit import open_limiter
from bots.texts import t
from ingest.jobs import Reindexer

from .errors import ApiError
from .metrics import Metrics
from .session import Sessions

if TYPE_CHECKING:
    from .oidc import Oidc

log = logging.getLogger(__name__)


class WebContext:
    """The assistant (once an index exists), the embedder, the feedback store, metrics and re-index jobs.

    Re-indexing never runs here: ``jobs`` starts a separate job process and reads the job state that
    every worker shares; the assistant notices the version it publishes.
    """

    RETRY_LOAD_EVERY_S = 1.0

    def __init__(self, settings: Settings, assistant: Assistant | None = None,
                 embedder: Embedder | None = None, jobs: Reindexer | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or (assistant.embedder if assistant is not None else None)
        self._assistant = assistant
        self._owns_assistant = assistant is None  # one it loads itself, it closes at shutdown
        self._lock = threading.Lock()
        self._last_try = 0.0
        self._failed_version: str | None = None
        self.problem = ""  # why the service is not ready, in Dutch
        self.problem_code = ""
        # With WEGWIJZER_DATABASE_URL all of these live in the shared database: a replica keeps no state.
        self.stores = open_stores(settings)
        self.index = idx.open_store(settings)
        self.store = self.stores.feedback()
        # The breaker's state is a file every worker shares: readable before the assistant is loaded.
        self._circuit = breaker_for(settings) if settings.llm_enabled else None
        self.metrics = Metrics(self.store.counts, self.llm_circuit)
        if assistant is not None and getattr(assistant, "observer", None) is None:
            assistant.observer = self.metrics  # generated answers are counted in /metrics
        self.limiter = open_limiter(settings)
        self._salt = ""
        self.jobs = jobs or Reindexer(settings)
        self.sessions = Sessions(self.stores.sessions(), settings.admin_token,
                                 settings.admin_session_minutes * 60.0, oidc=settings.oidc_enabled)
        self._audit: AuditStore | None = None
        self.oidc: Oidc | None = None  # the identity provider, when sign-in through it is configured (app.py)

    def llm_circuit(self) -> CircuitState | None:
        """The language model's circuit breaker (the loaded assistant's, else the shared state); None without one."""
        assistant = self._assistant
        if assistant is not None:
            return assistant.llm_circuit()
        return self._circuit.state() if self._circuit is not None else None

    @property
    def audit(self) -> AuditStore:
        """The audit trail in the configured store, opened (and purged of expired records) on first use."""
        if self._audit is None:
            audit = self.stores.audit()
            try:  # records past WEGWIJZER_AUDIT_RETENTION_DAYS go when the trail is first opened
                audit.purge()
            except WegwijzerError as exc:
                log.warning("could not remove old audit records: %s", exc)
            self._audit = audit
        return self._audit

    def check_database(self) -> None:
        """A 503 with a Dutch reason while the database cannot be reached (nothing to check without one)."""
        try:
            self.stores.check()
        except DatabaseUnavailableError as exc:
            log.warning("database unavailable: %s", exc)
            raise ApiError(503, "database_unavailable", t("db.unavailable_public"),
                           headers={"Retry-After": "5"}) from exc

    def index_store(self) -> idx.IndexStore:
        """The index store (versions, manifests, last ingest): the one ``self.index`` opened at start."""
        return self.index

    def client_ref(self, address: str) -> str:
        """A pseudonym for a client address (salted with a secret kept in the data directory)."""
        if not self._salt:
            self._salt = self.stores.client_salt()
        return hash_user(address, self._salt)

    def open(self) -> None:
        """Background upkeep while the service runs: removing questions past their retention period."""
        self.store.start_purging()

    def close(self) -> None:
        """At shutdown (the store stays usable: tests may run an app's lifespan more than once; an assistant
        this context loaded itself is closed, and loaded again by the next start)."""
        self.store.stop_purging()
        self.metrics.close()
        self.limiter.close()
        self.sessions.close()
        if self._audit is not None:
            self._audit.close()
            self._audit = None
        if self._owns_assistant:
            with self._lock:
                assistant, self._assistant = self._assistant, None
            if assistant is not None:
                assistant.close()

    def start(self) -> None:
        """Load the model and the index; a missing index is a state (not ready), not a crash."""
        if self.embedder is None:
            try:
                self.embedder = embedder_for(self.settings)
            except WegwijzerError as exc:
                log.error("embedding model unavailable: %s", exc)
                self.problem, self.problem_code = t("service.not_ready"), "model_unavailable"
                return
        self._try_load(force=True)

    def _try_load(self, force: bool = False) -> Assistant | None:
        if self._assistant is not None:
            return self._assistant
        # readlink (or one row) is cheap: without a published version there is nothing to try yet.
        try:
            current = self.index.current_version()
        except WegwijzerError as exc:  # the database is unreachable: not ready, with the reason
            self.problem, self.problem_code = str(exc), "database_unavailable"
            return None
        if current is None:
            self.problem, self.problem_code = t("index.missing"), "index_missing"
            return None
        with self._lock:
            if self._assistant is not None:
                return self._assistant
            now = time.monotonic()
            retry_soon = current == self._failed_version and now - self._last_try < self.RETRY_LOAD_EVERY_S
            if self.embedder is None or (retry_soon and not force):
                return None
            self._last_try = now
            try:
                self._assistant = Assistant.load(settings=self.settings, embedder=self.embedder)
                self._assistant.observer = self.metrics
                self.problem = self.problem_code = ""
            except IndexNotFoundError:
                self.problem, self.problem_code = t("index.missing"), "index_missing"
            except ModelMismatchError as exc:
                self.problem, self.problem_code = str(exc), "model_mismatch"
            except WegwijzerError as exc:
                log.error("index cannot be loaded: %s", exc)
                self.problem, self.problem_code = t("service.not_ready"), "index_unavailable"
            if self._assistant is None:
                self._failed_version = current
            return self._assistant

    @property
    def ready(self) -> bool:
        return self._try_load() is not None

    def catch_up(self) -> None:
        """Serve the published version now, not at the follow thread's next look. The admin routes call this
        before they report a re-index as done or a document's audience as published: what /beheer says is in
        force in this process (an audience narrowed a moment ago must not still answer here). A version that
        cannot be loaded is logged by the follow thread; this keeps serving the old one."""
        assistant = self._assistant
        if assistant is None:
            self._try_load()
            return
        try:
            if assistant.refresh():
                log.info("now serving index version %s", assistant.version)
        except Exception as exc:  # a damaged version or an unreachable database: the old version stays
            log.warning("could not switch to the published index; still serving %s: %s", assistant.version, exc)

    def assistant(self) -> Assistant:
        """The assistant, or a 503 with a Dutch reason while there is no usable index."""
        assistant = self._try_load()
        if assistant is None:
            raise ApiError(503, self.problem_code or "not_ready", self.problem or t("service.not_ready"),
                           headers={"Retry-After": "5"})
        return assistant


def get_context(request: Request) -> WebContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def get_assistant(request: Request) -> Assistant:
    return get_context(request).assistant()


Ctx = Annotated[WebContext, Depends(get_context)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
