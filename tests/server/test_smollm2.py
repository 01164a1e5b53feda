"""The real on-device model, end to end through the SDK (CI runs this too)."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import grpc
import pytest

from yachat.server.process import ServerProcess, start_server_process

from .test_context import ODD, call_completion
from .test_wire import AlternativeStatus, collect, model, sdk


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("smollm2-home")
    with start_server_process("smollm2", env={"YACHAT_HOME": str(home)}, timeout=120) as srv:
        yield srv


@pytest.mark.slow
def test_smollm2_answers_through_the_sdk(smollm2: ServerProcess) -> None:
    messages = [
        {"role": "system", "text": "Answer in one short sentence."},
        {"role": "user", "text": "What is the capital of France?"},
    ]
    results = anyio.run(collect, model(smollm2, temperature=0.0, max_tokens=40), messages)
    final = results[-1].alternatives[0]
    assert final.status in (AlternativeStatus.FINAL, AlternativeStatus.TRUNCATED_FINAL)
    assert "Paris" in final.text
    assert all(r.alternatives[0].text for r in results)
    tokens = [r.usage.completion_tokens for r in results]
    assert tokens == sorted(set(tokens)) and tokens[-1] <= 40

    # Temperature 0 is deterministic: the same question gets the same answer.
    again = anyio.run(collect, model(smollm2, temperature=0.0, max_tokens=40), messages)
    assert again[-1].alternatives[0].text == final.text


@pytest.mark.slow
def test_smollm2_tokenizes_with_its_chat_template(smollm2: ServerProcess) -> None:
    tokens = anyio.run(model(smollm2).tokenize, [{"role": "user", "text": "ping"}])
    texts = [t.text for t in tokens]
    assert "<|im_start|>" in texts and any("ping" in t for t in texts)
    assert any(t.special for t in tokens)


@pytest.mark.slow
def test_smollm2_context_is_the_models_own(smollm2: ServerProcess) -> None:
    # SmolLM2-135M was trained for 8,192 tokens; the server reads that from the GGUF.
    assert smollm2.context == 8192 and smollm2.model == "smollm2-135m-instruct"
    result = anyio.run(model(smollm2, temperature=0.0, max_tokens=5).run, "Hi")
    assert result.model_version == "smollm2-135m-instruct"


@pytest.mark.slow
def test_smollm2_refuses_a_prompt_over_its_context(smollm2: ServerProcess) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        anyio.run(collect, model(smollm2), "word " * 9000)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.value.details() or "").startswith("number of input tokens must be no more than 8192, got ")


@pytest.mark.slow
def test_smollm2_answer_ends_at_a_small_context(tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("smollm2-small")
    with start_server_process(
        "smollm2", args=["--context", "64"], env={"YACHAT_HOME": str(home)}, timeout=120
    ) as server:
        assert server.context == 64
        results = anyio.run(collect, model(server, max_tokens=500), "Tell me a long story about a cat.")
    last = results[-1]
    assert last.alternatives[0].status == AlternativeStatus.TRUNCATED_FINAL
    assert last.usage.total_tokens == 64


@pytest.mark.slow
def test_smollm2_answers_are_capped_by_default(smollm2: ServerProcess) -> None:
    # The client asks for 2,000 tokens, as the default assistant does; SmolLM2 answers at most 400.
    results = anyio.run(collect, model(smollm2, temperature=0.3, max_tokens=2000), "Write a very long essay.")
    last = results[-1]
    assert last.usage.completion_tokens <= 400
    if last.usage.completion_tokens == 400:
        assert last.alternatives[0].status == AlternativeStatus.TRUNCATED_FINAL


@pytest.mark.slow
@pytest.mark.parametrize("case", list(ODD))
def test_smollm2_gives_odd_requests_a_proper_status(smollm2: ServerProcess, case: str) -> None:
    request, expected = ODD[case]
    copy = type(request)()
    copy.CopyFrom(request)
    if not copy.completion_options.HasField("max_tokens"):
        copy.completion_options.max_tokens.value = 8  # keep the real model's part short
    assert call_completion(smollm2, copy, stream=True) == expected


@pytest.mark.slow
def test_an_embedding_does_not_wait_for_a_smollm2_answer(smollm2: ServerProcess) -> None:
    # The chat model answers one request at a time under its lock; embeddings have their own.
    async def main() -> tuple[int, int, int]:
        chunks, tokens = 0, 0
        first = anyio.Event()

        async def stream() -> None:
            nonlocal chunks, tokens
            async for result in model(smollm2, temperature=0.0, max_tokens=300).run_stream(
                "Write a long story about a river."
            ):
                chunks += 1
                tokens = result.usage.completion_tokens
                first.set()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(stream)
            await first.wait()
            vector = await sdk(smollm2).models.text_embeddings("query").run("a river story")
            seen = chunks
        return len(vector), seen, chunks

    size, seen, total = anyio.run(main)
    # Answered while the answer was still coming (a 300-token answer takes seconds here).
    assert size == 384 and seen < total


@pytest.mark.slow
def test_smollm2_says_it_does_not_call_tools_and_answers_offered_tools_with_text(
    smollm2: ServerProcess,
) -> None:
    # Its chat template has no tool format: it must not pretend to call.
    assert smollm2.tool_calls is False
    client = sdk(smollm2)
    tool = client.tools.function(
        {"type": "object", "properties": {"q": {"type": "string"}}}, name="lookup", description="looks up"
    )
    m = client.models.completions("yandexgpt").configure(tools=tool, max_tokens=8, temperature=0.0)
    result = anyio.run(m.run, "lookup: Paris")
    assert result.alternatives[0].status in (AlternativeStatus.FINAL, AlternativeStatus.TRUNCATED_FINAL)
    assert result.tool_calls is None
