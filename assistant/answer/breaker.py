"""A circuit breaker for the language model endpoint: stop waiting on a model that does not answer.

Closed (the normal state), every question goes to the model. A timeout opens the breaker at once (it
cost a person seconds of waiting: the next one must not pay it too); quick failures (a refused
connection, an HTTP error, a malformed reply) open it after ``failures`` in a row. Open, questions get
the quoted (extractive) answer at once, without a call, for ``cooldown_s``. Then it is half-open: one
question (the probe) goes to the model while the others still get the quoted answer; if the probe's
answer comes, the breaker closes, else it opens for another cool-down.

The state is a small JSON file (in the data directory) that every process of one installation reads
and writes under ``flock``: the web server's workers, the Telegram bot and the CLI share one breaker
per endpoint, so a hung endpoint costs its wait to one question, not to one per process. The file
names the endpoint it describes; a state written for another endpoint is ignored. Without a file (or
when it cannot be written) the breaker keeps its state in this process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any

from assistant.messages import CATALOG, DEFAULT_LANGUAGE, t

log = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATES = (CLOSED, HALF_OPEN, OPEN)


@dataclass(frozen=True)
class CircuitState:
    """The breaker's state; times are Unix times (shared by processes, so not a monotonic clock)."""

    state: str = CLOSED
    failures: int = 0  # failures in a row
    reason: str = ""  # the last failure's reason (assistant.answer.llm's constants)
    opened_at: float = 0.0
    retry_at: float = 0.0  # open: when a probe may go
    probe_until: float = 0.0  # half-open: the probe in flight holds its slot until then
    endpoint: str = ""

    def shown(self, now: float) -> str:
        """The state as people should read it: an open breaker whose cool-down is over is half-open."""
        return HALF_OPEN if self.state == OPEN and now >= self.retry_at else self.state


def describe(circuit: CircuitState, now: float | None = None) -> dict[str, Any]:
    """The state as /readyz and `wegwijzer status` report it: the state, and what it means in Dutch."""
    now = time.time() if now is None else now
    state = circuit.shown(now)
    report: dict[str, Any] = {"circuit": state, "failures": circuit.failures}
    if state == CLOSED:
        report["message"] = t("llm.circuit.closed")
        return report
    key = f"llm.reason.{circuit.reason}"  # the file is shared: an unknown reason is shown as it is, never a crash
    reason = t(key) if key in CATALOG[DEFAULT_LANGUAGE] else circuit.reason
    seconds = max(0, math.ceil(circuit.retry_at - now))
    report.update(reason=circuit.reason, retry_in_s=seconds,
                  message=t(f"llm.circuit.{state}", reason=reason, failures=circuit.failures, seconds=seconds))
    return report


class CircuitBreaker:
    """One endpoint's breaker (thread-safe; shared through ``path`` by every process that names it)."""

    def __init__(self, endpoint: str, path: Path | None = None, failures: int = 3, cooldown_s: float = 30.0,
                 probe_s: float = 20.0, clock: Callable[[], float] = time.time) -> None:
        if failures < 1 or cooldown_s < 0 or probe_s <= 0:
            raise ValueError("failures must be >= 1, cooldown_s >= 0 and probe_s > 0")
        self.endpoint = endpoint
        self.path = path
        self.failures = failures
        self.cooldown_s = cooldown_s
        self.probe_s = probe_s
        self.clock = clock
        self._lock = threading.Lock()
        self._memory = CircuitState(endpoint=endpoint)

    # ------------------------------------------------------------ the state, in a file or in memory

    @contextlib.contextmanager
    def _locked(self, write: bool) -> Iterator[tuple[CircuitState, list[CircuitState]]]:
        """The current state; a state appended to the list is stored when the block ends."""
        with self._lock:
            out: list[CircuitState] = []
            fh = self._open() if self.path is not None else None
            if fh is None:
                yield self._memory, out
                if out:
                    self._memory = out[-1]
                return
            with fh:
                fcntl.flock(fh, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
                current = self._read(fh)
                yield current, out
                if out and write:
                    try:
                        fh.seek(0)
                        fh.truncate()
                        fh.write(json.dumps(asdict(out[-1])))
                        fh.flush()
                    except OSError as exc:
                        log.warning("cannot store the language model's circuit state in %s (%s); "
                                    "keeping it in this process", self.path, exc)
                        self.path = None
                    self._memory = out[-1]

    def _open(self) -> IO[str] | None:
        assert self.path is not None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning("cannot open the language model's circuit state %s (%s); keeping it in this process",
                        self.path, exc)
            self.path = None
            return None
        return os.fdopen(fd, "r+", encoding="utf-8")

    def _read(self, fh: IO[str]) -> CircuitState:
        fh.seek(0)
        try:
            data = json.loads(fh.read() or "{}")
            state = CircuitState(**{k: data[k] for k in CircuitState.__dataclass_fields__ if k in data})
        except (ValueError, TypeError):
            state = CircuitState(endpoint=self.endpoint)  # damaged: start closed
        if state.endpoint != self.endpoint or state.state not in STATES:
            return CircuitState(endpoint=self.endpoint)  # written for another endpoint (settings changed)
        return state

    # ------------------------------------------------------------ the breaker

    def state(self) -> CircuitState:
        """The state now (for /readyz, /metrics, status)."""
        with self._locked(write=False) as (current, _):
            return current

    def allow(self) -> bool:
        """Whether this call may go to the model: closed, or this caller is the half-open probe."""
        now = self.clock()
        current = self.state()  # the common case (closed) reads under a shared lock and writes nothing
        if current.state == CLOSED:
            return True
        if current.state == OPEN and now < current.retry_at:
            return False
        if current.state == HALF_OPEN and now < current.probe_until:
            return False
        with self._locked(write=True) as (current, out):
            if current.state == CLOSED:
                return True
            if (current.state == OPEN and now < current.retry_at) or \
                    (current.state == HALF_OPEN and now < current.probe_until):
                return False  # another process took the probe meanwhile
            out.append(replace(current, state=HALF_OPEN, probe_until=now + self.probe_s))
        log.info("the language model's circuit is half-open: one question tries the model again")
        return True

    def success(self) -> None:
        """A call got its whole answer: the endpoint works."""
        if self.state() == CircuitState(endpoint=self.endpoint):
            return  # closed without failures: nothing to write
        with self._locked(write=True) as (current, out):
            out.append(CircuitState(endpoint=self.endpoint))
        if current.state != CLOSED:
            log.warning("the language model answers again: its circuit is closed")

    def failure(self, reason: str, costly: bool) -> None:
        """A call failed; ``costly`` when a person waited for it (a timeout): that opens the breaker at once."""
        now = self.clock()
        with self._locked(write=True) as (current, out):
            failures = current.failures + 1
            if costly or failures >= self.failures or current.state != CLOSED:
                out.append(replace(current, state=OPEN, failures=failures, reason=reason, opened_at=now,
                                   retry_at=now + self.cooldown_s, probe_until=0.0))
            else:
                out.append(replace(current, failures=failures, reason=reason))
        if out[-1].state == OPEN:
            log.warning("the language model failed (%s, %d in a row): its circuit is open; questions get the "
                        "quoted answer at once for %g s", reason, failures, self.cooldown_s)
