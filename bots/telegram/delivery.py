"""Getting messages to Telegram: retries with backoff, plain-text fallback, the typing indicator.

Flood limits (429 with ``retry_after``) are the rate limiter's job (``flood.PerChatRateLimiter``, per
chat); this module handles the rest of what the network can do to a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError

from bots import render

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds to wait before each retry of a call that failed on the network (not on its content).
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
TYPING_EVERY_S = 4.0  # Telegram shows "typing…" for about 5 seconds per chat action


async def with_retries(call: Callable[[], Awaitable[T]], what: str,
                       delays: Sequence[float] = RETRY_DELAYS) -> T:
    """Run ``call``; on a network error (timeouts, dropped connections, 5xx) wait and try again.

    A BadRequest is Telegram refusing the content, so retrying would not help: it is raised at once,
    as is any error once the retries are used up.
    """
    for attempt in range(len(delays) + 1):
        try:
            return await call()
        except BadRequest:
            raise
        except NetworkError as exc:
            if attempt == len(delays):
                raise
            log.warning("%s failed (%s); retry %d of %d in %.1f s", what, exc, attempt + 1, len(delays),
                        delays[attempt])
            await asyncio.sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover


def is_formatting_error(exc: BadRequest) -> bool:
    """Whether Telegram refused a message for its HTML (and would accept the same words as plain text)."""
    text = str(exc).lower()
    return "can't parse entities" in text or "can't find end tag" in text or "unsupported start tag" in text


async def send_html(bot: Bot, chat_id: int, markup: str, *, keyboard: InlineKeyboardMarkup | None = None,
                    reply_to: int | None = None) -> Message:
    """Send one message of Telegram HTML; if Telegram refuses the formatting, send it again as plain text."""
    reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    try:
        return await with_retries(
            lambda: bot.send_message(chat_id, markup, parse_mode=ParseMode.HTML, reply_markup=keyboard,
                                     reply_parameters=reply),
            "sendMessage")
    except BadRequest as exc:
        if not is_formatting_error(exc):
            raise
        log.warning("Telegram refused the formatting (%s); sending plain text instead", exc)
        return await with_retries(
            lambda: bot.send_message(chat_id, render.html_to_text(markup), reply_markup=keyboard,
                                     reply_parameters=reply),
            "sendMessage (plain text)")


async def send_long_html(bot: Bot, chat_id: int, markup: str, *, keyboard: InlineKeyboardMarkup | None = None,
                         reply_to: int | None = None) -> list[Message]:
    """Send HTML of any length as consecutive messages under Telegram's limit; buttons go under the last."""
    pieces = render.split_html(markup)
    sent = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        sent.append(await send_html(bot, chat_id, piece, keyboard=keyboard if last else None,
                                    reply_to=reply_to if i == 0 else None))
    return sent


async def edit_html(bot: Bot, message: Message, markup: str, *, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Replace the text of a message the bot sent (plain-text fallback as for sending).

    Telegram refuses an edit that changes nothing ("message is not modified"); that is no error here.
    """
    try:
        await with_retries(lambda: message.edit_text(markup, parse_mode=ParseMode.HTML, reply_markup=keyboard),
                           "editMessageText")
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        if not is_formatting_error(exc):
            raise
        await with_retries(lambda: message.edit_text(render.html_to_text(markup), reply_markup=keyboard),
                           "editMessageText (plain)")


async def replace_long_html(bot: Bot, message: Message, markup: str, *,
                            keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Replace a message with HTML of any length: its first piece in the message, the rest sent after it."""
    pieces = render.split_html(markup)
    await edit_html(bot, message, pieces[0], keyboard=keyboard if len(pieces) == 1 else None)
    for i, piece in enumerate(pieces[1:], start=1):
        await send_html(bot, message.chat_id, piece, keyboard=keyboard if i == len(pieces) - 1 else None)


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat for as long as the block runs; a failed chat action is no reason to stop."""

    async def chat_action() -> None:
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:
            log.debug("sendChatAction failed: %s", exc)

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY_S)
            await chat_action()

    await chat_action()  # first, so the indicator shows before the answer can arrive
    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
