"""ingest/catalog.py as the catalog's one owner: validation, comments kept, atomic and concurrent edits."""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path

import pytest

from ingest.catalog import CATALOG_FILE, CatalogError, read_catalog, remove_entry, update_entry, validate_entry

from .conftest import CORPUS


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    (tmp_path / CATALOG_FILE).write_text((CORPUS / CATALOG_FILE).read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_an_edit_keeps_comments_and_the_other_entries(corpus: Path) -> None:
    before = (corpus / CATALOG_FILE).read_text(encoding="utf-8")
    entry = update_entry(corpus, "vvsg-memorandum-migratie-en-integratie.txt", {"title": "Nieuwe titel", "date": ""})
    after = (corpus / CATALOG_FILE).read_text(encoding="utf-8")
    assert entry == {"title": "Nieuwe titel", "publisher": "VVSG", "kind": "memorandum", "language": "nl-BE"}
    comments = [line for line in before.splitlines() if line.startswith("#")]
    assert comments and all(line in after for line in comments)
    changed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert changed == ['title = "VVSG-verkiezingsmemorandum, technische fiche: Migratie en Integratie"',
                       'date = "2023"']
    assert read_catalog(corpus)[0]["vvsg-memorandum-migratie-en-integratie.txt"]["title"] == "Nieuwe titel"


def test_new_entries_odd_names_and_removal(corpus: Path, tmp_path: Path) -> None:
    update_entry(corpus, 'map/nota "2024".v2.docx', {"title": 'Nota "2024" [ontwerp]\nregel twee', "kind": "other"})
    data = tomllib.loads((corpus / CATALOG_FILE).read_text(encoding="utf-8"))
    assert data['map/nota "2024".v2.docx'] == {"title": 'Nota "2024" [ontwerp] regel twee', "kind": "other"}
    assert remove_entry(corpus, 'map/nota "2024".v2.docx') and not remove_entry(corpus, "nooit-gezien.txt")
    assert 'map/nota "2024".v2.docx' not in read_catalog(corpus)[0]
    empty = tmp_path / "leeg"
    empty.mkdir()
    assert not remove_entry(empty, "x.txt") and not (empty / CATALOG_FILE).exists()
    update_entry(empty, "x.txt", {"title": "X"})  # a corpus without a catalog gets one, with its header
    assert (empty / CATALOG_FILE).read_text(encoding="utf-8").startswith("# Catalog")


def test_an_unreadable_catalog_is_never_overwritten(corpus: Path) -> None:
    (corpus / CATALOG_FILE).write_text('["a.txt"]\ntitle = "onaf\n', encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        update_entry(corpus, "a.txt", {"title": "B"})
    assert caught.value.kind == "unreadable" and "catalog.toml" in caught.value.message
    assert (corpus / CATALOG_FILE).read_text(encoding="utf-8") == '["a.txt"]\ntitle = "onaf\n'


@pytest.mark.parametrize(("fields", "field"), [
    ({"date": "2024-1-5"}, "date"), ({"date": "2023-02-29"}, "date"), ({"date": "0999"}, "date"),
    ({"kind": "Toolkit"}, "kind"), ({"language": "nl BE"}, "language"), ({"title": 5}, "title"),
    ({"subject": "x"}, "subject"), ({"publisher": "a\u200bb"}, "publisher"),
])
def test_validation_names_the_field_in_dutch(fields: dict[str, object], field: str) -> None:
    with pytest.raises(CatalogError) as caught:
        validate_entry(fields)
    assert caught.value.field == field and caught.value.kind == "invalid"
    assert caught.value.message.endswith(".") and "must" not in caught.value.message


def test_valid_values_are_cleaned() -> None:
    assert validate_entry({"date": "2024-02-29", "language": "fr", "title": "  Twee\tspaties  "}) == {
        "date": "2024-02-29", "language": "fr", "title": "Twee spaties"}


def test_concurrent_edits_lose_nothing(corpus: Path) -> None:
    """Twelve writers at once, each its own entry: every one is in the file afterwards (the lock)."""
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for round_ in range(3):
                update_entry(corpus, f"doc-{n}.txt", {"title": f"Document {n} ronde {round_}"})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    entries, problems = read_catalog(corpus)
    assert not problems
    assert all(entries[f"doc-{n}.txt"]["title"] == f"Document {n} ronde 2" for n in range(12))
    assert len(entries) == 5 + 12
