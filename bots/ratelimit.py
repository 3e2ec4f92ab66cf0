"""Per-client rate limits for the front ends: GCRA (a token bucket kept as one timestamp per client).

A limit of ``count`` per ``period`` lets a client make ``count`` requests at once and then one every
``period / count`` seconds. The state of a client is one number, its *theoretical arrival time* (TAT):
a request is allowed when the TAT it would leave behind is at most ``period`` ahead of now.

:class:`MemoryLimiter` for one process (the Telegram bot); :class:`SharedLimiter` with its buckets in the
configured state store (``assistant.stores.ratelimits``) for the web service: one file under the data
directory that its worker processes share, so ``serve --workers N`` does not hand a client N times its
limit, or the shared database when replicas share one (``WEGWIJZER_DATABASE_URL``): one limit per client
across all of them. :func:`open_limiter` takes the store from the state layer's factory. The shared stores key a
bucket by a salted hash of the client (``hash_user``, with the salt of the feedback pseudonyms), never its
address. Hand-written rather than
``limits``/``slowapi``: those share state between processes only through Redis or memcached, which a
municipal intranet server should not need for a few counters (bench/ratelimit.py measures the cost).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.hashing import hash_user
from assistant.stores.factory import open_stores
from assistant.stores.feedback import database_salt, local_salt
from assistant.stores.ratelimits import PostgresRateLimitStore, RateLimitStore, SqliteRateLimitStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """``count`` requests per ``period`` seconds per client; ``count == 0`` means no limit."""

    name: str
    count: int
    period: float

    def __post_init__(self) -> None:
        if self.count < 0 or self.period <= 0:
            raise ValueError(f"limit {self.name!r} needs count >= 0 and period > 0, got {self.count}/{self.period}")

    @property
    def interval(self) -> float:
        return self.period / self.count


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0  # seconds until the next request would be allowed (when refused)

    @property
    def retry_after_s(self) -> int:
        """Whole seconds for a Retry-After header or a message: rounded up, at least 1."""
        return max(1, math.ceil(self.retry_after))


ALLOWED = Decision(True)


def step(tat: float | None, now: float, limit: Limit) -> tuple[float | None, Decision]:
    """The GCRA step: (the TAT to store or None to leave it, the decision) for a request at ``now``."""
    new_tat = max(tat if tat is not None else now, now) + limit.interval
    ahead = new_tat - now - limit.period
    if ahead > 1e-9:
        return None, Decision(False, ahead)
    return new_tat, ALLOWED


class MemoryLimiter:
    """Limits kept in this process (thread-safe)."""

    PRUNE_EVERY = 1000

    def __init__(self) -> None:
        self._tat: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def hit(self, limit: Limit, client: str, now: float | None = None) -> Decision:
        if limit.count == 0:
            return ALLOWED
        now = time.time() if now is None else now
        key = (limit.name, client)
        with self._lock:
            new_tat, decision = step(self._tat.get(key), now, limit)
            if new_tat is not None:
                self._tat[key] = new_tat
            self._hits += 1
            if self._hits % self.PRUNE_EVERY == 0:  # forget clients whose bucket is full again
                self._tat = {k: v for k, v in self._tat.items() if v > now}
        return decision


    def used(self, limit: Limit, client: str, now: float | None = None) -> int:
        """How many of ``limit.count`` requests ``client`` has used now (the bucket's fill, rounded up)."""
        if limit.count == 0:
            return 0
        now = time.time() if now is None else now
        with self._lock:
            tat = self._tat.get((limit.name, client))
        return 0 if tat is None or tat <= now else min(limit.count, math.ceil((tat - now) / limit.interval - 1e-9))


class SharedLimiter:
    """Limits whose buckets live in a state store (``assistant.stores.ratelimits``), shared by processes or
    replicas: the GCRA step here, the atomic update there. Buckets are pruned now and then; when the store
    cannot be used the request is let through (with a warning at most once a minute): a rate limit must never
    take the service down."""

    PRUNE_EVERY_S = 60.0
    WARN_EVERY_S = 60.0

    def __init__(self, store: RateLimitStore, salt: Callable[[], str]) -> None:
        self.store = store
        self._next_prune = 0.0
        self._next_warning = 0.0
        self._salt_source = salt
        self._salt = ""

    def _key(self, limit: Limit, client: str) -> str:
        """The bucket's key: the limit's name and a salted hash of the client (its address is never stored)."""
        if not self._salt:
            self._salt = self._salt_source()
        return f"{limit.name}:{hash_user(client, self._salt)}"

    def _due_for_pruning(self, now: float) -> bool:
        if now < self._next_prune:
            return False
        self._next_prune = now + self.PRUNE_EVERY_S
        return True

    def hit(self, limit: Limit, client: str, now: float | None = None) -> Decision:
        if limit.count == 0:
            return ALLOWED
        now = time.time() if now is None else now
        try:
            found = self.store.admit(self._key(limit, client), now, limit.interval, limit.period)
            if found is None and self._due_for_pruning(now):
                self.store.prune(now)
        except self.store.errors as exc:
            if now >= self._next_warning:
                self._next_warning = now + self.WARN_EVERY_S
                log.warning("a request went through without its rate-limit check: %s",
                            self.store.describe_failure(exc))
            return ALLOWED
        if found is None:
            return ALLOWED
        _, decision = step(found[0], now, limit)
        return decision

    def close(self) -> None:
        self.store.close()


class SQLiteLimiter(SharedLimiter):
    """Limits shared by every process that opens the same file (the web service's workers)."""

    def __init__(self, path: Path, salt: Callable[[], str] | None = None) -> None:
        self.path = Path(path)
        super().__init__(SqliteRateLimitStore(self.path), salt or (lambda: local_salt(self.path.parent)))


class PostgresLimiter(SharedLimiter):
    """Limits shared by every replica on one database."""

    def __init__(self, url: str, salt: Callable[[], str] | None = None) -> None:
        from assistant.stores.pg import database

        self.db = database(url)
        super().__init__(PostgresRateLimitStore(self.db), salt or (lambda: database_salt(url)))


def open_limiter(settings: Settings) -> SharedLimiter:
    """The limiter shared by every process (and replica) that serves these settings."""
    stores = open_stores(settings)
    return SharedLimiter(stores.ratelimits(), stores.client_salt)
