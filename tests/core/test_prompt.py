"""The prompt: instruction first, then the newest history that fits the token budget."""

from __future__ import annotations

import anyio
import pytest

from yachat.core.model_catalog import UNKNOWN_CONTEXT_TOKENS, context_tokens
from yachat.core.prompt import (
    FittedPrompt,
    MessageCounts,
    PromptMessage,
    PromptTooLong,
    build_prompt,
    history_messages,
    prompt_budget,
)
from yachat.server.engines.base import ChatMessage
from yachat.server.engines.text_tokens import prompt_tokens
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


def texts(fitted: FittedPrompt) -> list[str]:
    return [m["text"] for m in fitted.messages]


def test_instruction_then_whole_history() -> None:
    fitted = anyio.run(build_prompt, assistant(), history(4))
    assert fitted.messages[0] == {"role": "system", "text": "Be brief."}
    assert [m["role"] for m in fitted.messages[1:]] == ["user", "assistant", "user", "assistant"]
    assert fitted.omitted == 0 and fitted.first_sent_id == 0


def test_keep_last_n() -> None:
    fitted = anyio.run(build_prompt, assistant(keep_last_messages=3), history(10))
    assert [t.split()[1] for t in texts(fitted)[1:]] == ["7", "8", "9"]
    assert fitted.omitted == 7 and fitted.first_sent_id == 7


def test_empty_and_streaming_answers_are_left_out() -> None:
    msgs = history(2) + [Message(9, 1, "assistant", "", MessageStatus.FAILED, 9.0, None)]
    fitted = anyio.run(build_prompt, assistant(instruction=""), msgs)
    assert len(fitted.messages) == 2


# The scripted engine's tokenizer, the one the local test server counts with:
# a start and an end token per prompt, a role marker and the words per message.
async def scripted_count(messages: list[PromptMessage]) -> int:
    return len(prompt_tokens(tuple(ChatMessage(m["role"], m["text"]) for m in messages)))


class CountingCounter:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, messages: list[PromptMessage]) -> int:
        self.calls += 1
        return await scripted_count(messages)


def long_history(n: int, words: int = 30) -> list[Message]:
    return [
        Message(
            i, 1, "user" if i % 2 == 0 else "assistant",
            f"message {i} " + " ".join(f"w{j}" for j in range(words)), MessageStatus.COMPLETE, float(i), None,
        )
        for i in range(n)
    ]  # fmt: skip


def fit(messages: list[Message], budget: int, counts: MessageCounts) -> FittedPrompt:
    async def main() -> FittedPrompt:
        return await build_prompt(assistant(), messages, counts, budget)

    return anyio.run(main)


def test_budget_keeps_the_newest_messages_that_fit_and_no_more() -> None:
    counter = CountingCounter()
    counts = MessageCounts("scripted", counter)
    msgs = long_history(60)
    fitted = fit(msgs, 500, counts)
    tokens = anyio.run(scripted_count, fitted.messages)
    assert fitted.tokens == tokens <= 500
    assert texts(fitted)[0] == "Be brief." and texts(fitted)[-1].startswith("message 59 ")
    kept = len(fitted.messages) - 1
    assert fitted.omitted == 60 - kept and fitted.first_sent_id == 60 - kept
    # The best cut: one more older message would not have fitted.
    one_more = [{"role": "system", "text": "Be brief."}] + history_messages(msgs[60 - kept - 1 :])
    assert anyio.run(scripted_count, one_more) > 500
    # Each message counted once (only those near the cut), plus a check or two.
    assert counter.calls <= kept + 8 + 1 + 3
    assert set(counts.new) <= {m.id for m in msgs}

    # The next turn counts only the new messages: the rest are known.
    counter.calls = 0
    msgs += long_history(62)[60:]
    again = fit(msgs, 500, counts)
    assert texts(again)[-1].startswith("message 61 ") and again.tokens is not None and again.tokens <= 500
    assert counter.calls <= 2 + 2  # two new messages, one check (two if the cut moves back)


def test_counts_kept_with_the_message_are_used() -> None:
    counter = CountingCounter()
    first = MessageCounts("scripted", counter)
    msgs = long_history(40)
    fit(msgs, 400, first)
    stored = [
        Message(
            m.id, m.thread_id, m.role, m.text, m.status, m.created_at, None, first.new.get(m.id), "scripted"
        )
        for m in msgs
    ]
    counter.calls = 0
    fresh = MessageCounts("scripted", counter)
    fitted = fit(stored, 400, fresh)
    assert fitted.tokens is not None and fitted.tokens <= 400
    assert counter.calls <= 3  # the instruction, a check, perhaps one more


def test_a_short_thread_costs_one_call() -> None:
    counter = CountingCounter()
    fitted = fit(history(6), 7000, MessageCounts("scripted", counter))
    assert fitted.omitted == 0 and counter.calls == 1 and fitted.tokens


def test_newest_message_too_long_says_by_how_much() -> None:
    msgs = long_history(3) + [
        Message(3, 1, "user", " ".join(["word"] * 600), MessageStatus.COMPLETE, 3.0, None)
    ]
    with pytest.raises(PromptTooLong) as caught:
        fit(msgs, 500, MessageCounts("scripted", scripted_count))
    needed = anyio.run(scripted_count, [{"role": "system", "text": "Be brief."}] + history_messages(msgs[3:]))
    assert caught.value.over == needed - 500 > 0
    assert f"{needed - 500:,} more than the 500" in caught.value.message


def test_budget_is_the_smaller_of_the_assistants_and_what_the_context_leaves() -> None:
    assert prompt_budget(assistant(prompt_token_budget=None, max_tokens=2000), 32_768) == 7000
    assert prompt_budget(assistant(prompt_token_budget=None, max_tokens=2000), 8192) == 6192
    assert prompt_budget(assistant(prompt_token_budget=3000, max_tokens=None), 131_072) == 3000
    # A small context still leaves the prompt half of it.
    assert prompt_budget(assistant(prompt_token_budget=7000, max_tokens=2000), 2048) == 1024


def test_catalogue_knows_the_cloud_models() -> None:
    assert context_tokens("yandexgpt/latest") == context_tokens("yandexgpt/rc") == 32_768
    assert context_tokens("yandexgpt-lite") == context_tokens("aliceai-llm") == 32_768
    assert context_tokens("gpt://b1g/qwen3-235b-a22b-fp8/latest") == 262_144
    assert context_tokens("gpt-oss-20b") == context_tokens("gemma-3-27b-it") == 131_072
    assert context_tokens("someone-elses-model") == UNKNOWN_CONTEXT_TOKENS == 8192


def test_a_prompt_sure_to_fit_is_left_to_count_later_and_one_that_may_not_is_counted() -> None:
    counter = CountingCounter()

    async def main(msgs: list[Message], budget: int) -> FittedPrompt:
        return await build_prompt(
            assistant(), msgs, MessageCounts("scripted", counter), budget, count_later=True
        )

    short = anyio.run(main, history(6), 7000)
    assert short.tokens is None and short.omitted == 0 and counter.calls == 0
    assert len(short.messages) == 1 + 6
    # Over its upper bound, though it may fit by the count: counted now, and fitted.
    long = anyio.run(main, long_history(60), 500)
    assert long.tokens is not None and long.tokens <= 500 and long.omitted > 0 and counter.calls > 0
