"""Wiring: settings checks, the python-telegram-bot Application, and running it (polling or webhook)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import re
import signal
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.stores.factory import open_stores
from bots.texts import t
from ingest.jobs import Reindexer

from . import handlers
from .access import AccessPolicy
from .flood import PerChatRateLimiter
from .state import STATE_KEY, AssistantLike, BotState

log = logging.getLogger(__name__)

# "<bot id>:<secret>", as BotFather hands it out; checked only for shape, Telegram checks the rest.
TOKEN_SHAPE = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,100}")
RATE_LIMIT_RETRIES = 3  # how often a 429 (retry_after) is waited out, in that chat only, before giving up
POLL_TIMEOUT_S = 30.0  # long-poll duration of one getUpdates
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)  # graceful stop: Ctrl-C, systemd, docker
UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
COMMANDS = [("start", "Welkom en uitleg"), ("help", "Hoe Wegwijzer werkt"),
            ("bronnen", "De documenten die Wegwijzer kent"), ("nieuw", "Begin een nieuw gesprek"),
            ("mijngegevens", "Wat Wegwijzer over jou bewaart"), ("vergeet", "Wis wat Wegwijzer over jou bewaart")]


def webhooks_available() -> bool:
    """Whether python-telegram-bot's webhook server (tornado, the [webhooks] extra) is installed."""
    return importlib.util.find_spec("tornado") is not None


def check_settings(settings: Settings) -> None:
    """Fail at startup, with a sentence an operator understands, on settings the bot cannot run with."""
    token = settings.telegram_token
    if not token:
        raise ConfigError(t("config.telegram_token_missing"))
    if not TOKEN_SHAPE.fullmatch(token):
        raise ConfigError(t("config.telegram_token_shape"))
    if urlsplit(settings.telegram_api_url).scheme not in ("http", "https"):
        raise ConfigError(t("config.telegram_api_url", value=settings.telegram_api_url))
    if not (settings.telegram_allowed_users or settings.telegram_join_code or settings.telegram_admin_users):
        raise ConfigError(t("config.telegram_nobody"))
    if settings.telegram_webhook_url:
        if urlsplit(settings.telegram_webhook_url).scheme != "https":
            raise ConfigError(t("config.telegram_webhook_https"))
        if not webhooks_available():
            raise ConfigError(t("config.telegram_webhooks_missing"))


def _salt(token: str) -> str:
    """A secret salt for pseudonymising chat ids, derived from the token so nothing else must be kept."""
    return hashlib.sha256(f"wegwijzer-telegram:{token}".encode()).hexdigest()


def _file_url(api_url: str) -> str:
    """The file download URL that goes with a Bot API URL (``.../bot`` -> ``.../file/bot``)."""
    return api_url[: -len("/bot")] + "/file/bot" if api_url.endswith("/bot") else api_url


REFUSED_TOKEN = t("config.telegram_refused")


class _Application(Application):  # type: ignore[type-arg]
    """Application whose startup says why it waits, and turns a refused token into a ConfigError.

    python-telegram-bot retries ``initialize`` (getMe) while Telegram is unreachable but logs that
    only at debug level, and logs a refused token with a traceback; an operator needs one clear line.
    """

    async def initialize(self) -> None:
        try:
            await super().initialize()
        except InvalidToken as exc:
            raise ConfigError(REFUSED_TOKEN) from exc  # not a TelegramError: the retry loop lets it through
        except NetworkError as exc:
            state: BotState = self.bot_data[STATE_KEY]
            url = state.settings.telegram_api_url  # not bot.base_url: that one ends in the token
            log.warning("Telegram is not reachable at %s (%s); retrying", url, exc)
            raise


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    """Load the assistant once (Telegram has accepted the token by now) and show the command menu."""
    state: BotState = app.bot_data[STATE_KEY]
    state.store.start_purging()  # questions older than WEGWIJZER_QUESTION_RETENTION_DAYS go, hourly
    if state.loaded is None:
        from assistant import Assistant

        log.info("loading the index and the model")
        state.loaded = await asyncio.to_thread(Assistant.load, settings=state.settings)
    try:
        await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
    except TelegramError as exc:  # a minimal Bot API server may not know the method; the menu is a nicety
        log.warning("could not set the command menu: %s", exc)
    log.info("Telegram bot @%s is running", app.bot.username)


