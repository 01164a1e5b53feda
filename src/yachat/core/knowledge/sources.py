"""Sources as a front end lists them under an answer: `[1] notes/kazan.md:5-7 — Travel › Kazan`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from yachat.store.knowledge import Passage
from yachat.text import strip_controls


def source_line(passage: Passage, path: str | None = None) -> str:
    """One source on one line, safe for a terminal; `path` as the front end shows it."""
    where = dataclasses.replace(passage, path=path if path is not None else passage.path).where
    heading = f" — {passage.heading}" if passage.heading else ""
    return " ".join(strip_controls(f"[{passage.number}] {where}{heading}").split())


def sources_block(passages: Sequence[Passage]) -> list[str]:
    """The sources under an answer in a terminal (`ask`, `threads show`): a label, one line each."""
    return ["sources:", *(f"  {source_line(p, shown_path(p.path))}" for p in passages)]


def shown_path(path: str) -> str:
    """A path as short as it can be and still open from this shell: relative to the
    working directory under it, else with ~ for the home directory."""
    here, home = os.getcwd(), os.path.expanduser("~")
    if path.startswith(here.rstrip(os.sep) + os.sep):
        return os.path.relpath(path, here)
    if home not in ("", os.sep) and path.startswith(home.rstrip(os.sep) + os.sep):
        return "~" + path[len(home.rstrip(os.sep)) :]
    return path
