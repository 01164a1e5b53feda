"""The chat core on both transports: the model decides, everything else is the same.

A chat-API-only model (qwen3) goes over the local server's OpenAI-compatible
HTTP API, a YandexGPT model over gRPC; the same real server answers both.
"""

from __future__ import annotations

import anyio
import pytest

from yachat.core.chat import ChatCore
from yachat.core.events import ReasoningDelta, RunEvent, TextDelta
from yachat.core.transport import Transport
from yachat.store.models import MessageStatus, RunStatus

from ..support import Script


def send(core: ChatCore, thread_id: int, text: str) -> tuple[RunEvent, list[RunEvent]]:
    updates: list[RunEvent] = []

    async def main() -> RunEvent:
        return await core.send(thread_id, text, updates.append)

    return anyio.run(main), updates


def thread_with(core: ChatCore, model: str, **assistant: object) -> int:
    made = core.store.create_assistant("test", model, **assistant)  # type: ignore[arg-type]
    return core.new_thread(assistant_id=made.id).id


@pytest.mark.parametrize(
    ("model", "transport"),
    [
        ("yandexgpt/rc", Transport.GRPC),
        ("qwen3-235b-a22b-fp8", Transport.HTTP),
        ("gemma-3-27b-it", Transport.HTTP),
    ],
)
def test_the_model_decides_the_transport(
    core: ChatCore, script: Script, model: str, transport: Transport
) -> None:
    script.set({"match": "capital", "answer": "Paris is the capital of France.", "chunk_chars": 6})
    thread_id = thread_with(core, model)
    final, updates = send(core, thread_id, "the capital of France?")
    assert final.status is RunStatus.COMPLETED and final.text == "Paris is the capital of France."
    assert [type(u) for u in updates].count(TextDelta) > 2  # it streamed
    run = core.store.get_run(final.run_id)
    assert run is not None and run.transport == transport and run.model_uri == model
    assert final.usage is not None and final.usage.completion_tokens > 0
    assert run.finish_reason == "FINAL"


def test_the_assistant_may_choose_the_transport(core: ChatCore, script: Script) -> None:
    script.set({"match": "hi", "answer": "Hello!"})
    thread_id = thread_with(core, "yandexgpt/latest", transport="http")
    final, _ = send(core, thread_id, "hi")
    run = core.store.get_run(final.run_id)
    assert final.text == "Hello!" and run is not None and run.transport == Transport.HTTP


def test_reasoning_streams_first_is_stored_and_never_sent_back(core: ChatCore, script: Script) -> None:
    script.set(
        {"match": "sum", "reasoning": "Add 2 and 2, carefully.", "answer": "The sum is 4.", "chunk_chars": 5},
    )
    thread_id = thread_with(core, "qwen3-235b-a22b-fp8", reasoning_mode="high")
    final, updates = send(core, thread_id, "the sum of 2 and 2")
    kinds = [type(u) for u in updates]
    assert kinds.index(ReasoningDelta) < kinds.index(TextDelta)
    assert "".join(u.text for u in updates if isinstance(u, ReasoningDelta)) == "Add 2 and 2, carefully."
    assert final.reasoning == "Add 2 and 2, carefully." and final.text == "The sum is 4."
    answer = core.store.list_messages(thread_id)[-1]
    assert (answer.reasoning, answer.status) == ("Add 2 and 2, carefully.", MessageStatus.COMPLETE)
    assert final.usage is not None and final.usage.completion_tokens > 0
    # Reasoning is searchable...
    assert answer.id in {h.message_id for h in core.store.search("carefully")}
    # ...and the next prompt holds the answer, never the reasoning: the server echoes
    # what it was sent when asked to.
    script.set({"match": "echo", "echo": True})
    again, _ = send(core, thread_id, "echo")
    assert "The sum is 4." in again.text and "carefully" not in again.text


def test_hidden_reasoning_over_grpc_is_counted(core: ChatCore, script: Script) -> None:
    script.set({"match": "think", "reasoning": "one two three four", "answer": "Done.", "chunk_chars": 4})
    thread_id = thread_with(core, "yandexgpt/latest", reasoning_mode="enabled_hidden")
    final, updates = send(core, thread_id, "think about it")
    assert ReasoningDelta not in [type(u) for u in updates]
    assert final.text == "Done." and final.reasoning == ""
    assert final.usage is not None and final.usage.reasoning_tokens > 0
    run = core.store.get_run(final.run_id)
    assert run is not None and run.reasoning_tokens == final.usage.reasoning_tokens


@pytest.mark.parametrize("model", ["yandexgpt-lite", "gpt-oss-20b"])
def test_an_answer_cut_by_max_tokens_is_truncated_on_either_transport(
    core: ChatCore, script: Script, model: str
) -> None:
    script.set({"match": "long", "answer": "word " * 200, "chunk_chars": 10})
    thread_id = thread_with(core, model, max_tokens=12)
    final, _ = send(core, thread_id, "a long answer")
    assert final.status is RunStatus.COMPLETED and final.truncated
    assert final.usage is not None and final.usage.completion_tokens == 12


@pytest.mark.parametrize("model", ["yandexgpt", "qwen3-235b-a22b-fp8"])
def test_a_failure_mid_answer_keeps_the_part_on_either_transport(
    core: ChatCore, script: Script, model: str
) -> None:
    script.set(
        {"match": "fail", "answer": "a partial answer that breaks", "chunk_chars": 4,
         "fault": {"kind": "status", "code": "INTERNAL", "message": "model crashed", "after_chunks": 3}}
    )  # fmt: skip
    thread_id = thread_with(core, model)
    final, _ = send(core, thread_id, "fail please")
    assert final.status is RunStatus.FAILED and final.error
    assert final.text == "a partial an"
    assert core.store.list_messages(thread_id)[-1].status == MessageStatus.FAILED
