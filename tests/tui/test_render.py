"""How messages and dates look, without a running app."""

from __future__ import annotations

import time

from yachat.tui.live_answer import seal_point
from yachat.tui.render import code_blocks, day_label


def test_day_labels() -> None:
    now = time.mktime((2026, 11, 24, 12, 0, 0, 0, 0, -1))
    assert day_label(now - 3600, now) == "Today"
    assert day_label(now - 86400, now) == "Yesterday"
    assert day_label(now - 3 * 86400, now) == "Saturday"
    assert day_label(now - 30 * 86400, now) == "25 Oct 2026"


def test_code_blocks_are_found() -> None:
    text = "intro\n```python\nprint(1)\n```\nmiddle\n~~~\nplain\n~~~\n"
    assert code_blocks(text) == ["print(1)\n", "plain\n"]


def test_seal_points_never_split_a_code_fence() -> None:
    text = "para one\n\n```\ncode\n\nmore code\n```\n\npara two\n\ntail"
    cut = seal_point(text)
    assert text[:cut].count("```") % 2 == 0
    assert text[:cut].endswith("para two\n\n")
    assert seal_point("no boundary at all") == 0
