"""The local server's OpenAI-compatible chat API, through the real SDK over real HTTP.

What is asserted is what Yandex's recordings show (shared/recordings/chat/) and
what the SDK's own chat `test_run_stream` checks.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from yachat.server.engines.scripted import ScriptedEngine
from yachat.server.http_api import ChatApi, RunningHttpServer, start_http_server

from ..support import Script

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from yandex_ai_studio_sdk._chat.completions.result import FinishReason
    from yandex_ai_studio_sdk._exceptions import HttpSseError
    from yandex_ai_studio_sdk._models.completions.result import AlternativeStatus
    from yandex_ai_studio_sdk.auth import APIKeyAuth
    from yandex_cloud_ml_sdk import AsyncYCloudML

TOKEN = "local-test-token"
FOLDER = "b1gtest"


class Recorder(ScriptedEngine):
    """The scripted engine, remembering whether the last generation was told to stop."""

    stopped = threading.Event()

    def generate(self, request: Any) -> Iterator[Any]:
        yield from super().generate(request)
        if request.should_stop():
            self.stopped.set()


@pytest.fixture(scope="module")
def http_server(script: Script) -> Iterator[RunningHttpServer]:
    engine = Recorder(str(script.path))
    api = ChatApi(engine, TOKEN, "given in the test")
    server = start_http_server(api, "127.0.0.1")
    yield server
    server.stop()


def chat_model(server: RunningHttpServer, name: str = "qwen3-235b-a22b-fp8", **config: Any) -> Any:
    sdk = AsyncYCloudML(
        folder_id=FOLDER,
        auth=APIKeyAuth(TOKEN),
        endpoint="127.0.0.1:1",  # never used: the chat API has its own address
        service_map={"http_completions": server.base_url},
    )
    model = sdk.chat.completions(name)
    return model.configure(**config) if config else model


async def collect(model: Any, messages: Any) -> list[Any]:
    return [r async for r in model.run_stream(messages)]


def raw_events(server: RunningHttpServer, body: dict[str, Any]) -> list[Any]:
    response = httpx.post(
        server.base_url + "chat/completions", json=body, headers={"Authorization": f"Api-Key {TOKEN}"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    events = [e.removeprefix("data: ") for e in response.text.split("\n\n") if e.strip()]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_streamed_run_has_the_recorded_structure(http_server: RunningHttpServer, script: Script) -> None:
    answer = "Platypuses are egg-laying mammals found only in eastern Australia."
    script.set({"match": "platypus", "answer": answer, "chunk_chars": 9})
    results = anyio.run(collect, chat_model(http_server), "tell me about a platypus")
    # The SDK's own test_run_stream: all but the last two PARTIAL with finish reason NULL,
    # the second to last FINAL/STOP, the last USAGE; the deltas join to the text.
    assert all(r.status == AlternativeStatus.PARTIAL for r in results[:-2])
    assert all(r.finish_reason == FinishReason.NULL for r in results[:-2])
    assert results[-2].status == AlternativeStatus.FINAL
    assert results[-2].finish_reason == FinishReason.STOP
    assert results[-1].status == AlternativeStatus.USAGE
    assert "".join(r[0].delta for r in results[:-1]) == answer
    assert results[-2].text == answer
    usage = results[-1].usage
    assert (
        usage.completion_tokens > 0
        and usage.total_tokens == usage.input_text_tokens + usage.completion_tokens
    )


def test_wire_matches_the_recording(http_server: RunningHttpServer, script: Script) -> None:
    script.set({"match": "hello", "answer": "Hello there, friend.", "chunk_chars": 5})
    events = raw_events(
        http_server,
        {"model": f"gpt://{FOLDER}/qwen3-235b-a22b-fp8/latest", "messages": [{"role": "user", "content": "hello"}],
         "stream": True},
    )  # fmt: skip
    assert all(e["object"] == "chat.completion.chunk" and e["id"].startswith("chatcmpl-") for e in events)
    assert {e["id"] for e in events} == {events[0]["id"]}
    assert {e["model"] for e in events} == {"gpt://qwen3-235b-a22b-fp8/latest"}  # no folder, as Yandex sends
    assert events[0]["choices"][0]["delta"] == {"role": "assistant"}
    choice_chunks = [e for e in events if e["choices"]]
    # No finish_reason key at all until the last choice chunk: the SDK chokes on `null`.
    assert all("finish_reason" not in e["choices"][0] for e in choice_chunks[:-1])
    assert choice_chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert events[-1]["choices"] == [] and set(events[-1]["usage"]) == {
        "prompt_tokens",
        "total_tokens",
        "completion_tokens",
    }
    assert (
        "".join(e["choices"][0]["delta"].get("content", "") for e in choice_chunks) == "Hello there, friend."
    )


def test_answer_not_streamed(http_server: RunningHttpServer, script: Script) -> None:
    script.set({"match": "hi", "answer": "Hello! How can I assist you today?"})
    result = anyio.run(lambda: chat_model(http_server).run("hi"))
    assert result.text == "Hello! How can I assist you today?"
    assert result.status == AlternativeStatus.FINAL
    assert result.usage.completion_tokens > 0


def test_models_are_listed_for_the_folder(http_server: RunningHttpServer) -> None:
    sdk = AsyncYCloudML(
        folder_id=FOLDER,
        auth=APIKeyAuth(TOKEN),
        endpoint="127.0.0.1:1",
        service_map={"http_completions": http_server.base_url},
    )
    models = anyio.run(lambda: sdk.chat.completions.list())
    assert [m.uri for m in models] == [f"gpt://{FOLDER}/scripted/latest"]


def test_answer_cut_by_max_tokens_ends_with_length(http_server: RunningHttpServer, script: Script) -> None:
    script.set({"match": "long", "answer": "word " * 200, "chunk_chars": 5})
    events = raw_events(
        http_server,
        {"model": "gpt://f/yandexgpt/latest", "messages": [{"role": "user", "content": "long"}], "stream": True,
         "max_tokens": 10},
    )  # fmt: skip
    finishes = [e["choices"][0].get("finish_reason") for e in events if e["choices"]]
    assert finishes[-1] == "length"
    assert events[-1]["usage"]["completion_tokens"] == 10


def test_content_filter_replaces_the_answer(http_server: RunningHttpServer, script: Script) -> None:
    script.set(
        {"match": "secret", "answer": "Here is how to", "chunk_chars": 4,
         "fault": {"kind": "rewrite", "after_chunks": 2, "text": "I can't discuss that."}}
    )  # fmt: skip
    results = anyio.run(collect, chat_model(http_server), "tell me the secret")
    final = [r for r in results if r.status == AlternativeStatus.CONTENT_FILTER]
    assert final and final[-1].text == "I can't discuss that."


def test_error_mid_stream_arrives_as_an_sse_error(http_server: RunningHttpServer, script: Script) -> None:
    script.set(
        {"match": "quota", "answer": "partial answer here", "chunk_chars": 4,
         "fault": {"kind": "status", "code": "RESOURCE_EXHAUSTED", "message": "quota exceeded", "after_chunks": 2}}
    )  # fmt: skip
    seen: list[Any] = []

    async def run() -> None:
        async for r in chat_model(http_server).run_stream("over quota"):
            seen.append(r)

    with pytest.raises(HttpSseError) as caught:
        anyio.run(run)
    assert seen and seen[-1].text == "partial "
    assert caught.value._error == {
        "grpcCode": 8,
        "httpCode": 429,
        "message": "quota exceeded",
        "httpStatus": "Too Many Requests",
    }


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        ({"model": "gpt://f/m/latest", "messages": [{"role": "robot", "content": "x"}]}, True, 400,
         "invalid message role 'robot'"),
        ({"model": "gpt://f/m/latest", "messages": []}, True, 400, "messages: at least one message is required"),
        ({"model": "gpt://f/m/latest", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, True, 400,
         "max_tokens must be a positive integer, got 0"),
        ({"model": "gpt://f/m/latest", "messages": [{"role": "user", "content": "x"}]}, False, 401,
         "IAM token or API key has to be passed in request"),
    ],
)  # fmt: skip
def test_bad_requests_get_yandex_errors(
    http_server: RunningHttpServer, body: dict[str, Any], headers: bool, status: int, message: str
) -> None:
    response = httpx.post(
        http_server.base_url + "chat/completions",
        json={**body, "stream": True},
        headers={"Authorization": f"Api-Key {TOKEN}"} if headers else {},
    )
    assert response.status_code == status
    error = response.json()["error"]
    assert error["message"] == message and error["httpCode"] == status


def test_odd_bodies_never_break_the_server(http_server: RunningHttpServer) -> None:
    for raw in (
        b"",
        b"not json",
        b"[1, 2]",
        b'{"model": 5}',
        json.dumps({"model": "m", "messages": [5]}).encode(),
    ):
        response = httpx.post(
            http_server.base_url + "chat/completions",
            content=raw,
            headers={"Authorization": f"Api-Key {TOKEN}", "Content-Type": "application/json"},
        )
        assert response.status_code == 400, raw
        assert response.json()["error"]["grpcCode"] == 3


def test_a_client_that_leaves_stops_the_generation(http_server: RunningHttpServer, script: Script) -> None:
    Recorder.stopped.clear()
    script.set({"match": "slow", "answer": "tick " * 400, "chunk_chars": 5, "delay_ms": 10})

    async def leave_early() -> None:
        async for r in chat_model(http_server).run_stream("slow one"):
            if len(r.text) > 20:
                break

    anyio.run(leave_early)
    assert Recorder.stopped.wait(5)
