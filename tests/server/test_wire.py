"""The local server's wire behaviour, through the real SDK over real gRPC.

The structure asserted here is what the real server's recordings show
(shared/recordings/completions_test_run_stream.json) and what the SDK's own
test_run_stream checks.
"""

from __future__ import annotations

import itertools
import time
import warnings
from typing import Any

import anyio
import grpc
import pytest

from yachat.server.process import ServerProcess

from ..support import Script

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from yandex_ai_studio_sdk._models.completions.result import AlternativeStatus
    from yandex_ai_studio_sdk.auth import APIKeyAuth, IAMTokenAuth, NoAuth
    from yandex_cloud_ml_sdk import AsyncYCloudML


def sdk(server: ServerProcess, auth: Any = None) -> AsyncYCloudML:
    return AsyncYCloudML(
        folder_id="b1gtest",
        auth=auth if auth is not None else APIKeyAuth(server.token),
        endpoint=server.address,
        verify=False,
    )


def model(server: ServerProcess, auth: Any = None, **config: Any) -> Any:
    m = sdk(server, auth).models.completions("yandexgpt", model_version="rc")
    return m.configure(**config) if config else m


async def collect(m: Any, messages: Any) -> list[Any]:
    return [r async for r in m.run_stream(messages)]


def test_streamed_run_has_the_recorded_structure(server: ServerProcess, script: Script) -> None:
    answer = "Platypuses are egg-laying mammals found only in eastern Australia."
    script.set({"match": "platypus", "answer": answer, "chunk_chars": 9})
    results = anyio.run(collect, model(server), "tell me about a platypus")
    assert len(results) > 1
    assert all(r.alternatives[0].status == AlternativeStatus.PARTIAL for r in results[:-1])
    assert results[-1].alternatives[0].status == AlternativeStatus.FINAL
    texts = [r.alternatives[0].text for r in results]
    assert all(len(r.alternatives) == 1 and r.alternatives[0].role == "assistant" for r in results)
    assert all(texts) and texts[-1] == answer
    assert all(b.startswith(a) for a, b in itertools.pairwise(texts))  # cumulative
    completion = [r.usage.completion_tokens for r in results]
    assert all(a < b for a, b in itertools.pairwise(completion))
    assert len({r.usage.input_text_tokens for r in results}) == 1
    assert all(r.usage.total_tokens == r.usage.input_text_tokens + r.usage.completion_tokens for r in results)
    assert all(r.model_version for r in results)


def test_unary_run_is_one_final_answer(server: ServerProcess) -> None:
    result = anyio.run(model(server).run, [{"role": "user", "text": "2 + 2"}])
    assert result.alternatives[0].status == AlternativeStatus.FINAL
    assert result.alternatives[0].text == "2 + 2 = 4"
    assert result.usage.completion_tokens > 0


def test_max_tokens_truncates(server: ServerProcess, script: Script) -> None:
    script.set({"match": "long", "answer": "word " * 100, "chunk_chars": 5})
    results = anyio.run(collect, model(server, max_tokens=7), "a long answer")
    assert results[-1].alternatives[0].status == AlternativeStatus.TRUNCATED_FINAL
    assert results[-1].usage.completion_tokens == 7


def test_tokenize_returns_tokens(server: ServerProcess) -> None:
    tokens = anyio.run(model(server).tokenize, "ping pong")
    texts = [t.text for t in tokens]
    assert "ping" in " ".join(texts) and any(t.special for t in tokens)


def test_endpoint_discovery_needs_no_auth(server: ServerProcess) -> None:
    from yandex.cloud.endpoint import api_endpoint_service_pb2 as pb
    from yandex.cloud.endpoint import api_endpoint_service_pb2_grpc as rpc

    with grpc.insecure_channel(server.address) as channel:
        reply = rpc.ApiEndpointServiceStub(channel).List(pb.ListApiEndpointsRequest(), timeout=5)
    found = {e.id: e.address for e in reply.endpoints}
    assert found["ai-foundation-models"] == server.address


@pytest.mark.parametrize("auth", ["wrong", "none", "bearer-wrong"])
def test_bad_or_missing_token_is_unauthenticated(server: ServerProcess, auth: str) -> None:
    credential = {"wrong": APIKeyAuth("nope"), "none": NoAuth(), "bearer-wrong": IAMTokenAuth("t1.x")}[auth]
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        anyio.run(collect, model(server, credential), "hello")
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "token" in (err.value.details() or "")
    assert time.monotonic() - started < 1.0  # not retried


def test_bearer_with_the_right_token_is_accepted(server: ServerProcess) -> None:
    # IAMTokenAuth sends "Bearer <token>".
    result = anyio.run(model(server, IAMTokenAuth(server.token)).run, "2 + 3")
    assert result.alternatives[0].text == "2 + 3 = 5"


@pytest.mark.parametrize(
    ("messages", "config", "needle"),
    [
        ([], {}, "at least one message"),
        ([{"role": "robot", "text": "hi"}], {}, "role"),
        ("hi", {"temperature": 5.0}, "temperature"),
    ],
)
def test_bad_arguments_are_invalid_argument(
    server: ServerProcess, messages: Any, config: dict[str, Any], needle: str
) -> None:
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        anyio.run(collect, model(server, **config), messages)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in (err.value.details() or "")
    assert time.monotonic() - started < 1.0  # not retried


