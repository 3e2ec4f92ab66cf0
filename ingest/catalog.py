"""The corpus catalog (``catalog.toml``): title, publisher, date, kind and language per file.

This module is the catalog's one owner: ingest reads it (:func:`read_catalog`), and the admin page,
the admin API and the Telegram bot change it only through :func:`update_entry` and
:func:`remove_entry`. Those read, modify and write the file under a lock (every worker process, the
bot and a second service on the same corpus take the same one), write it atomically (a reader never
sees half a file), and keep its comments and layout (tomlkit edits the parsed document in place).
A change to an entry makes the next ingest re-embed that document: ingest compares the entry it
finds with the one the published version was built with.

``audience`` (a list of group names, assistant/audience.py) says who may see a document; absent is
everyone. In the TOML it is an array (``audience = ["personeel"]``); in the entries this module hands out
it is one string, the names case-folded, sorted and joined by commas (``"personeel,raad"``), so entries
stay comparable as before. Deny by default: an audience that cannot be read makes ingest skip that
document (``AUDIENCE_ERROR`` carries the reason), and a catalog that exists but cannot be read stops an
ingest (:func:`read_catalog_strict`), since it may be what keeps a document from everyone.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from assistant.audience import AudienceError, normalise
from assistant.errors import DocumentError, WegwijzerError
from ingest.texts import t

from .corpuspath import reading

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.toml"
LOCK_FILE = ".catalog.lock"  # a dot file: ingest and the folder watcher ignore it
FIELDS = ("title", "publisher", "date", "kind", "language", "audience")
TEXT_FIELDS = FIELDS[:-1]
AUDIENCE_ERROR = "audience_error"  # in an entry whose audience cannot be read: the Dutch reason (ingest skips it)
KINDS = ("toolkit", "memorandum", "programme", "announcement", "other")
MAX_CHARS = {"title": 300, "publisher": 200, "date": 10, "kind": 20, "language": 35}
LOCK_TIMEOUT_S = 10.0
NEW_CATALOG_HEADER = (
    "# Catalog of the corpus: one table per file (path relative to this folder).\n"
    "# Fields: title, publisher, date (ISO 8601, as precise as known), kind\n"
    f"# ({' | '.join(KINDS)}), language (BCP 47), audience (group names; absent: everyone).\n"
    "# Written by Wegwijzer's admin page as well; comments are kept.\n"
)

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


class CatalogError(WegwijzerError):
    """A catalog entry is invalid, or the catalog cannot be read or written; ``message`` is Dutch."""

    def __init__(self, message: str, field: str = "", kind: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.kind = kind  # "invalid" (the input) | "unreadable" | "unwritable" | "busy" (the file)


def read_catalog(corpus_dir: Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Catalog entries keyed by source path, and a list of problems found (never fatal)."""
    try:
        with reading(Path(corpus_dir), CATALOG_FILE) as readable:  # a link or FIFO here is refused, not read
            raw = readable.read_bytes()
    except FileNotFoundError:
        return {}, []
    except DocumentError as exc:
        return {}, [f"{CATALOG_FILE} {exc.reason}; titles are derived from the documents instead"]
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return {}, [f"{CATALOG_FILE} cannot be read ({exc}); titles are derived from the documents instead"]
    entries: dict[str, dict[str, str]] = {}
    problems = []
    for source, entry in data.items():
        if not isinstance(entry, dict):
            problems.append(f"{CATALOG_FILE}: [{source}] must be a table")
            continue
        clean = {k: str(entry[k]).strip() for k in TEXT_FIELDS if k in entry and str(entry[k]).strip()}
        if "audience" in entry:
            try:
                audience = ",".join(_audience(entry["audience"]))
            except AudienceError as exc:
                problems.append(f"{CATALOG_FILE}: [{source}] audience: {exc.message}")
                clean[AUDIENCE_ERROR] = exc.message
            else:
                if audience:
                    clean["audience"] = audience
        if clean.get("kind") and clean["kind"] not in KINDS:
            problems.append(f"{CATALOG_FILE}: [{source}] kind {clean['kind']!r} is not one of {', '.join(KINDS)}")
        entries[source] = clean
    return entries, problems


