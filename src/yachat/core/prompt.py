"""Assemble what the model sees: the instruction, then the history, truncated
by the assistant's rules (last N messages and/or a prompt token budget)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from yachat.store.models import Assistant, Message, MessageStatus

PromptMessage = dict[str, str]
TokenCounter = Callable[[list[PromptMessage]], Awaitable[int]]

# Answers that never produced text say nothing the model should see again.
_SKIPPED = {MessageStatus.STREAMING}


def history_messages(messages: Sequence[Message]) -> list[PromptMessage]:
    return [
        {"role": m.role, "text": m.text}
        for m in messages
        if m.role in ("user", "assistant") and m.text.strip() and m.status not in _SKIPPED
    ]


async def build_prompt(
    assistant: Assistant,
    messages: Sequence[Message],
    count_tokens: TokenCounter | None = None,
) -> list[PromptMessage]:
    history = history_messages(messages)
    if assistant.keep_last_messages:
        history = history[-assistant.keep_last_messages :]
    system = [{"role": "system", "text": assistant.instruction}] if assistant.instruction else []

    budget = assistant.prompt_token_budget
    if budget and count_tokens is not None and history:
        history = await _fit_budget(system, history, budget, count_tokens)
    return system + history


async def _fit_budget(
    system: list[PromptMessage],
    history: list[PromptMessage],
    budget: int,
    count_tokens: TokenCounter,
) -> list[PromptMessage]:
    """Drop the oldest messages until the prompt fits, always keeping the last one.

    Each round estimates how many characters to drop from the measured excess,
    so a long thread needs a handful of tokenize calls, not one per message.
    """
    for _ in range(8):
        used = await count_tokens(system + history)
        if used <= budget or len(history) == 1:
            return history
        chars = sum(len(m["text"]) for m in history) or 1
        excess_chars = (used - budget) * chars / used
        drop, dropped_chars = 0, 0
        while drop < len(history) - 1 and dropped_chars < excess_chars:
            dropped_chars += len(history[drop]["text"])
            drop += 1
        history = history[max(drop, 1) :]
    return history
