"""Untrusted text never reaches a terminal as control sequences."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from yachat.text import one_line, strip_controls

HOSTILE = [
    "\x1b]52;c;aGVsbG8=\x07",  # OSC 52: write the clipboard
    "\x1b[2J\x1b[H",  # clear screen, home
    "\x1b]0;pwned\x1b\\",  # set window title, ST-terminated
    "\x1bP+q544e\x1b\\",  # DCS query
    "\x9b31m",  # 8-bit CSI
    "\x07\x08\x00\x7f",
]


def test_escape_sequences_are_removed_with_their_parameters() -> None:
    for seq in HOSTILE:
        assert strip_controls(f"a{seq}b") == "ab", repr(seq)


def test_newlines_tabs_and_unicode_survive() -> None:
    text = "line 1\n\tline 2 — שלום עולם 👩‍💻 e\u0301 [bold red]not markup[/]"
    assert strip_controls(text) == text


def test_crlf_becomes_lf() -> None:
    assert strip_controls("a\r\nb") == "a\nb"


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    cleaned = strip_controls(text)
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in cleaned)


def test_one_line_flattens_and_shortens() -> None:
    assert one_line("  hello\n\n  world\x1b[31m  ") == "hello world"
    assert one_line("x" * 100, 10) == "x" * 9 + "…"
