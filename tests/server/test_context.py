"""The server's context, as Yandex's: a prompt over it is refused in Yandex's
words; an answer that runs into its end is cut there (TRUNCATED_FINAL); and no
request, however odd, is answered UNKNOWN with a Python exception's text.

The scripted engine counts a prompt as <s>, then [role] and the words of each
message, then [/s]: one user message of N words is N + 3 tokens.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import grpc
import pytest
from yandex.cloud.ai.foundation_models.v1 import text_common_pb2 as common
from yandex.cloud.ai.foundation_models.v1.text_generation import text_generation_service_pb2 as tg
from yandex.cloud.ai.foundation_models.v1.text_generation import (
    text_generation_service_pb2_grpc as tg_grpc,
)

from yachat.server.process import ServerProcess, start_server_process

from ..support import Script
from .test_wire import AlternativeStatus, collect, model

CONTEXT = 64


@pytest.fixture(scope="module")
def small(script: Script, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("small-home")
    with start_server_process(
        "scripted",
        args=["--script", str(script.path), "--context", str(CONTEXT)],
        env={"YACHAT_HOME": str(home)},
    ) as server:
        yield server


def words(n: int) -> str:
    return " ".join(["w"] * n)


def test_the_server_reports_its_context(small: ServerProcess) -> None:
    assert small.context == CONTEXT and small.model == "scripted"


def test_a_prompt_over_the_context_is_refused_in_yandex_words(small: ServerProcess) -> None:
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        anyio.run(collect, model(small), words(100))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == f"number of input tokens must be no more than {CONTEXT}, got 103"
    assert time.monotonic() - started < 1.0  # not retried
    assert small.prompt_tokens_seen()[-1] == 103


def test_an_answer_ends_at_the_context_end(small: ServerProcess, script: Script) -> None:
    script.set({"match": "w", "answer": "word " * 100, "chunk_chars": 10})
    results = anyio.run(collect, model(small, max_tokens=100), words(54))
    last = results[-1]
    assert last.alternatives[0].status == AlternativeStatus.TRUNCATED_FINAL
    assert (last.usage.input_text_tokens, last.usage.completion_tokens) == (57, 7)
    assert last.usage.total_tokens == CONTEXT
    assert last.alternatives[0].text == "word " * 6 + "word"
    assert all(r.alternatives[0].status == AlternativeStatus.PARTIAL for r in results[:-1])

    unary = anyio.run(model(small, max_tokens=100).run, words(54))
    assert unary.alternatives[0].status == AlternativeStatus.TRUNCATED_FINAL
    assert unary.usage.total_tokens == CONTEXT


def test_an_answer_that_fits_is_final(small: ServerProcess, script: Script) -> None:
    script.set({"match": "w", "answer": words(5)})
    result = anyio.run(model(small, max_tokens=100).run, words(54))
    assert result.alternatives[0].status == AlternativeStatus.FINAL
    assert result.usage.completion_tokens == 5


def test_a_prompt_that_fills_the_context_gets_an_empty_cut_answer(small: ServerProcess) -> None:
    result = anyio.run(model(small).run, words(CONTEXT - 3))
    assert result.alternatives[0].status == AlternativeStatus.TRUNCATED_FINAL
    assert result.usage.input_text_tokens == CONTEXT and result.usage.completion_tokens == 0


def test_tokenizing_a_prompt_over_the_context_still_counts_it(small: ServerProcess) -> None:
    tokens = anyio.run(model(small).tokenize, [{"role": "user", "text": words(100)}])
    assert len(tokens) == 103


def test_the_prompts_the_server_saw_are_in_its_log(small: ServerProcess, script: Script) -> None:
    script.set()
    before = len(small.prompt_tokens_seen())
    anyio.run(model(small).run, words(5))
    anyio.run(model(small).run, words(9))
    assert small.prompt_tokens_seen()[before:] == [8, 12]


# -- odd requests, over the raw wire -----------------------------------------


def _request(*messages: tuple[str, str], uri: str = "gpt://b1g/yandexgpt/latest", **options: Any) -> Any:
    request = tg.CompletionRequest(model_uri=uri)
    for role, text in messages:
        request.messages.add(role=role, text=text)
    for name, value in options.items():
        getattr(request.completion_options, name).value = value
    return request


def _tool_result() -> Any:
    request = _request()
    message = request.messages.add(role="user")
    message.tool_result_list.tool_results.add().function_result.name = "f"
    return request


def _reasoning() -> Any:
    request = _request(("user", "2 + 2"))
    request.completion_options.reasoning_options.mode = common.ReasoningOptions.ENABLED_HIDDEN
    return request


ODD: dict[str, tuple[Any, grpc.StatusCode]] = {
    "empty text": (_request(("user", "")), grpc.StatusCode.OK),
    "only a system message": (_request(("system", "be brief")), grpc.StatusCode.OK),
    "assistant last": (_request(("user", "hi"), ("assistant", "hello")), grpc.StatusCode.OK),
    "huge max_tokens": (_request(("user", "hi"), max_tokens=2**62), grpc.StatusCode.OK),
    "zero max_tokens": (_request(("user", "hi"), max_tokens=0), grpc.StatusCode.OK),
    "negative max_tokens": (_request(("user", "hi"), max_tokens=-1), grpc.StatusCode.INVALID_ARGUMENT),
    "NaN temperature": (_request(("user", "hi"), temperature=math.nan), grpc.StatusCode.INVALID_ARGUMENT),
    "infinite temperature": (
        _request(("user", "hi"), temperature=math.inf),
        grpc.StatusCode.INVALID_ARGUMENT,
    ),
    "control characters": (_request(("user", "\x00\x1b[2J\u202e\ud7ff")), grpc.StatusCode.OK),
    "no model uri": (_request(("user", "hi"), uri=""), grpc.StatusCode.INVALID_ARGUMENT),
    "a tool result": (_tool_result(), grpc.StatusCode.INVALID_ARGUMENT),
    "reasoning asked for": (_reasoning(), grpc.StatusCode.OK),
    "thousands of messages": (
        _request(*[("user", "x")] * 5000),
        grpc.StatusCode.INVALID_ARGUMENT,
    ),
}


def call_completion(server: ServerProcess, request: Any, stream: bool) -> grpc.StatusCode:
    request.completion_options.stream = stream
    with grpc.insecure_channel(server.address) as channel:
        stub = tg_grpc.TextGenerationServiceStub(channel)
        try:
            replies = list(
                stub.Completion(request, metadata=[("authorization", f"Api-Key {server.token}")], timeout=10)
            )
        except grpc.RpcError as err:
            details = err.details() or ""  # type: ignore[attr-defined]
            assert "Exception" not in details and "Traceback" not in details, details
            return err.code()  # type: ignore[attr-defined, no-any-return]
    assert replies and replies[-1].alternatives[0].message.text
    return grpc.StatusCode.OK


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "unary"])
@pytest.mark.parametrize("case", list(ODD))
def test_odd_requests_get_a_proper_status(
    small: ServerProcess, script: Script, case: str, stream: bool
) -> None:
    script.set()
    request, expected = ODD[case]
    copy = type(request)()
    copy.CopyFrom(request)
    assert call_completion(small, copy, stream) == expected


@pytest.mark.parametrize(
    "rule",
    [
        {"match": "", "chunk_chars": "many"},  # the engine raises ValueError
        {"match": "", "delay_ms": [1]},  # ... TypeError
        {"match": "", "fault": {"kind": "meteor"}},
    ],
    ids=["value-error", "type-error", "unknown-fault"],
)
def test_an_engine_failure_is_internal_with_a_clear_message(
    small: ServerProcess, script: Script, rule: dict[str, Any]
) -> None:
    script.set(rule)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            anyio.run(collect, model(small), "hello")
    finally:
        script.set()
    assert err.value.code() == grpc.StatusCode.INTERNAL
    details = err.value.details() or ""
    assert details.startswith(("the local model failed on this request: ", "scripted engine: "))
    assert "Exception iterating" not in details


def test_a_broken_script_is_internal(small: ServerProcess, script: Script) -> None:
    script.path.write_text("{not json")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            anyio.run(collect, model(small), "hello")
    finally:
        script.set()
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert "cannot read" in (err.value.details() or "")


def test_odd_tokenize_requests(small: ServerProcess) -> None:
    auth = [("authorization", f"Api-Key {small.token}")]
    with grpc.insecure_channel(small.address) as channel:
        stub = tg_grpc.TokenizerServiceStub(channel)
        empty = stub.Tokenize(tg.TokenizeRequest(model_uri="gpt://b1g/yandexgpt", text=""), metadata=auth)
        assert [t.special for t in empty.tokens] == [True, True, True]
        with pytest.raises(grpc.RpcError) as err:
            stub.Tokenize(tg.TokenizeRequest(model_uri="nope", text="hi"), metadata=auth)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
        with pytest.raises(grpc.RpcError) as err:
            stub.TokenizeCompletion(_request(), metadata=auth)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
        with pytest.raises(grpc.RpcError) as err:
            stub.TokenizeCompletion(_request(("user", "hi")), metadata=[])
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def test_the_server_log_is_in_the_log_dir(small: ServerProcess, tmp_path: Path) -> None:
    assert small.log_path.parent.name == "log" and small.log_path.name.startswith("serve-")
    assert small.log_path.stat().st_mode & 0o077 == 0
