"""Tool calls through the transport layer: offered through the real SDK to a real `yachat serve`
(its scripted engine calls the tools named in the user's message), read back as StreamChunks,
and the calls and their results sent back on the next request, on both transports."""

from __future__ import annotations

import itertools
import json
import warnings
from typing import Any

import anyio
import pytest

from yachat.core.tools.spec import ToolSpec
from yachat.core.tools.wire import sdk_messages
from yachat.core.transport import StreamChunk, Transport, model_object, stream
from yachat.server.process import ServerProcess

from ..support import Script

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from yandex_ai_studio_sdk.auth import APIKeyAuth
    from yandex_cloud_ml_sdk import AsyncYCloudML

NUMBERS = {
    "type": "object",
    "properties": {"numbers": {"type": "array", "items": {"type": "integer"}}},
    "required": ["numbers"],
}
SOMETHING = ToolSpec("something", "does a SOMETHING with numbers", NUMBERS, "test")
SPOONING = ToolSpec("spooning", "does a SPOONING with numbers", NUMBERS, "test")
LOOKUP = ToolSpec(
    "lookup",
    "looks a word up",
    {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    "test",
)
ASK = "do a SOMETHING and SPOONING with all the numbers from: 5, 4, a, 1"
BOTH = pytest.mark.parametrize("transport", [Transport.GRPC, Transport.HTTP])


def sdk_for(server: ServerProcess) -> AsyncYCloudML:
    return AsyncYCloudML(
        folder_id="b1gtest",
        auth=APIKeyAuth(server.token),
        endpoint=server.address,
        verify=False,
        service_map={"http_completions": server.http_url},
    )


def chunks(server: ServerProcess, transport: Transport, prompt: Any, **config: Any) -> list[StreamChunk]:
    async def run() -> list[StreamChunk]:
        model = model_object(sdk_for(server), transport, "yandexgpt", "latest", **config)
        return [c async for c in stream(model, transport, prompt, timeout=30)]

    return anyio.run(run)


def calls_of(chunk: StreamChunk) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, json.loads(c.arguments)) for c in chunk.tool_calls]


@BOTH
def test_offered_tools_are_called_and_the_answer_ends_with_them(
    server: ServerProcess, script: Script, transport: Transport
) -> None:
    script.set()
    got = chunks(server, transport, [{"role": "user", "text": ASK}], tools=[SOMETHING, SPOONING])
    last = got[-1]
    assert last.status == "TOOL_CALLS"
    assert last.text == ""
    # Whole numbers arrive as integers on both (gRPC's Struct made them floats).
    assert calls_of(last) == [("something", {"numbers": [5, 4, 1]}), ("spooning", {"numbers": [5, 4, 1]})]
    assert [c.index for c in last.tool_calls] == [0, 1]
    ids = [c.call_id for c in last.tool_calls]
    assert all(ids) and len(set(ids)) == 2
    if transport is Transport.GRPC:
        assert ids == ["call_0", "call_1"]
    else:
        assert all(i.startswith("chatcmpl-tool-") for i in ids)
    assert last.usage is not None and last.usage.completion_tokens > 0


def test_on_the_chat_api_a_call_streams_its_name_first_then_its_arguments_growing(
    server: ServerProcess, script: Script
) -> None:
    script.set()
    got = chunks(server, Transport.HTTP, "please lookup: the meaning of platypus?", tools=[LOOKUP])
    with_calls = [c for c in got if c.tool_calls]
    first = with_calls[0].tool_calls[0]
    assert (first.name, first.arguments) == ("lookup", "")
    arguments = [c.tool_calls[0].arguments for c in with_calls]
    assert len(set(arguments)) > 2  # seen growing, piece by piece
    assert all(b.startswith(a) for a, b in itertools.pairwise(arguments))
    assert len({c.tool_calls[0].call_id for c in with_calls}) == 1
    assert [c.status for c in got[:-1]] == [None] * (len(got) - 1)
    assert got[-1].status == "TOOL_CALLS"
    assert json.loads(got[-1].tool_calls[0].arguments) == {"query": "the meaning of platypus"}


