"""The one logging configuration of every Wegwijzer process: the web service and its uvicorn workers (with
the access log), the watcher, the re-index job process, the Telegram bot and the CLI.

Every line carries a timestamp (ISO 8601, local time with its UTC offset, milliseconds), the level, the
process role and pid, and the logger. ``WEGWIJZER_LOG_FORMAT=json`` gives one JSON object per line instead,
for a log shipper. Standard-library ``logging`` with one small formatter: a library (structlog,
python-json-logger) would add a dependency for the ~30 lines below.

The format is read from the environment here rather than from :class:`assistant.config.Settings`, because
logging is set up before the settings are parsed (a settings error is itself logged and printed) and in
uvicorn's spawned workers, which get it through :func:`uvicorn_log_config`.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import time
from collections.abc import Mapping
from typing import Any

from assistant.errors import ConfigError

LOG_FORMAT_ENV = "WEGWIJZER_LOG_FORMAT"
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(role)s[%(process)d] %(name)s: %(message)s"
# Chatty below WARNING: one line per HTTP request of the Telegram bot's long polling, per model file read, ...
QUIET_LOGGERS = ("httpx", "httpcore", "telegram.ext", "apscheduler", "filelock", "urllib3", "bm25s",
                 "sentence_transformers", "transformers", "huggingface_hub", "multipart", "asyncio")
# The record attributes every LogRecord has; anything else was passed with ``extra=`` and goes into JSON.
# (uvicorn's ``color_message`` is its message with terminal colour codes: noise in a log file.)
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "role",
                                                                              "color_message"}


def log_format(env: Mapping[str, str] | None = None) -> str:
    """``text`` (default) or ``json``; anything else is a configuration error that names the variable."""
    from assistant.messages import t

    raw = ((os.environ if env is None else env).get(LOG_FORMAT_ENV) or "").strip().lower()
    if not raw:
        return "text"
    if raw not in FORMATS:
        raise ConfigError(t("config.log_format", name=LOG_FORMAT_ENV, value=raw, choices=", ".join(FORMATS)))
    return raw


def _timestamp(created: float) -> str:
    local = time.localtime(created)
    offset = time.strftime("%z", local)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{int(created % 1 * 1000):03d}"
            + f"{offset[:3]}:{offset[3:]}")


class Formatter(logging.Formatter):
    """Text or JSON lines with the process role (web, job, watch, telegram, cli) and an ISO timestamp."""

    def __init__(self, role: str = "", fmt: str | None = None) -> None:
        super().__init__(TEXT_FORMAT)
        self.role = role or os.environ.get("WEGWIJZER_LOG_ROLE", "") or "wegwijzer"
        self.json = (fmt or _safe_format()) == "json"

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        return _timestamp(record.created)

    def format(self, record: logging.LogRecord) -> str:
        role = f"wegwijzer-{self.role}" if self.role != "wegwijzer" else self.role
        record.role = role  # type: ignore[attr-defined]  # the %(role)s of the text format
        if not self.json:
            return super().format(record)
        out: dict[str, Any] = {"time": _timestamp(record.created), "level": record.levelname,
                               "process": role, "pid": record.process, "logger": record.name,
                               "message": record.getMessage()}
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            out.update(client=client, method=method, path=path, http_version=version, status=status)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def _safe_format() -> str:
    try:
        return log_format()
    except ConfigError:  # already reported by configure_logging; a worker falls back rather than dying
        return "text"


def dict_config(role: str, level: int | str = logging.INFO) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of a process: one stderr handler on the root, everything propagates."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"wegwijzer": {"()": "assistant.logs.Formatter", "role": role}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "wegwijzer",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's own handlers would print its lines a second time, in its own format, without a time
            **{name: {"handlers": [], "propagate": True, "level": "INFO"}
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
            **{name: {"level": "WARNING"} for name in QUIET_LOGGERS},
        },
    }


def configure_logging(role: str, level: int | str = logging.INFO) -> None:
    """Apply the one configuration in this process. ``role`` names it in every line: web, job, watch, ..."""
    fmt = log_format()  # a bad WEGWIJZER_LOG_FORMAT is refused before anything is logged
    os.environ["WEGWIJZER_LOG_ROLE"] = role  # uvicorn's spawned workers build their formatter from it
    logging.config.dictConfig(dict_config(role, level))
    logging.captureWarnings(True)
    log = logging.getLogger(__name__)
    log.debug("logging as %s in the %s format", role, fmt)


def uvicorn_log_config(role: str = "web") -> dict[str, Any]:
    """What ``uvicorn.run(log_config=...)`` applies in the server and in each worker it spawns."""
    return dict_config(role, logging.INFO)
