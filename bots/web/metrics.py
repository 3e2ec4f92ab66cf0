"""Prometheus metrics with prometheus-client; in multiprocess mode when ``serve()`` runs the service.

``serve()`` points ``PROMETHEUS_MULTIPROC_DIR`` at a directory under the data directory (emptied at
start-up) before any worker imports prometheus-client. Every worker then writes its samples to its own
memory-mapped files there and a scrape of any worker reads them all, so with ``--workers N`` each scrape
shows the totals of all workers instead of one worker's share. Without that variable (tests, an app
built by hand) each :class:`Metrics` keeps its own registry in this process.

Route labels use the route template (``/documents/{source:path}``), never the raw path, so label
cardinality stays bounded.
"""

from __future__ import annotations

import glob
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

from assistant.answer.breaker import STATES, CircuitState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def multiprocess_dir() -> str | None:
    """The multiprocess directory this process writes to, or None (one registry per Metrics)."""
    return os.environ.get(MULTIPROC_ENV) or None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_dead_workers(path: str) -> None:
    """Drop the live gauges of worker processes that are gone (crashed or restarted by uvicorn)."""
    from prometheus_client import multiprocess

    pids = {int(m.group(1)) for name in glob.glob(os.path.join(path, "gauge_live*.db"))
            if (m := _LIVE_FILE.fullmatch(os.path.basename(name)))}
    for pid in pids:
        if pid != os.getpid() and not _alive(pid):
            multiprocess.mark_process_dead(pid, path)


class _FeedbackCollector:
    """Feedback totals straight from the shared SQLite store at scrape time (web and Telegram votes)."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily

        counts = self.counts()
        family = CounterMetricFamily("wegwijzer_feedback", "Feedback votes stored (all channels).",
                                     labels=["helpful"])
        family.add_metric(["true"], counts.get("helpful", 0))
        family.add_metric(["false"], counts.get("not_helpful", 0))
        yield family


class _CircuitCollector:
    """The language model's circuit breaker at scrape time, from the state every worker shares (a file)."""

    def __init__(self, circuit: Callable[[], CircuitState | None]) -> None:
        self.circuit = circuit

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        circuit = self.circuit()
        if circuit is None:  # no language model configured
            return
        shown = circuit.shown(time.time())
        family = GaugeMetricFamily("wegwijzer_llm_circuit",
                                   "The language model's circuit breaker: 1 for its state (closed: questions go to "
                                   "the model; open: they get the quoted answer at once; half_open: one question "
                                   "tries the model again).", labels=["state"])
        for state in STATES:
            family.add_metric([state], 1.0 if state == shown else 0.0)
        yield family
        yield GaugeMetricFamily("wegwijzer_llm_circuit_failures",
                                "Failures of the language model in a row (0 after an answer came).",
                                value=circuit.failures)


class Metrics:
    """Request, latency, answer and rate-limit metrics of this process (and, in multiprocess mode, all)."""

    def __init__(self, feedback_counts: Callable[[], dict[str, int]],
                 llm_circuit: Callable[[], CircuitState | None] = lambda: None) -> None:
        import prometheus_client
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values

        prometheus_client.disable_created_metrics()  # *_created series are not kept in multiprocess mode
        self.path = multiprocess_dir()
        if self.path is not None and values.ValueClass is values.MutexValue:
            raise RuntimeError(f"{MULTIPROC_ENV} was set after prometheus_client was imported; "
                               "the metrics of this worker would be missing from every scrape")
        self._feedback = _FeedbackCollector(feedback_counts)
        self._circuit = _CircuitCollector(llm_circuit)
        # In multiprocess mode the samples live in files, and a fresh registry reads them per scrape.
        self._registry = None if self.path is not None else CollectorRegistry()
        if self._registry is not None:
            self._registry.register(self._feedback)
            self._registry.register(self._circuit)
        reg = self._registry
        self.requests = Counter("wegwijzer_http_requests", "HTTP requests by method, route template and status.",
                                ["method", "route", "status"], registry=reg)
        self.latency = Histogram("wegwijzer_http_request_duration_seconds", "Time to answer HTTP requests.",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=reg)
        self.answers = Counter("wegwijzer_answers", "Answers given, by whether the documents held an answer.",
                               ["found"], registry=reg)
        self.rate_limited = Counter("wegwijzer_rate_limited", "Requests refused by a per-client rate limit.",
                                    ["limit"], registry=reg)
        self.cors_refused = Counter("wegwijzer_cors_refused",
                                    "Browser requests from a page whose origin is not in WEGWIJZER_CORS_ORIGINS.",
                                    registry=reg)
        self.llm_answers = Counter("wegwijzer_llm_answers",
                                   "Questions sent to the language model, by outcome: generated, declined, "
                                   "unsupported (nothing survived verification), fallback_<reason> (extractive "
                                   "answer instead), rewrite_failed.", ["outcome"], registry=reg)
        self.llm_sentences = Counter("wegwijzer_llm_sentences",
                                     "Sentences the language model wrote, kept or removed by verification.",
                                     ["verdict"], registry=reg)
        self.index_info = Gauge("wegwijzer_index_info", "Index versions in service (1 when a worker serves it).",
                                ["version"], multiprocess_mode="livemax", registry=reg)
        self.started = Gauge("wegwijzer_process_start_time_seconds",
                             "Start time of the oldest running server process (Unix time).",
                             multiprocess_mode="livemin", registry=reg)
        self.started.set(time.time())
        self._version = ""

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_answer(self, found: bool, index_version: str = "") -> None:
        self.answers.labels("true" if found else "false").inc()
        if index_version:
            self.serving(index_version)

    def llm_outcome(self, outcome: str) -> None:
        """One generated answer's outcome (assistant.service.GenerationObserver)."""
        self.llm_answers.labels(outcome).inc()

    def llm_sentences_checked(self, kept: int, removed: int) -> None:
        if kept:
            self.llm_sentences.labels("kept").inc(kept)
        if removed:
            self.llm_sentences.labels("removed").inc(removed)

    def observe_rate_limited(self, limit: str) -> None:
        self.rate_limited.labels(limit).inc()

    def observe_cors_refused(self) -> None:
        self.cors_refused.inc()

    def serving(self, index_version: str) -> None:
        """The index version this process answers from ("" when none is loaded)."""
        if index_version == self._version:
            return
        if self._version:
            self.index_info.labels(self._version).set(0)
        if index_version:
            self.index_info.labels(index_version).set(1)
        self._version = index_version

    def render(self, index_version: str) -> bytes:
        """The exposition text: this process's registry, or every worker's files in multiprocess mode."""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess

        self.serving(index_version)
        if self._registry is not None:
            return generate_latest(self._registry)
        assert self.path is not None
        mark_dead_workers(self.path)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.path)
        registry.register(self._feedback)
        registry.register(self._circuit)
        return generate_latest(registry)

    def close(self) -> None:
        """At worker shutdown: its live gauges leave the totals (its counters stay in them)."""
        if self.path is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self.path)


class MetricsMiddleware:
    """Pure ASGI middleware: counts every HTTP request and its latency by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(scope.get("method", ""), template, status,
                                         time.perf_counter() - started)
