"""The text catalogues: each layer's texts beside its code, one lookup, one owner per key, every named key there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from assistant import messages
from bots import texts as front
from ingest import texts as ingest_texts

ROOT = Path(__file__).resolve().parents[1]
TABLES = {"assistant": messages.CATALOG["nl"], "ingest": ingest_texts.TEXTS["nl"], "bots": front.TEXTS["nl"]}


def test_one_key_lives_in_exactly_one_table() -> None:
    seen: dict[str, str] = {}
    for layer, table in TABLES.items():
        for key in table:
            assert key not in seen, f"{key} is in both {seen[key]} and {layer}"
            seen[key] = layer


def test_a_layer_finds_its_own_texts_and_those_below_but_not_above() -> None:
    core_key, ingest_key, front_key = (next(iter(TABLES[layer])) for layer in ("assistant", "ingest", "bots"))
    assert front.t(front_key) and front.t(ingest_key) and front.t(core_key)
    assert ingest_texts.t(ingest_key) and ingest_texts.t(core_key)
    with pytest.raises(KeyError):
        ingest_texts.t(front_key)
    with pytest.raises(KeyError):
        messages.t(ingest_key)


def test_a_text_is_filled_in_and_a_section_collects_one_prefix() -> None:
    assert "12" in messages.t("question.too_long", length=12, limit=10)
    ui = front.section("widget.ui.")
    assert ui and all(not k.startswith("widget.ui.") for k in ui)


def _literal_keys(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("t", "say") \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            calls.add(node.args[0].value)
    return calls


@pytest.mark.parametrize("layer, lookup", [("assistant", messages.CORE), ("ingest", ingest_texts.CATALOGUE),
                                           ("bots", front.CATALOGUE)])
def test_every_key_the_code_names_is_in_its_layers_reach(layer: str, lookup: messages.Catalogue) -> None:
    missing = {f"{path.relative_to(ROOT)}: {key}" for path in (ROOT / layer).rglob("*.py")
               for key in _literal_keys(path) if re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)+", key)
               and lookup.template(key) is None}
    assert not missing, sorted(missing)
