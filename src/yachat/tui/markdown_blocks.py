"""A message's Markdown as a list of top-level blocks, each rendered on its own.

Rich renders a Markdown document as one unit, so a long answer costs a full
render every time anything about it changes, and all of it must be rendered
before any of it can be shown. Split at its top-level blocks (a paragraph, a
list, a table, a code fence) and parsed once, the same document can be
rendered a block at a time: only the blocks on screen are needed for a frame,
and a block that is finished is never rendered again. The blocks, joined with
the blank lines Rich puts between them, give exactly Rich's own rendering of
the whole document (a test holds this against Rich's Markdown).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from rich.markdown import Markdown

from yachat.text import strip_controls
from yachat.tui.textual_compat import (
    TokenMarkdown,
    blank_line_after,
    collects_children,
    markdown_element,
    markdown_inline_tags,
)

CODE_THEME = "monokai"


@cache
def _parser() -> MarkdownIt:
    # The same configuration as rich.markdown.Markdown, built once rather than per render.
    return MarkdownIt().enable("strikethrough").enable("table")


@dataclass(frozen=True, eq=False)
class Block:
    """One top-level Markdown block: its tokens and the source lines it came from."""

    tokens: tuple[Token, ...]
    source: str
    gap_before: bool  # Rich puts a blank line between this block and the one before

    def renderable(self) -> Markdown:
        return TokenMarkdown(self.tokens, CODE_THEME)

    def estimate_lines(self, width: int) -> int:
        """Roughly how many lines Rich renders this block in at `width`, without rendering it."""
        kind = self.tokens[0].type
        rows = self.source.split("\n")
        if kind not in _VERBATIM:
            rows = [row for row in rows if row.strip()]
            if kind in _REFLOWED:
                rows = [" ".join(rows)]
        width = max(1, width - _INDENT.get(kind, 0))
        return sum(max(1, -(-len(row) // width)) for row in rows) + _EXTRA.get(kind, 0)


# What Rich does with a block's source lines, by the block's first token (measured
# against Rich's output): fences keep every line (their ``` lines match the padding
# around the code); paragraphs and headings are reflowed; the rest gain a few lines
# of their own (a table's blank lines, an indented code block's padding) and lose
# width to their indent.
_VERBATIM = {"fence", "code_block"}
_REFLOWED = {"paragraph_open", "heading_open"}
_EXTRA = {
    "table_open": 3,
    "bullet_list_open": 1,
    "ordered_list_open": 1,
    "blockquote_open": 1,
    "code_block": 2,
    "hr": 1,
}
_INDENT = {"bullet_list_open": 4, "ordered_list_open": 4, "blockquote_open": 2, "code_block": 2}


def parse(text: str) -> list[Token]:
    return _parser().parse(strip_controls(text))


def _groups(tokens: Iterable[Token]) -> list[list[Token]]:
    """Tokens grouped by top-level block: a group ends at a level-0 close or self-closing token."""
    groups: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        current.append(token)
        if token.level == 0 and token.nesting <= 0:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


# Token types Rich's renderer handles inline; every other token is an element.
_INLINE_TYPES = {"text", "hardbreak", "softbreak", "link_open", "link_close", "html_inline"}


def _flatten(tokens: Iterable[Token]) -> Iterator[Token]:
    # As Rich walks them: inline children in place, fences and images whole.
    for token in tokens:
        if token.children and not (token.type == "fence" or token.tag == "img"):
            yield from _flatten(token.children)
        else:
            yield token


_INLINE_TAGS = markdown_inline_tags()


def _is_element(token: Token) -> bool:
    if token.type in _INLINE_TYPES:
        return False
    return not (token.tag in _INLINE_TAGS and token.type not in ("fence", "code_block"))


def _inherits_gap(group: Sequence[Token]) -> bool:
    """Whether Rich's blank line before this block depends on the block before.

    Rich keeps one flag, set by each element it leaves, and writes a blank line
    before rendering an element when the flag is set. Only the first element
    left inside a block sees the flag the previous block set, and only if that
    element is rendered then (not collected by its parent, as list items and
    table cells are). This replays Rich's walk up to that point.
    """
    stack: list[Token] = []
    for token in _flatten(group):
        if not _is_element(token):
            continue
        if token.nesting == 1:
            stack.append(token)
            continue
        if token.nesting == -1:
            stack.pop()
        if token.type == "inline":
            return False  # left without a blank line, and the flag is reset
        return not stack or not collects_children(markdown_element(stack[-1].type))
    return False


def _new_line_after(group: Sequence[Token]) -> bool:
    return blank_line_after(markdown_element(group[0].type))


def split(text: str, after: Block | None = None) -> tuple[list[Block], list[int]]:
    """The top-level blocks of `text`, and where in `text` each of them starts.

    `after` is the block that came before `text`, for the blank line Rich puts
    between them.
    """
    groups = _groups(parse(text))
    if not groups:
        return [], []
    lines = text.split("\n")
    blocks: list[Block] = []
    asked = after is not None and _new_line_after(after.tokens)
    for group in groups:
        start, end = group[0].map or (0, 0)
        gap = asked and _inherits_gap(group)
        blocks.append(Block(tuple(group), "\n".join(lines[start:end]), gap_before=gap))
        asked = _new_line_after(group)
    return blocks, _offsets_of_lines(text, [(g[0].map or (0, 0))[0] for g in groups])


def _offsets_of_lines(text: str, lines: list[int]) -> list[int]:
    """Where each of line numbers `lines` (0-based, ascending) starts in `text`."""
    offsets, offset, line = [], 0, 0
    for wanted in lines:
        while line < wanted:
            found = text.find("\n", offset)
            if found < 0:
                offset = len(text)
                break
            offset, line = found + 1, line + 1
        offsets.append(offset)
    return offsets


class BlockStream:
    """A growing text as the blocks that are complete and the one still growing."""

    def __init__(self) -> None:
        self.sealed: list[Block] = []
        self.sealed_chars = 0  # how much of the text the sealed blocks cover
        self.tail: list[Block] = []
        self._tail_text: str | None = None

    def update(self, text: str) -> list[Block]:
        """Take the whole text so far; return the blocks it completed.

        A block is complete once the first line of the next one is: only a whole
        line tells whether it starts a block or continues the one before (a
        "1" may yet become "1. item" of the list above it).
        """
        tail_text = text[self.sealed_chars :]
        if tail_text == self._tail_text:
            return []
        blocks, starts = split(tail_text, after=self.sealed[-1] if self.sealed else None)
        growing = len(blocks) - 1
        if growing > 0 and "\n" not in tail_text[starts[growing] :]:
            growing -= 1
        done = blocks[:growing] if growing > 0 else []
        if done:
            self.sealed += done
            self.sealed_chars += starts[growing]
            tail_text = tail_text[starts[growing] :]
        self.tail = blocks[len(done) :]
        self._tail_text = tail_text
        return done

    def blocks(self) -> list[Block]:
        return [*self.sealed, *self.tail]
