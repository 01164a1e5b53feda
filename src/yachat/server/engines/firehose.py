"""The firehose engine: a long Markdown answer in many small chunks, for benchmarks."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from functools import cache

from yachat.server.engines.base import ChatMessage, GenerationRequest, Piece, Token
from yachat.server.engines.text_tokens import prompt_tokens

DEFAULT_CHUNKS = 2000
TARGET_CHARS = 30_000

_SECTION = """## Section {n}: {title}

Streaming answers should feel **instant**: each chunk lands in the pane as soon
as it arrives, and `inline code` or *emphasis* never breaks the layout.

- item one of section {n}, with a [link](https://example.com/{n})
- item two, a little longer so that it wraps on narrow terminals and tests reflow
- item three
  1. nested ordered
  2. and another

| metric | value | note |
|---|---:|---|
| chunks | {n}00 | per answer |
| latency | {n}.5 ms | p99 |

```python
def section_{n}(values: list[int]) -> int:
    # sum the squares, skipping negatives
    return sum(v * v for v in values if v >= 0)
```

> A quoted remark for section {n}, to exercise block quotes.

```sql
SELECT id, name FROM threads WHERE updated_at > {n} ORDER BY updated_at DESC;
```

"""

_TITLES = ["Transport", "Parsing", "Layout", "Painting", "Scrolling", "Searching", "Storing"]


@cache
def firehose_text() -> str:
    parts = ["# A long answer\n\n"]
    n = 1
    while sum(map(len, parts)) < TARGET_CHARS:
        parts.append(_SECTION.format(n=n, title=_TITLES[n % len(_TITLES)]))
        n += 1
    return "".join(parts)


def firehose_chunks(count: int) -> list[str]:
    text = firehose_text()
    size, extra = divmod(len(text), count)
    chunks, pos = [], 0
    for i in range(count):
        step = size + (1 if i < extra else 0)
        chunks.append(text[pos : pos + step])
        pos += step
    return [c for c in chunks if c]


class FirehoseEngine:
    name = "firehose"
    model_name = "firehose"
    model_version = "firehose"
    max_answer_tokens: int | None = None
    parallel = True
    tool_calls = False

    def __init__(
        self, chunks: int | None = None, rate: float | None = None, context: int | None = None
    ) -> None:
        self.context = context or 32_768
        self.chunks = chunks or int(os.environ.get("YACHAT_FIREHOSE_CHUNKS") or DEFAULT_CHUNKS)
        self.rate = rate if rate is not None else float(os.environ.get("YACHAT_FIREHOSE_RATE") or 0)

    def tokenize(self, messages: tuple[ChatMessage, ...]) -> list[Token]:
        return prompt_tokens(messages)

    def generate(self, request: GenerationRequest) -> Iterator[Piece]:
        interval = 1.0 / self.rate if self.rate > 0 else 0.0
        started = time.monotonic()
        for i, chunk in enumerate(firehose_chunks(self.chunks)):
            if interval:
                # Pace against the start, not the previous chunk, so the rate holds.
                wait = started + i * interval - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            if request.should_stop():
                return
            yield Piece(chunk, tokens=1)
