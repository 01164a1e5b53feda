"""The prompt: instruction first, then history truncated by the assistant's rules."""

from __future__ import annotations

import anyio

from yachat.core.prompt import PromptMessage, build_prompt
from yachat.store.models import Assistant, Message, MessageStatus


def assistant(**kw: object) -> Assistant:
    fields: dict[str, object] = {
        "id": 1,
        "name": "a",
        "model": "yandexgpt/latest",
        "instruction": "Be brief.",
        "temperature": 0.3,
        "max_tokens": 100,
        "keep_last_messages": None,
        "prompt_token_budget": None,
        "created_at": 0.0,
    }
    fields.update(kw)
    return Assistant(**fields)  # type: ignore[arg-type]


def history(n: int) -> list[Message]:
    return [
        Message(
            i,
            1,
            "user" if i % 2 == 0 else "assistant",
            f"message {i} " + "x" * 40,
            MessageStatus.COMPLETE,
            float(i),
            None,
        )
        for i in range(n)
    ]


def test_instruction_then_whole_history() -> None:
    prompt = anyio.run(build_prompt, assistant(), history(4))
    assert prompt[0] == {"role": "system", "text": "Be brief."}
    assert [m["role"] for m in prompt[1:]] == ["user", "assistant", "user", "assistant"]


def test_keep_last_n() -> None:
    prompt = anyio.run(build_prompt, assistant(keep_last_messages=3), history(10))
    assert [m["text"].split()[1] for m in prompt[1:]] == ["7", "8", "9"]


def test_empty_and_streaming_answers_are_left_out() -> None:
    msgs = history(2) + [Message(9, 1, "assistant", "", MessageStatus.FAILED, 9.0, None)]
    prompt = anyio.run(build_prompt, assistant(instruction=""), msgs)
    assert len(prompt) == 2


def test_token_budget_drops_oldest_but_keeps_last() -> None:
    calls = []

    async def count(messages: list[PromptMessage]) -> int:
        calls.append(len(messages))
        return sum(len(m["text"]) // 4 for m in messages)  # ~4 chars a token

    prompt = anyio.run(build_prompt, assistant(prompt_token_budget=40), history(20), count)
    used = sum(len(m["text"]) // 4 for m in prompt)
    assert used <= 40
    assert prompt[-1]["text"].startswith("message 19")
    assert len(calls) <= 8  # a handful of tokenize calls, not one per message
