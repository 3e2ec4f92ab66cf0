"""The bot's Dutch sentences live with the other front ends' texts in :mod:`bots.texts` (keys ``bot.*``).

Keys ending in ``_html`` are Telegram HTML, so their fill-ins must be escaped. ``say`` is the
handlers' short name for :func:`bots.texts.t`.
"""

from __future__ import annotations

from bots.texts import t as say

__all__ = ["say"]