@BOTH
def test_without_parallel_calls_one_comes_per_answer(
    server: ServerProcess, script: Script, transport: Transport
) -> None:
    script.set()
    got = chunks(server, transport, ASK, tools=[SOMETHING, SPOONING], parallel_tool_calls=False)
    assert [c.name for c in got[-1].tool_calls] == ["something"]


@BOTH
def test_tool_choice(server: ServerProcess, script: Script, transport: Transport) -> None:
    script.set()
    tools = [SOMETHING, SPOONING, LOOKUP]
    none = chunks(server, transport, ASK, tools=tools, tool_choice="none")[-1]
    assert (none.status, none.tool_calls) == ("FINAL", ())
    assert none.text
    named = chunks(server, transport, ASK, tools=tools, tool_choice="lookup")[-1]
    assert [c.name for c in named.tool_calls] == ["lookup"]
    required = chunks(server, transport, "just numbers: 3", tools=tools, tool_choice="required")[-1]
    assert calls_of(required) == [("something", {"numbers": [3]})]
    auto = chunks(server, transport, "just numbers: 3", tools=tools, tool_choice="auto")[-1]
    assert (auto.status, auto.tool_calls) == ("FINAL", ())


@BOTH
def test_calls_and_results_are_sent_back_as_tool_turns(
    server: ServerProcess, script: Script, transport: Transport
) -> None:
    script.set()
    tools = [SOMETHING, SPOONING]
    user = {"role": "user", "text": ASK}
    first = chunks(server, transport, [user], tools=tools)[-1]
    assistant = {
        "role": "assistant",
        "text": "",
        "tool_calls": [
            {"id": c.call_id, "name": c.name, "arguments": json.loads(c.arguments)} for c in first.tool_calls
        ],
    }
    results = {
        "role": "tool",
        "tool_results": [
            {"id": c.call_id, "name": c.name, "content": f"{c.name} done"} for c in first.tool_calls
        ],
    }
    answer = chunks(server, transport, [user, assistant, results], tools=tools)[-1]
    assert answer.status == "FINAL"
    assert answer.tool_calls == ()
    assert answer.text == "something returned something done\nspooning returned spooning done"

    # The next turn carries the whole exchange and is a plain question again.
    later = [user, assistant, results, {"role": "assistant", "text": answer.text}]
    later.append({"role": "user", "text": "2 + 2"})
    again = chunks(server, transport, later, tools=tools)[-1]
    assert (again.status, again.text) == ("FINAL", "2 + 2 = 4")


@BOTH
def test_the_echo_shows_tool_turns_arrive_as_tool_turns(
    server: ServerProcess, script: Script, transport: Transport
) -> None:
    # The scripted engine's echo renders a call as name(arguments) and a result as "name returned
    # content": had the client flattened them into text, they would echo as the user's or the
    # assistant's words instead.
    script.set({"match": "echo", "echo": True})
    prompt = [
        {"role": "user", "text": "echo lookup"},
        {
            "role": "assistant",
            "text": "",
            "tool_calls": [{"id": "call_0", "name": "lookup", "arguments": {"query": "x"}}],
        },
        {"role": "tool", "tool_results": [{"id": "call_0", "name": "lookup", "content": "found"}]},
    ]
    got = chunks(server, transport, prompt, tools=[LOOKUP])[-1]
    assert got.text.splitlines() == [
        "user: echo lookup",
        'assistant: lookup({"query": "x"})',
        "tool: lookup returned found",
    ]


def test_grpc_tokenize_counts_tool_turns(server: ServerProcess) -> None:
    prompt = [
        {"role": "user", "text": "lookup platypus"},
        {
            "role": "assistant",
            "text": "",
            "tool_calls": [{"id": "call_0", "name": "lookup", "arguments": {"query": "platypus"}}],
        },
        {
            "role": "tool",
            "tool_results": [{"id": "call_0", "name": "lookup", "content": "an egg-laying mammal"}],
        },
    ]

    async def count(messages: list[Any]) -> int:
        model = sdk_for(server).models.completions("yandexgpt", model_version="latest")
        return len(await model.tokenize(sdk_messages(Transport.GRPC, messages), timeout=30))

    whole = anyio.run(count, prompt)
    assert whole > anyio.run(count, prompt[:1]) + len(["an", "egg-laying", "mammal"])
