"""The stream assembler turns cumulative chunks into the smallest change."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from yachat.core.assembler import StreamAssembler


def apply(chunks: list[str]) -> tuple[str, int]:
    assembler, shown, replaces = StreamAssembler(), "", 0
    for chunk in chunks:
        change = assembler.feed(chunk)
        if change is None:
            continue
        if change.replace:
            shown, replaces = change.text, replaces + 1
        else:
            shown += change.text
    return shown, replaces


def test_cumulative_chunks_become_suffixes() -> None:
    assembler = StreamAssembler()
    changes = [assembler.feed(t) for t in ["Hel", "Hello", "Hello, wor", "Hello, world"]]
    assert [(c.replace, c.text) for c in changes if c] == [
        (False, "Hel"),
        (False, "lo"),
        (False, ", wor"),
        (False, "ld"),
    ]


def test_repeated_chunk_changes_nothing() -> None:
    assembler = StreamAssembler()
    assembler.feed("same")
    assert assembler.feed("same") is None


def test_a_rewrite_is_a_replacement() -> None:
    assembler = StreamAssembler()
    assembler.feed("The secret is 42")
    change = assembler.feed("I can't talk about that.")
    assert change is not None and change.replace and change.text == "I can't talk about that."


@given(st.lists(st.text(max_size=30), max_size=40))
def test_any_sequence_yields_exactly_the_last_text(chunks: list[str]) -> None:
    shown, _ = apply(chunks)
    assert shown == (chunks[-1] if chunks else "")


@given(st.text(max_size=200), st.lists(st.integers(min_value=0, max_value=200), max_size=30))
def test_growing_prefixes_never_replace(final: str, cuts: list[int]) -> None:
    chunks = [final[:c] for c in sorted(cuts)] + [final]
    shown, replaces = apply(chunks)
    assert shown == final
    assert replaces == 0
