"""The bot's Dutch sentences live with all other user texts in :mod:`assistant.messages` (keys ``bot.*``).

Keys ending in ``_html`` are Telegram HTML, so their fill-ins must be escaped. ``say`` is the
handlers' short name for :func:`assistant.messages.t`.
"""

from __future__ import annotations

from assistant.messages import t as say

__all__ = ["say"]
