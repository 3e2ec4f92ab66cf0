"""What every log line of a Wegwijzer process must look like (assistant/logs.py), for the process tests."""

from __future__ import annotations

import json
import re
from collections import Counter

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
                       r"(wegwijzer-[a-z]+)\[(\d+)\] [\w.]+: ")
# CPython's own shutdown warning from multiprocessing's resource tracker (a separate helper process that a
# killed uvicorn worker leaves its semaphores to): not a Wegwijzer process, and it writes to stderr directly.
TRACKER = re.compile(r"multiprocessing/resource_tracker\.py:\d+: UserWarning: resource_tracker: ")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


def log_roles(text: str, fmt: str = "text") -> Counter[str]:
    """Assert that every line is in the one format; count the lines per (role, logger family)."""
    seen: Counter[str] = Counter()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if TRACKER.search(line) or (i and TRACKER.search(lines[i - 1]) and line.startswith(" ")):
            continue
        if fmt == "json":
            record = json.loads(line)  # one object per line, nothing else
            assert TIME.match(record["time"]), line
            assert {"level", "process", "pid", "logger", "message"} <= record.keys(), line
            role, logger = record["process"], record["logger"]
        else:
            match = TEXT_LINE.match(line)
            assert match, f"not in the one log format: {line!r}"
            role, logger = match.group(2), line[match.end(3) + 2:].split(":", 1)[0]
        seen[f"{role} {logger}"] += 1
    return seen