def read_catalog_strict(corpus_dir: Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    """:func:`read_catalog` for ingest: a catalog that exists but cannot be read raises CatalogError, since
    the audiences in it decide who may see a document (without them, every document would be for everyone)."""
    entries, problems = read_catalog(corpus_dir)
    if not entries and problems and os.path.lexists(Path(corpus_dir) / CATALOG_FILE):
        raise CatalogError(t("catalog.unreadable", reason=problems[0][:300]), kind="unreadable")
    return entries, problems


# ---------------------------------------------------------------- validation (pure)


def _audience(value: object) -> tuple[str, ...]:
    """An audience as the catalog or a form gives it: a list of names, or one string of them (commas or
    spaces between); raises AudienceError."""
    if isinstance(value, str):
        return normalise(part for part in value.replace(",", " ").split() if part)
    if isinstance(value, list | tuple):
        return normalise(value)
    return normalise([value])  # refused by group_name with a Dutch message


def _clean_text(field: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CatalogError(t("catalog.not_text", field=t(f"catalog.field.{field}")), field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CatalogError(t("catalog.not_text", field=t(f"catalog.field.{field}")), field) from None
    text = " ".join(unicodedata.normalize("NFC", value).split())  # newlines and tabs become one space
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in text):
        raise CatalogError(t("catalog.control_chars", field=t(f"catalog.field.{field}")), field)
    if len(text) > MAX_CHARS[field]:
        raise CatalogError(t("catalog.too_long", field=t(f"catalog.field.{field}"), limit=MAX_CHARS[field]), field)
    return text


def validate_date(value: str) -> str:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` that exists; raises CatalogError (Dutch) otherwise."""
    m = _DATE.fullmatch(value)
    if m is None:
        raise CatalogError(t("catalog.bad_date", value=value), "date")
    year, month, day = (int(g) if g else None for g in m.groups())
    try:
        dt.date(year or 1, month or 1, day or 1)
    except ValueError:
        raise CatalogError(t("catalog.bad_date", value=value), "date") from None
    if not 1000 <= (year or 0) <= 2999:
        raise CatalogError(t("catalog.bad_date", value=value), "date")
    return value


def validate_entry(fields: Mapping[str, object]) -> dict[str, str]:
    """The catalog fields in ``fields``, cleaned and checked; "" means "remove this field".

    Unknown fields, a kind that is not one of :data:`KINDS`, a date that is not ISO 8601 and a
    language that is not a BCP 47 tag raise :class:`CatalogError` with a Dutch message naming the field.
    """
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise CatalogError(t("catalog.unknown_field", field=unknown[0]), unknown[0])
    out: dict[str, str] = {}
    if "audience" in fields:
        try:
            out["audience"] = ",".join(_audience(fields["audience"] if fields["audience"] is not None else ""))
        except AudienceError as exc:
            raise CatalogError(exc.message, "audience") from None
    for field in TEXT_FIELDS:
        if field not in fields:
            continue
        value = _clean_text(field, fields[field])
        if value and field == "kind" and value not in KINDS:
            raise CatalogError(t("catalog.bad_kind", value=value, kinds=", ".join(KINDS)), field)
        if value and field == "date":
            validate_date(value)
        if value and field == "language" and not _LANGUAGE.fullmatch(value):
            raise CatalogError(t("catalog.bad_language", value=value), field)
        out[field] = value
    return out


# ---------------------------------------------------------------- read-modify-write


def _locked(corpus_dir: Path) -> Any:
    from filelock import FileLock

    return FileLock(str(Path(corpus_dir) / LOCK_FILE), timeout=LOCK_TIMEOUT_S)


def _load_document(path: Path) -> Any:
    import tomlkit

    if not os.path.lexists(path):
        return tomlkit.parse(NEW_CATALOG_HEADER)
    try:
        # read as any corpus file: a link (to a TOML file elsewhere) or a FIFO here is refused, never read
        with reading(path.parent, path.name) as readable:
            return tomlkit.parse(readable.read_text(encoding="utf-8"))
    except DocumentError as exc:
        raise CatalogError(t("catalog.unreadable", reason=f"{path.name} {exc.reason}"), kind="unreadable") from exc
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError) as exc:
        # Never overwrite a catalog we cannot read: a person's edits in it would be lost.
        raise CatalogError(t("catalog.unreadable", reason=str(exc)[:200]), kind="unreadable") from exc


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _change(corpus_dir: Path, edit: Any) -> Any:
    """Run ``edit(document)`` on the parsed catalog under the lock, then write it back atomically."""
    from filelock import Timeout

    corpus_dir = Path(corpus_dir)
    path = corpus_dir / CATALOG_FILE
    try:
        with _locked(corpus_dir):
            document = _load_document(path)
            result, changed = edit(document)
            if changed:
                import tomlkit

                _write_atomically(path, tomlkit.dumps(document))
            return result
    except Timeout as exc:
        raise CatalogError(t("catalog.busy"), kind="busy") from exc
    except OSError as exc:
        raise CatalogError(t("catalog.unwritable", reason=exc.strerror or str(exc)), kind="unwritable") from exc


def update_entry(corpus_dir: Path, source: str, fields: Mapping[str, object]) -> dict[str, str]:
    """Set the given fields of ``source``'s entry ("" removes a field); returns the whole entry after.

    Fields not named in ``fields`` keep their value. An entry left without fields is removed.
    """
    clean = validate_entry(fields)

    def edit(document: Any) -> tuple[dict[str, str], bool]:
        import tomlkit

        existing = document.get(source)
        if existing is not None and not isinstance(existing, dict):
            raise CatalogError(t("catalog.not_a_table", source=source), kind="unreadable")
        before = {k: _stored(k, v) for k, v in (existing or {}).items() if k in FIELDS}
        after = {**before, **{k: v for k, v in clean.items() if v}}
        for k, v in clean.items():
            if not v:
                after.pop(k, None)
        if after == before:
            return after, False
        if existing is None:
            table = tomlkit.table()
            for k in FIELDS:
                if k in after:
                    table.add(k, _toml(k, after[k]))
            document.add(source, table)
        elif not after and all(k in FIELDS for k in existing):
            del document[source]
        else:
            for k in FIELDS:
                if k in after:
                    existing[k] = _toml(k, after[k])
                elif k in existing:
                    del existing[k]
        return after, True

    result: dict[str, str] = _change(corpus_dir, edit)
    log.info("catalog entry of %s changed: %s", source, sorted(clean))
    return result


def _stored(field: str, value: object) -> str:
    """A field of the TOML as entries carry it (an audience array as its comma-joined names)."""
    if field != "audience":
        return str(value)
    try:
        return ",".join(_audience(list(value) if isinstance(value, list) else value))
    except AudienceError:
        return str(value)  # differs from any valid value: a valid edit replaces it


def _toml(field: str, value: str) -> Any:
    """A field's value as written to the TOML: an audience is an array of names."""
    if field != "audience":
        return value
    import tomlkit

    array = tomlkit.array()
    array.extend(value.split(","))
    return array


def remove_entry(corpus_dir: Path, source: str) -> bool:
    """Drop ``source``'s entry (after its file was deleted); True when there was one."""
    if not (Path(corpus_dir) / CATALOG_FILE).exists():
        return False

    def edit(document: Any) -> tuple[bool, bool]:
        if source not in document:
            return False, False
        del document[source]
        return True, True

    return bool(_change(corpus_dir, edit))