async def _post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
    state: BotState = app.bot_data[STATE_KEY]
    await asyncio.to_thread(state.store.stop_purging)


def build_application(settings: Settings, assistant: AssistantLike | None = None, *,
                      jobs: Reindexer | None = None) -> Application:  # type: ignore[type-arg]
    """The bot, ready to run: handlers registered, feedback store (and assistant, if given) in ``bot_data``.

    Without ``assistant`` the published index is loaded at startup, after Telegram accepted the token.
    ``jobs`` requests the re-index jobs that /herindexeer starts (default: the configured corpus and model).
    """
    check_settings(settings)
    salt = _salt(settings.telegram_token)
    state = BotState(
        settings=settings,
        store=open_stores(settings).feedback(),
        access=AccessPolicy(settings.telegram_allowed_users, settings.telegram_admin_users,
                            settings.telegram_join_code, settings.data_dir / "telegram_members.json", salt,
                            settings.telegram_audiences),
        salt=salt,
        jobs=jobs,
        loaded=assistant,
    )
    app = (
        Application.builder()
        .application_class(_Application)
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(_file_url(settings.telegram_api_url))
        .rate_limiter(PerChatRateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(64)  # people are served in parallel; one question at a time per person
        .connect_timeout(10.0)
        .read_timeout(15.0)
        .write_timeout(15.0)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data[STATE_KEY] = state

    new_message = filters.UpdateType.MESSAGE
    for name, callback in handlers.COMMAND_HANDLERS.items():
        app.add_handler(CommandHandler(name, callback, filters=new_message))
    app.add_handler(MessageHandler(new_message & filters.ChatType.PRIVATE & filters.COMMAND,
                                   handlers.on_unknown_command))
    app.add_handler(MessageHandler(new_message & filters.TEXT & ~filters.COMMAND, handlers.on_text))
    app.add_handler(MessageHandler(new_message & filters.ChatType.PRIVATE & filters.Document.ALL,
                                   handlers.on_document))
    app.add_handler(MessageHandler(new_message & filters.ChatType.PRIVATE & ~filters.TEXT,
                                   handlers.on_not_text))
    app.add_handler(CallbackQueryHandler(handlers.on_button))
    app.add_error_handler(handlers.on_error)
    return app


def serve(app: Application, settings: Settings, *,  # type: ignore[type-arg]
          stop_signals: Sequence[int] | None = STOP_SIGNALS, poll_timeout: float = POLL_TIMEOUT_S) -> None:
    """Run ``app`` until stopped: long polling, or a webhook when WEGWIJZER_TELEGRAM_WEBHOOK_URL is set.

    Startup keeps retrying while Telegram is unreachable (bootstrap_retries=-1); a token Telegram
    rejects is a configuration error.
    """
    try:
        if settings.telegram_webhook_url:
            url = urlsplit(settings.telegram_webhook_url)
            app.run_webhook(listen=settings.host, port=settings.telegram_webhook_port, url_path=url.path.lstrip("/"),
                            webhook_url=settings.telegram_webhook_url, allowed_updates=UPDATES,
                            secret_token=_salt(settings.telegram_token)[:64], bootstrap_retries=-1,
                            stop_signals=stop_signals)
        else:
            app.run_polling(allowed_updates=UPDATES, timeout=timedelta(seconds=poll_timeout),
                            bootstrap_retries=-1, stop_signals=stop_signals)
    except InvalidToken as exc:  # refused later than getMe (deleteWebhook / setWebhook)
        raise ConfigError(REFUSED_TOKEN) from exc


def run(settings: Settings) -> None:
    """``wegwijzer telegram``: run the bot until stopped (SIGINT / SIGTERM)."""
    if not settings.embedding_threads:  # a serving process: one compute thread, as `wegwijzer serve`
        settings = settings.with_(embedding_threads=1)
    serve(build_application(settings), settings)
