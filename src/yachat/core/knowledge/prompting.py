"""Passages from the user's files as the model reads them: numbered, with where
each was found, and the instruction to cite them by number."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from yachat.store.knowledge import Passage

# The most passages one answer is given, and the share of the prompt's budget they may take:
# the rest is the conversation's.
PASSAGES_AT_MOST = 6
KNOWLEDGE_SHARE = 0.5
# The turns before the question that join it in the search (a follow-up names little itself).
RECENT_TURNS = 2

CITE = (
    "Passages from the user's files follow, numbered. Answer from them when they are relevant, "
    "and cite each passage you use by its number in square brackets, like [1] or [2]. "
    "If they do not hold the answer, say so, then answer from what you know."
)


def label(passage: Passage) -> str:
    where = dataclasses.replace(passage, path=Path(passage.path).name).where
    return f"{where} ({passage.heading})" if passage.heading else where


def passage_text(passage: Passage) -> str:
    return f"[{passage.number}] {label(passage)}\n{passage.text}"


def numbered(passages: Sequence[Passage]) -> list[Passage]:
    return [dataclasses.replace(p, number=i) for i, p in enumerate(passages, start=1)]


def with_knowledge(instruction: str, passages: Sequence[Passage]) -> str:
    """The system text: the assistant's instruction, then the passages (already numbered)."""
    if not passages:
        return instruction
    block = "\n\n".join(passage_text(p) for p in passages)
    head = f"{instruction}\n\n" if instruction else ""
    return f"{head}{CITE}\n\n{block}"
