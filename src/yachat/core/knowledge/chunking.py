"""Cut a document into passages along its structure: headings, paragraphs, code blocks.

A chunk never crosses a heading, never splits a code block that fits, and is
about a paragraph or a few: big enough to answer from, small enough that several
fit a prompt next to the conversation. Each knows its heading path and its lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yachat.core.knowledge.extract import Document
from yachat.store.knowledge import ChunkText

TARGET_CHARS = 1200  # small blocks under one heading are merged up to this
MAX_CHARS = 2400  # a longer block is split between lines
HEADING_SEPARATOR = " › "

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```+|~~~+)")
# A definition at the left margin names the code under it (Python, JS/TS, Go, Rust, C-likes ...).
_DEFINITION = re.compile(
    r"^(?:export\s+)?(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?"
    r"(?:def|class|function|func|fn|struct|enum|trait|impl|interface|type|module|object|record)\s+[\w.<>:]+"
)


@dataclass
class _Block:
    heading: str
    start: int
    end: int
    lines: list[str]
    code: bool = False

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line in self.lines)


def chunk(doc: Document) -> list[ChunkText]:
    blocks = _code_blocks(doc.lines) if doc.kind == "code" else _prose_blocks(doc.lines, doc.kind != "pdf")
    return _merge(blocks)


def _prose_blocks(lines: list[tuple[int, str]], headings: bool) -> list[_Block]:
    """Paragraphs and fenced code blocks, each under the heading path above it."""
    path: list[tuple[int, str]] = []  # (level, title)
    blocks: list[_Block] = []
    current: _Block | None = None
    fence: str | None = None

    def close() -> None:
        nonlocal current
        if current is not None and any(line.strip() for line in current.lines):
            blocks.append(current)
        current = None

    for number, line in lines:
        if fence is not None:
            assert current is not None
            current.lines.append(line)
            current.end = number
            if line.strip().startswith(fence):
                fence = None
                close()
            continue
        opening = _FENCE.match(line)
        if opening:
            close()
            fence = opening.group(1)
            current = _Block(_join(path), number, number, [line], code=True)
            continue
        heading = _ATX.match(line) if headings else None
        if heading:
            close()
            level, title = len(heading.group(1)), heading.group(2).strip()
            path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
            continue
        if not line.strip():
            close()
            continue
        if current is None:
            current = _Block(_join(path), number, number, [])
        current.lines.append(line)
        current.end = number
    close()
    return blocks


def _code_blocks(lines: list[tuple[int, str]]) -> list[_Block]:
    """Runs of lines between blank lines, named by the definition they belong to."""
    blocks: list[_Block] = []
    name = ""
    current: _Block | None = None
    for number, line in lines:
        if not line.strip():
            if current is not None:
                blocks.append(current)
                current = None
            continue
        definition = _DEFINITION.match(line)
        if definition:
            if current is not None:
                blocks.append(current)
                current = None
            name = definition.group(0).strip().rstrip(":")
        if current is None:
            current = _Block(name, number, number, [], code=True)
        current.lines.append(line)
        current.end = number
    if current is not None:
        blocks.append(current)
    return blocks


def _merge(blocks: list[_Block]) -> list[ChunkText]:
    """Neighbouring blocks under one heading joined up to TARGET_CHARS; long ones split."""
    out: list[ChunkText] = []
    pending: _Block | None = None
    for block in blocks:
        for piece in _split(block):
            if (
                pending is not None
                and pending.heading == piece.heading
                and pending.size + piece.size <= TARGET_CHARS
            ):
                pending.lines += ["", *piece.lines] if not piece.code else piece.lines
                pending.end = piece.end
                continue
            if pending is not None:
                out.append(_chunk_of(pending))
            pending = _Block(piece.heading, piece.start, piece.end, list(piece.lines), piece.code)
    if pending is not None:
        out.append(_chunk_of(pending))
    return out


def _split(block: _Block) -> list[_Block]:
    """A block of at most MAX_CHARS, or its lines in pieces that are (a line too long alone is cut)."""
    if block.size <= MAX_CHARS:
        return [block]
    pieces: list[_Block] = []
    # Line numbers of a block's lines: consecutive, except for PDF pages and HTML.
    span = max(1, block.end - block.start + 1)
    per_line = span / max(1, len(block.lines))
    current: list[str] = []
    first = 0

    def emit(upto: int) -> None:
        start = block.start + int(first * per_line)
        end = max(start, min(block.end, block.start + int((upto - 1) * per_line)))
        pieces.append(_Block(block.heading, start, end, current[:], block.code))

    for index, line in enumerate(block.lines):
        for part in [line[i : i + MAX_CHARS] for i in range(0, len(line), MAX_CHARS)] or [""]:
            if current and sum(len(x) + 1 for x in current) + len(part) + 1 > MAX_CHARS:
                emit(index)
                current, first = [], index
            current.append(part)
    if current:
        emit(len(block.lines))
    return pieces


def _chunk_of(block: _Block) -> ChunkText:
    return ChunkText(block.heading, block.start, block.end, "\n".join(block.lines).strip("\n"))


def _join(path: list[tuple[int, str]]) -> str:
    return HEADING_SEPARATOR.join(title for _, title in path)