def test_bad_model_uri_is_invalid_argument(server: ServerProcess) -> None:
    from yandex.cloud.ai.foundation_models.v1.text_generation import text_generation_service_pb2 as tg
    from yandex.cloud.ai.foundation_models.v1.text_generation import (
        text_generation_service_pb2_grpc as tg_grpc,
    )

    request = tg.CompletionRequest(model_uri="not-a-uri")
    request.messages.add(role="user", text="hi")
    with grpc.insecure_channel(server.address) as channel:
        stub = tg_grpc.TextGenerationServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            list(stub.Completion(request, metadata=[("authorization", f"Api-Key {server.token}")]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]


def test_cancel_stops_generation_promptly(server: ServerProcess, script: Script) -> None:
    script.set({"match": "slow", "answer": "tick " * 1000, "chunk_chars": 5, "delay_ms": 10})

    async def main() -> float:
        received = 0
        async with anyio.create_task_group() as tg:

            async def consume() -> None:
                nonlocal received
                async for _ in model(server).run_stream("slow please"):
                    received += 1

            tg.start_soon(consume)
            while received < 5:
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
        # The server is free at once: a fresh request is answered promptly.
        started = time.monotonic()
        await model(server).run("2 + 2")
        return time.monotonic() - started

    assert anyio.run(main) < 1.0
    # The server's generation loop ended early, far from the 1,000 tokens asked for.
    deadline = time.monotonic() + 2
    while True:
        stopped = [line for line in server.log_path.read_text().splitlines() if "client cancelled" in line]
        if stopped or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert stopped, "the server did not notice the cancel"
    assert int(stopped[-1].split("after ")[1].split()[0]) < 100


def test_concurrent_streams_are_served_in_parallel(server: ServerProcess, script: Script) -> None:
    script.set(
        *[
            {
                "match": f"client-{i}",
                "answer": f"answer for client {i} " * 5,
                "chunk_chars": 10,
                "delay_ms": 20,
            }
            for i in range(5)
        ]
    )

    async def main() -> tuple[list[str], float]:
        texts = [""] * 5
        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for i in range(5):

                async def one(i: int = i) -> None:
                    results = await collect(model(server), f"client-{i}")
                    texts[i] = results[-1].alternatives[0].text

                tg.start_soon(one)
        return texts, time.monotonic() - started

    texts, elapsed = anyio.run(main)
    assert texts == [f"answer for client {i} " * 5 for i in range(5)]
    one_stream = 11 * 0.02  # 11 chunks of 20 ms each
    assert elapsed < 5 * one_stream  # parallel, not queued one after another


def test_status_fault_after_chunks(server: ServerProcess, script: Script) -> None:
    script.set(
        {
            "match": "fail",
            "answer": "abcdefghijklmnop",
            "chunk_chars": 2,
            "fault": {"kind": "status", "code": "INTERNAL", "message": "engine exploded", "after_chunks": 3},
        }
    )
    received: list[str] = []

    async def main() -> None:
        async for r in model(server).run_stream("fail now"):
            received.append(r.alternatives[0].text)

    with pytest.raises(grpc.aio.AioRpcError) as err:
        anyio.run(main)
    assert err.value.code() == grpc.StatusCode.INTERNAL and err.value.details() == "engine exploded"
    assert received and received[-1] in ("abcd", "abcdef")  # the chunks before the fault arrived


def test_unavailable_fault_is_retried_by_the_sdk(server: ServerProcess, script: Script) -> None:
    script.set(
        {"match": "flaky", "times": 1, "fault": {"kind": "status", "code": "UNAVAILABLE", "after_chunks": 0}},
        {"match": "flaky", "answer": "second time lucky"},
    )
    results = anyio.run(collect, model(server), "flaky")
    assert results[-1].alternatives[0].text == "second time lucky"


def test_drop_fault_looks_like_a_dropped_connection(server: ServerProcess, script: Script) -> None:
    script.set(
        {
            "match": "drop",
            "answer": "abcdefgh",
            "chunk_chars": 2,
            "fault": {"kind": "drop", "after_chunks": 2},
        }
    )
    m = sdk(server)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from yandex_ai_studio_sdk.retry import NoRetryPolicy
    m = AsyncYCloudML(
        folder_id="b1g",
        auth=APIKeyAuth(server.token),
        endpoint=server.address,
        verify=False,
        retry_policy=NoRetryPolicy(),
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        anyio.run(collect, m.models.completions("yandexgpt"), "drop it")
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_stall_fault_goes_silent_until_cancelled(server: ServerProcess, script: Script) -> None:
    script.set(
        {
            "match": "stall",
            "answer": "abcdefgh",
            "chunk_chars": 2,
            "fault": {"kind": "stall", "after_chunks": 2},
        }
    )

    async def main() -> int:
        received = 0
        with anyio.move_on_after(1.0):
            async for _ in model(server).run_stream("stall"):
                received += 1
        return received

    started = time.monotonic()
    assert anyio.run(main) == 2
    assert time.monotonic() - started < 2.0


def test_rewrite_fault_replaces_the_text(server: ServerProcess, script: Script) -> None:
    script.set(
        {
            "match": "secret",
            "answer": "the secret is 42 and",
            "chunk_chars": 4,
            "fault": {"kind": "rewrite", "after_chunks": 2},
        }
    )
    results = anyio.run(collect, model(server), "secret")
    last = results[-1].alternatives[0]
    assert last.status == AlternativeStatus.CONTENT_FILTER
    assert not last.text.startswith(results[-2].alternatives[0].text)
