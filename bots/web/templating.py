"""Server-rendered HTML from Jinja2 templates, autoescaped: every value a template prints is escaped unless
it is :class:`markupsafe.Markup` (the document text ``doctext.mark_text`` already escaped and marked up).

Templates live in ``bots/web/templates/`` (the document view, the document list, /transparantie, the error
page); ``beheer.html`` stays beside its script and stylesheet in ``bots/static/``. ``t`` (the catalogue) is a
global, so a template names its texts by key. An undefined name fails at render time instead of printing
nothing (``StrictUndefined``), like a key missing from the catalogue.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bots.texts import t

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader([str(TEMPLATES), str(STATIC)]), autoescape=True,
                      undefined=StrictUndefined, auto_reload=False)
    env.globals["t"] = t
    return env


def render(name: str, **context: Any) -> str:
    """Template ``name`` with ``context``; the output ends with one newline, as the pages always have."""
    return environment().get_template(name).render(**context).rstrip("\n") + "\n"
