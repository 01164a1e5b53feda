"""The README's command table says what `yachat --help` says.

The commands (and `threads`' actions) come from the real argparse parser, so a
command added, renamed or removed in the CLI fails here until the table follows.
Every option the table shows must exist on its command; options the table
leaves out are fine (`yachat CMD --help` lists them all).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from yachat.cli.main import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def options(parser: argparse.ArgumentParser) -> set[str]:
    """Its flags and those of its subcommands (`threads export --format`)."""
    return flags(parser).union(*map(options, subcommands(parser).values()))


def command_table() -> dict[str, tuple[str, str]]:
    """The README's `## Commands` table: command name ('' for bare `yachat`) -> (usage, row)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `yachat"):
            continue
        first_cell = re.split(r"(?<!\\)\|", line)[1]
        for usage in re.findall(r"`(yachat[^`]*)`", first_cell):
            usage = usage.replace("\\|", "|")
            words = usage.split()
            name = words[1] if len(words) > 1 and not words[1].startswith("-") else ""
            assert name not in rows, f"`yachat {name}` has two rows"
            rows[name] = (usage, line)
    return rows


def test_the_table_lists_exactly_the_commands_of_the_parser() -> None:
    table = command_table()
    assert set(table) == {"", *subcommands(build_parser())}


def test_the_threads_row_lists_exactly_its_actions() -> None:
    threads = subcommands(build_parser())["threads"]
    usage, _ = command_table()["threads"]
    # Actions are separated by " | "; "md|json" inside one is a value.
    listed = {part.split()[0] for part in usage.removeprefix("yachat threads").split(" | ")}
    assert listed == set(subcommands(threads))


@pytest.mark.parametrize("name", sorted(set(command_table()) - {""}))
def test_every_option_the_table_shows_exists(name: str) -> None:
    parser = subcommands(build_parser())[name]
    known = options(parser) | flags(build_parser())  # its own, and the global ones
    _, line = command_table()[name]
    # Options in the usage cell and in the description (e.g. serve's `--engine ...`).
    shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line))
    assert shown <= known, f"README shows {sorted(shown - known)} for `yachat {name}`"


def test_help_names_every_command_of_the_table() -> None:
    text = build_parser().format_help()
    for name in set(command_table()) - {""}:
        assert re.search(rf"^\s+{name}\s", text, re.MULTILINE), name
