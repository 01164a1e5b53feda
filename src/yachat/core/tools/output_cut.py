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
    head = text[: limit * PREFIX_CHARS_PER_TOKEN]
    tokens = await count(head)
    if tokens <= limit and len(head) == len(text):
        return text, 0
    chars_per_token = max(len(head) / max(tokens, 1), 0.25)
    for _ in range(TRIES):
        if tokens <= limit:
            break
        # Aim a little under: tokens do not spread evenly over a text.
        head = head[: max(1, int(len(head) * limit / tokens * 0.95))]
        tokens = await count(head)
    if tokens > limit:  # a tokenizer that did not shrink as the text did: cut by characters
        head = head[: int(limit * min(chars_per_token, 1.0))]
    rest = len(text) - len(head)
    left_out = max(1, round(rest / chars_per_token))
    marker = f"\n[… output cut: about {left_out:,} more tokens ({rest:,} characters) left out]"
    return head + marker, left_out
