"""How messages and dates look, without a running app."""

from __future__ import annotations

import io
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console, RenderableType
from rich.markdown import Markdown

from yachat.server.engines.firehose import firehose_text
from yachat.tui.markdown_blocks import Block, BlockStream, split
from yachat.tui.render import block_parts, code_blocks, day_label

# Top-level blocks of every kind Rich renders, in the shapes models write them.
SNIPPETS = [
    "# A heading",
    "## Second level",
    "### Third\nwith a setext heading below\n\nSetext\n---",
    "A paragraph with **bold**, *emphasis*, `code` and a [link](https://example.com).",
    "A paragraph\nwrapped over\nthree lines.",
    "- one\n- two\n  - nested\n- three",
    "- loose\n\n- list\n\n  with a second paragraph",
    "1. first\n2. second\n\n3. third",
    "5. starts at five\n6. six",
    "> a quote\n> over two lines\n>\n> - with a list",
    "```python\ndef f(x):\n\n    return x * 2\n```",
    "~~~\nplain fence\n~~~",
    "    indented code\n    more",
    "| a | b |\n|---|--:|\n| 1 | 2 |\n| three | 4 |",
    "---",
    "***",
    "<div>html block</div>",
    "Text with an image ![alt](https://example.com/x.png) inside.",
    "Line one  \nhard break",
    "~~struck~~ and <kbd>ctrl</kbd>",
]


def _lines(renderable: RenderableType, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system="truecolor")
    options = console.options.update_width(width).update(highlight=False)
    lines = console.render_lines(renderable, options, pad=True)
    # The styles matter too: a block rendered alone must look the same.
    return ["".join(f"{seg.text}|{seg.style}" for seg in line) for line in lines]


def _joined(blocks: list[Block], width: int) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if block.gap_before:
            out.append(" " * width + "|None")
        out += _lines(block.renderable(), width)
    return out


def _whole(text: str, width: int) -> list[str]:
    return _lines(Markdown(text, code_theme="monokai", hyperlinks=False), width)


def test_day_labels() -> None:
    now = time.mktime((2026, 11, 24, 12, 0, 0, 0, 0, -1))
    assert day_label(now - 3600, now) == "Today"
    assert day_label(now - 86400, now) == "Yesterday"
    assert day_label(now - 3 * 86400, now) == "Saturday"
    assert day_label(now - 30 * 86400, now) == "25 Oct 2026"


def test_code_blocks_are_found() -> None:
    text = "intro\n```python\nprint(1)\n```\nmiddle\n~~~\nplain\n~~~\n"
    assert code_blocks(text) == ["print(1)\n", "plain\n"]


@pytest.mark.parametrize("width", [30, 77])
def test_blocks_render_exactly_as_the_whole_document(width: int) -> None:
    for text in [firehose_text(), "\n\n".join(SNIPPETS), "\n".join(SNIPPETS), "just text"]:
        assert _joined(split(text)[0], width) == _whole(text, width)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=6), st.sampled_from(["\n", "\n\n"]))
def test_any_sequence_of_blocks_renders_as_the_whole(picked: list[str], sep: str) -> None:
    text = sep.join(picked)
    assert _joined(split(text)[0], 50) == _whole(text, 50)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_a_streamed_text_seals_into_the_same_document(picked: list[str], seed: int) -> None:
    """Fed in random chunks, sealing only complete blocks, the text ends up rendered as a whole."""
    text = "\n\n".join(picked)
    rng = random.Random(seed)
    stream, pos = BlockStream(), 0
    while pos < len(text):
        pos += rng.randint(1, 40)
        stream.update(text[:pos])
        # Whatever is sealed is final: it is a prefix of the finished document's blocks.
        assert stream.sealed_chars <= pos
    assert _joined(stream.blocks(), 50) == _whole(text, 50)


def test_an_open_code_fence_is_never_sealed() -> None:
    stream = BlockStream()
    stream.update("para one\n\n```\ncode\n\nmore code\n\n")
    assert [b.source for b in stream.sealed] == ["para one"]
    assert stream.tail[0].tokens[0].type == "fence"
    stream.update("para one\n\n```\ncode\n\nmore code\n```\n\nnext\n")
    assert len(stream.sealed) == 2 and stream.tail[0].source == "next"


def test_a_block_is_sealed_only_when_the_next_line_is_whole() -> None:
    """ "1" after a list may become "1. item": the list continues, so it is not complete yet."""
    stream = BlockStream()
    stream.update("1. first\n2. second\n\n1")
    assert stream.sealed == []
    stream.update("1. first\n2. second\n\n1. third\n")
    assert stream.sealed == [] and len(stream.tail) == 1  # still one list of three items


@pytest.mark.parametrize("width", [40, 80, 120])
def test_deferred_blocks_are_estimated_close_to_their_rendered_height(width: int) -> None:
    """A stream's off-screen blocks are laid out by estimate; a good one keeps the scrollbar honest."""
    console = Console(width=width, file=io.StringIO())
    for text in [firehose_text(), "\n\n".join(SNIPPETS)]:
        parts = block_parts(split(text)[0], deferred=True)
        estimated = sum(part.height(console, width) for part in parts)
        rendered = sum(len(part.render(console, width)) for part in parts)
        assert abs(estimated - rendered) <= 0.05 * rendered
