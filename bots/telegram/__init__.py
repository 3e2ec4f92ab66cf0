"""The Telegram bot: cited answers, source and feedback buttons, access control.

Module map:
    app.py       settings checks, the Application (handlers, rate limiter), run / serve
    handlers.py  the conversation: commands, questions, buttons, the error handler
    delivery.py  sending: retries with backoff, plain-text fallback, typing indicator
    flood.py     Telegram's flood limits, with a 429 holding back only its own chat
    access.py    allowed users, admins, join code
    state.py     what the bot keeps in ``bot_data``
    texts.py     ``say``: the bot's Dutch sentences, kept in assistant.messages (keys bot.*)

``import telegram`` in these modules is python-telegram-bot: imports are absolute, and this package
is ``bots.telegram``.
"""

from .app import build_application, check_settings, run, serve

__all__ = ["build_application", "check_settings", "run", "serve"]
