"""The service's error contract, as the web tests check it: one JSON shape, a Dutch catalogue message."""

from __future__ import annotations

import re
from typing import Any

from bots.texts import CATALOGUE


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[a-z_]+\}", template)
    return re.compile(".*?".join(re.escape(p) for p in parts), re.DOTALL)


DUTCH = [_template_regex(CATALOGUE.t(key)) for key in dict.fromkeys(CATALOGUE.keys())]


def is_dutch_catalogue_text(message: str) -> bool:
    """True when ``message`` is a filled-in template of the Dutch message catalogue (not a raw English error)."""
    return any(p.fullmatch(message) for p in DUTCH)


def assert_dutch_error(body: Any, where: str = "") -> tuple[str, str]:
    """``{"error": {"code", "message"}}`` with a snake_case code and a Dutch message; returns both."""
    assert isinstance(body, dict) and set(body) == {"error"}, (where, body)
    assert isinstance(body["error"], dict) and set(body["error"]) == {"code", "message"}, (where, body)
    code, message = body["error"]["code"], body["error"]["message"]
    assert isinstance(code, str) and re.fullmatch(r"[a-z_]+", code), (where, code)
    assert isinstance(message, str) and message.strip(), (where, body)
    assert is_dutch_catalogue_text(message), f"{where}: not a Dutch catalogue text: {message!r}"
    return code, message
