"""Telegram's flood limits, per chat: a 429 for one chat holds back only that chat.

python-telegram-bot's ``AIORateLimiter`` answers a 429 (``retry_after``) by pausing *every* request of
the bot until the wait is over, so one person who hit a chat limit delayed everybody's answers by up to
``retry_after`` seconds (20 s was seen). Telegram's limits are mostly per chat (about one message a
second in a chat, 20 a minute in a group); the bot-wide limit (about 30 messages a second) is kept
proactively below, so a 429 is taken to be about the chat it came for.

Proactive pacing as in AIORateLimiter, with aiolimiter (its dependency): 30 requests a second overall
for requests to a chat, 20 a minute per group. Requests that name no chat (getUpdates,
answerCallbackQuery, ...) share one key of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]


def retry_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds (an int or a timedelta, depending on the python-telegram-bot version)."""
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


class PerChatRateLimiter(BaseRateLimiter[int]):
    """A BaseRateLimiter whose 429 waits are per chat; retries a request up to ``max_retries`` times."""

    def __init__(self, max_retries: int = 3, overall_per_second: float = 30, group_per_minute: float = 20) -> None:
        self.max_retries = max_retries
        self._overall = AsyncLimiter(overall_per_second, 1)
        self._group_rate = group_per_minute
        self._groups: dict[str, AsyncLimiter] = {}
        self._blocked_until: dict[str, float] = {}  # chat key -> loop time before which it must wait

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def _group(self, key: str) -> AsyncLimiter:
        limiter = self._groups.get(key)
        if limiter is None:
            if len(self._groups) > 10_000:
                self._groups.clear()  # idle limiters carry no state worth keeping
            limiter = self._groups[key] = AsyncLimiter(self._group_rate, 60)
        return limiter

    def blocked_for(self, chat_id: int | str | None) -> float:
        """Seconds a request to ``chat_id`` would still wait for an earlier 429 (0 when none)."""
        key = "" if chat_id is None else str(chat_id)
        return max(0.0, self._blocked_until.get(key, 0.0) - asyncio.get_running_loop().time())

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, JSON]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> JSON:
        chat_id = data.get("chat_id")
        key = "" if chat_id is None else str(chat_id)
        is_group = key.startswith("-") or (chat_id is not None and not key.lstrip("-").isdigit())
        retries = rate_limit_args if rate_limit_args is not None else self.max_retries
        loop = asyncio.get_running_loop()
        for attempt in range(retries + 1):
            wait = self._blocked_until.get(key, 0.0) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                async with contextlib.AsyncExitStack() as pacing:
                    if chat_id is not None:
                        if is_group:
                            await pacing.enter_async_context(self._group(key))
                        await pacing.enter_async_context(self._overall)
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                delay = retry_seconds(exc) + 0.1
                if len(self._blocked_until) > 10_000:
                    now = loop.time()
                    self._blocked_until = {k: v for k, v in self._blocked_until.items() if v > now}
                self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), loop.time() + delay)
                log.info("Telegram flood limit for %s: waiting %.1f s (retry %d of %d)",
                         "a chat" if key else endpoint, delay, attempt + 1, retries)
        raise AssertionError("unreachable")  # pragma: no cover
