"""A tool's output is cut to the token limit, with a marker saying how much was left out."""

from __future__ import annotations

import anyio

from yachat.core.tools.output_cut import cut_output


def by_words(text: str) -> int:
    return len(text.split())


async def counted(text: str) -> int:
    return by_words(text)


def test_short_output_is_whole() -> None:
    assert anyio.run(cut_output, "a few words", 4000, counted) == ("a few words", 0)


def test_long_output_is_cut_within_the_limit_and_marked() -> None:
    words = " ".join(f"w{i}" for i in range(50_000))
    head, left_out = anyio.run(cut_output, words, 1000, counted)
    kept = head.split("\n[…")[0]
    assert by_words(kept) <= 1000 and by_words(kept) > 800  # close to the limit, never over
    assert words.startswith(kept)
    assert "output cut: about" in head and 49_000 / 1.5 < left_out < 49_000 * 1.5  # an estimate


def test_text_of_few_tokens_per_character_keeps_more_than_the_first_guess() -> None:
    """A tokenizer that makes one token of a long run of characters: the head grows to the limit."""
    lines = ("0123456789abcdef" * 4 + "\n") * 20_000  # 1.3 MB, one token a line
    head, left_out = anyio.run(cut_output, lines, 1000, counted)
    kept = head.split("\n[…")[0]
    assert 900 <= by_words(kept) <= 1000
    assert left_out > 15_000
