"""Prometheus metrics, written by hand in the text exposition format (no extra dependency).

Counters live in this process; with several uvicorn workers each worker reports its own, which
Prometheus sums per instance label as usual. Route labels use the route template
(``/documents/{source:path}``), never the raw path, so label cardinality stays bounded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class _Histogram:
    def __init__(self) -> None:
        self.buckets = [0] * len(LATENCY_BUCKETS)
        self.count = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.sum += seconds
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1


class Metrics:
    """Thread-safe request, latency and answer counters for one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = {}
        self.latency: dict[tuple[str, str], _Histogram] = {}
        self.answers = {"true": 0, "false": 0}
        self.started = time.time()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (method, route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            self.latency.setdefault((method, route), _Histogram()).observe(seconds)

    def observe_answer(self, found: bool) -> None:
        with self._lock:
            self.answers["true" if found else "false"] += 1

    def render(self, feedback: dict[str, int], index_version: str, ready: bool) -> str:
        """The exposition text; ``feedback`` are the stored totals (shared by web and Telegram)."""
        out: list[str] = []
        with self._lock:
            out += ["# HELP wegwijzer_http_requests_total HTTP requests by method, route template and status.",
                    "# TYPE wegwijzer_http_requests_total counter"]
            for (method, route, status), n in sorted(self.requests.items()):
                out.append(f"wegwijzer_http_requests_total{_labels(method=method, route=route, status=status)} {n}")
            out += ["# HELP wegwijzer_http_request_duration_seconds Time to answer HTTP requests.",
                    "# TYPE wegwijzer_http_request_duration_seconds histogram"]
            for (method, route), h in sorted(self.latency.items()):
                for bound, n in zip(LATENCY_BUCKETS, h.buckets, strict=True):
                    labels = _labels(method=method, route=route, le=f"{bound:g}")
                    out.append(f"wegwijzer_http_request_duration_seconds_bucket{labels} {n}")
                labels = _labels(method=method, route=route, le="+Inf")
                out.append(f"wegwijzer_http_request_duration_seconds_bucket{labels} {h.count}")
                base = _labels(method=method, route=route)
                out.append(f"wegwijzer_http_request_duration_seconds_sum{base} {h.sum:.6f}")
                out.append(f"wegwijzer_http_request_duration_seconds_count{base} {h.count}")
            out += ["# HELP wegwijzer_answers_total Answers given, by whether the documents held an answer.",
                    "# TYPE wegwijzer_answers_total counter"]
            for found, n in sorted(self.answers.items()):
                out.append(f"wegwijzer_answers_total{_labels(found=found)} {n}")
        out += ["# HELP wegwijzer_feedback_total Feedback votes stored (all channels).",
                "# TYPE wegwijzer_feedback_total counter",
                f"wegwijzer_feedback_total{_labels(helpful='true')} {feedback.get('helpful', 0)}",
                f"wegwijzer_feedback_total{_labels(helpful='false')} {feedback.get('not_helpful', 0)}",
                "# HELP wegwijzer_index_info The index version in service (1 when an index is loaded).",
                "# TYPE wegwijzer_index_info gauge",
                f"wegwijzer_index_info{_labels(version=index_version)} {1 if ready else 0}",
                "# HELP wegwijzer_process_start_time_seconds Start time of this process (Unix time).",
                "# TYPE wegwijzer_process_start_time_seconds gauge",
                f"wegwijzer_process_start_time_seconds {self.started:.3f}"]
        return "\n".join(out) + "\n"


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
