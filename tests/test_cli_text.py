"""The command line speaks Dutch: its own help texts and argparse's usage lines and errors."""

from __future__ import annotations

import argparse
import re

import pytest

from bots.cli import build_parser, main

ENGLISH = re.compile(r"\b(?:usage|options|positional arguments|show this help|error|required|invalid choice)\b")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_command_and_option_has_a_dutch_help_text() -> None:
    parser = build_parser()
    commands = _subparsers(parser)
    assert {"ingest", "ask", "serve", "telegram"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        assert text.startswith("gebruik: "), name
        assert not ENGLISH.search(text), (name, text)
        for action in sub._actions:
            assert action.help, f"{name}: {action.dest} has no help text"
    top = parser.format_help()
    assert "opdrachten" in top and not ENGLISH.search(top)


@pytest.mark.parametrize("argv", [["ask"], ["bestaat-niet"], ["ask", "vraag", "--top-k", "veel"]])
def test_usage_errors_are_dutch(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "fout:" in err and not ENGLISH.search(err), err

