"""Both transports come out the same: text, reasoning, usage and how the answer ended.

One real `yachat serve` process serves both (gRPC, and the chat API on its HTTP
port), over the real SDK, answering from the same script.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import anyio
import pytest

from yachat.core.transport import StreamChunk, Transport, model_object, stream
from yachat.server.process import ServerProcess

from ..support import Script

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from yandex_ai_studio_sdk.auth import APIKeyAuth
    from yandex_cloud_ml_sdk import AsyncYCloudML


def chunks(server: ServerProcess, transport: Transport, prompt: str, **config: Any) -> list[StreamChunk]:
    async def run() -> list[StreamChunk]:
        sdk = AsyncYCloudML(
            folder_id="b1gtest",
            auth=APIKeyAuth(server.token),
            endpoint=server.address,
            verify=False,
            service_map={"http_completions": server.http_url},
        )
        model = model_object(sdk, transport, "yandexgpt", "latest", **config)
        return [c async for c in stream(model, transport, prompt, timeout=30)]

    return anyio.run(run)


BOTH = pytest.mark.parametrize("transport", [Transport.GRPC, Transport.HTTP])


@BOTH
def test_an_answer_grows_then_ends_final(server: ServerProcess, script: Script, transport: Transport) -> None:
    answer = "Two plus two is four, as every schoolchild knows."
    script.set({"match": "2 + 2", "answer": answer, "chunk_chars": 7})
    got = chunks(server, transport, "what is 2 + 2")
    texts = [c.text for c in got]
    assert all(b.startswith(a) for a, b in itertools.pairwise(texts))
    assert texts[-1] == answer
    assert [c.status for c in got[:-1]] == [None] * (len(got) - 1)
    assert got[-1].status == "FINAL"
    usage = got[-1].usage
    assert usage is not None and usage.completion_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.completion_tokens
    assert got[-1].model_version


@BOTH
def test_an_answer_cut_by_max_tokens_is_truncated(
    server: ServerProcess, script: Script, transport: Transport
) -> None:
    script.set({"match": "long", "answer": "word " * 100, "chunk_chars": 5})
    got = chunks(server, transport, "a long one", max_tokens=8)
    assert got[-1].status == "TRUNCATED_FINAL"
    assert got[-1].usage is not None and got[-1].usage.completion_tokens == 8


@BOTH
def test_content_filter_replaces_the_answer(
    server: ServerProcess, script: Script, transport: Transport
) -> None:
    script.set(
        {"match": "forbidden", "answer": "Sure, here is", "chunk_chars": 4,
         "fault": {"kind": "rewrite", "after_chunks": 2, "text": "I can't discuss that."}}
    )  # fmt: skip
    got = chunks(server, transport, "something forbidden")
    assert got[-1].status == "CONTENT_FILTER"
    assert got[-1].text == "I can't discuss that."


def test_reasoning_streams_over_http_and_is_counted_over_grpc(server: ServerProcess, script: Script) -> None:
    script.set(
        {
            "match": "think",
            "reasoning": "Let me add the numbers first.",
            "answer": "It is 4.",
            "chunk_chars": 6,
        }
    )
    over_http = chunks(server, Transport.HTTP, "think: 2+2", reasoning_mode="high")
    reasoning = [c.reasoning for c in over_http]
    assert reasoning[-1] == "Let me add the numbers first."
    # Reasoning comes first: some chunks have reasoning and no answer yet.
    assert any(c.reasoning and not c.text for c in over_http)
    assert over_http[-1].text == "It is 4."

    over_grpc = chunks(server, Transport.GRPC, "think: 2+2", reasoning_mode="enabled_hidden")
    assert all(c.reasoning == "" for c in over_grpc)
    assert over_grpc[-1].text == "It is 4."
    usage = over_grpc[-1].usage
    assert usage is not None and usage.reasoning_tokens > 0
