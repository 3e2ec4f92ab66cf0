"""The corpus catalog (``catalog.toml``): title, publisher, date, kind and language per file."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.toml"
FIELDS = ("title", "publisher", "date", "kind", "language")
KINDS = ("toolkit", "memorandum", "programme", "announcement", "other")


def read_catalog(corpus_dir: Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Catalog entries keyed by source path, and a list of problems found (never fatal)."""
    path = Path(corpus_dir) / CATALOG_FILE
    if not path.is_file():
        return {}, []
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return {}, [f"{CATALOG_FILE} cannot be read ({exc}); titles are derived from the documents instead"]
    entries: dict[str, dict[str, str]] = {}
    problems = []
    for source, entry in data.items():
        if not isinstance(entry, dict):
            problems.append(f"{CATALOG_FILE}: [{source}] must be a table")
            continue
        clean = {k: str(entry[k]).strip() for k in FIELDS if k in entry and str(entry[k]).strip()}
        if clean.get("kind") and clean["kind"] not in KINDS:
            problems.append(f"{CATALOG_FILE}: [{source}] kind {clean['kind']!r} is not one of {', '.join(KINDS)}")
        entries[source] = clean
    return entries, problems
