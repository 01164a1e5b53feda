"""A tool's output cut to what the model may read, with a marker for the rest.

Counting a megabyte through a tokenizer costs more than the call did, so only a
prefix that surely holds the limit is counted: a token covers at least one byte
of UTF-8, so text of at most `limit` bytes fits uncounted, and a prefix of
`limit * PREFIX_CHARS_PER_TOKEN` characters holds more than `limit` tokens of
any text a tokenizer was trained on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

PREFIX_CHARS_PER_TOKEN = 8
TRIES = 4


async def cut_output(text: str, limit: int, count: Callable[[str], Awaitable[int]]) -> tuple[str, int]:
    """`text` if it is within `limit` tokens, else its head within the limit and a marker;
    and about how many tokens were left out (0 when nothing was)."""
    if limit <= 0 or len(text.encode()) <= limit:
        return text, 0
    size = min(len(text), limit * PREFIX_CHARS_PER_TOKEN)
    tokens = await count(text[:size])
    if size == len(text) and tokens <= limit:
        return text, 0
    best = 0  # the longest head known to fit
    for _ in range(TRIES):
        if tokens <= limit:
            best = max(best, size)
            if size == len(text) or tokens >= limit * 0.9:
                break
        # Scale the head by how far its count is from the limit, aiming a little under:
        # tokens do not spread evenly over a text.
        size = min(len(text), max(1, int(size * limit * 0.95 / max(tokens, 1))))
        if size == best:
            break
        tokens = await count(text[:size])
    if tokens <= limit:
        best = max(best, size)
    if best == len(text):
        return text, 0
    if best == 0:  # a tokenizer that never came under: cut to a character a token
        best = limit
    chars_per_token = max(size / max(tokens, 1), 0.25)
    rest = len(text) - best
    left_out = max(1, round(rest / chars_per_token))
    marker = f"\n[… output cut: about {left_out:,} more tokens ({rest:,} characters) left out]"
    return text[:best] + marker, left_out
