"""The local server's Responses API answering text, through the real `openai` client.

A real `yachat serve` process with the scripted engine; the client is the one
Yandex's docs use: `openai.OpenAI(base_url=…/v1, api_key=…, project=<folder>)`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from .responses_support import FOLDER, MODEL, UUID, Served, serve, wait_for

ANSWER = "Platypuses lay eggs and hunt by electroreception."


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("responses-text")) as s:
        yield s


def test_create_answers_with_a_yandex_shaped_response(served: Served) -> None:
    served.script.set({"match": "platypus", "answer": ANSWER})
    response = served.client().responses.create(model=MODEL, input="Tell me about the platypus", store=True)
    assert re.match(UUID, response.id)
    assert response.status == "completed"
    assert response.output_text == ANSWER
    assert response.model == MODEL
    [message] = response.output
    assert message.type == "message" and re.match(UUID, message.id)
    assert message.content[0].text == ANSWER
    usage = response.usage
    assert usage is not None and usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    raw = response.model_dump()
    assert raw["valid"] is True and raw["output"][0]["valid"] is True  # Yandex's extra key, kept
    assert raw["output_text"] == ANSWER  # in the JSON itself, as Yandex's schema has it


def test_stream_follows_the_order_the_client_needs(served: Served) -> None:
    served.script.set({"match": "platypus", "answer": ANSWER, "chunk_chars": 6})
    client = served.client()
    with client.responses.stream(model=MODEL, input="platypus?") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    deltas = kinds.count("response.output_text.delta")
    assert deltas == len(range(0, len(ANSWER), 6))
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(set(numbers))
    assert events[0].response.status == "queued" and events[1].response.status == "in_progress"
    assert final.output_text == ANSWER and final.usage is not None and final.usage.output_tokens > 0
    assert client.responses.retrieve(final.id).output_text == ANSWER


def test_a_half_streamed_response_is_in_progress_until_it_completes(served: Served) -> None:
    served.script.set({"match": "slowly", "answer": ANSWER, "chunk_chars": 4, "delay_ms": 40})
    client = served.client()
    with client.responses.stream(model=MODEL, input="say it slowly") as stream:
        seen_in_progress, response_id = None, ""
        for event in stream:
            if event.type == "response.created":
                response_id = event.response.id
            if event.type == "response.output_text.delta" and seen_in_progress is None:
                seen_in_progress = client.responses.retrieve(response_id)
        final = stream.get_final_response()
    assert seen_in_progress is not None and seen_in_progress.status == "in_progress"
    assert final.status == "completed" and final.output_text == ANSWER


def test_async_client_streams_with_create(served: Served) -> None:
    served.script.set({"match": "async", "answer": "async answer", "chunk_chars": 3})

    async def go() -> tuple[list[str], str]:
        async with served.async_client() as client:
            stream = await client.responses.create(model=MODEL, input="async please", stream=True)
            kinds, text = [], ""
            async for event in stream:
                kinds.append(event.type)
                if event.type == "response.output_text.delta":
                    text += event.delta
            return kinds, text

    kinds, text = anyio.run(go)
    assert text == "async answer" and kinds[0] == "response.created" and kinds[-1] == "response.completed"


def test_the_wire_has_event_lines_and_no_done_marker(served: Served) -> None:
    served.script.set({"match": "wire", "answer": "on the wire", "chunk_chars": 5})
    with httpx.stream(
        "POST",
        served.base_url + "/responses",
        json={"model": MODEL, "input": "wire", "stream": True},
        headers={"Authorization": f"Api-Key {served.process.token}", "OpenAI-Project": FOLDER},
    ) as reply:
        assert reply.status_code == 200 and reply.headers["content-type"] == "text/event-stream"
        blocks = [b for b in reply.read().decode().split("\n\n") if b.strip()]
    events = []
    for block in blocks:
        event_line, data_line = block.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert event_line == f"event: {data['type']}"
        events.append(data)
    assert events[-1]["type"] == "response.completed" and "[DONE]" not in blocks[-1]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


def test_max_output_tokens_ends_incomplete(served: Served) -> None:
    served.script.set({"match": "long", "answer": "one two three four five six seven eight nine ten"})
    client = served.client()
    response = client.responses.create(model=MODEL, input="a long answer", max_output_tokens=3)
    assert response.status == "incomplete"
    assert (
        response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    )
    assert response.output_text == "one two three"
    with client.responses.stream(model=MODEL, input="a long answer", max_output_tokens=3) as stream:
        kinds = [e.type for e in stream]
    assert kinds[-1] == "response.incomplete"


def test_a_failed_generation_ends_with_error_and_failed_events(served: Served) -> None:
    fault = {"kind": "status", "code": "INTERNAL", "message": "the GPU caught fire", "after_chunks": 1}
    served.script.set(
        {"match": "fire", "answer": "some words before the fire", "chunk_chars": 5, "fault": fault}
    )
    client = served.client()
    with client.responses.stream(model=MODEL, input="fire") as stream:
        events = list(stream)
    assert [e.type for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2].message == "the GPU caught fire"  # type: ignore[union-attr]
    failed = events[-1].response  # type: ignore[union-attr]
    assert failed.status == "failed" and failed.error is not None and failed.error.code == "server_error"
    assert client.responses.create(model=MODEL, input="fire").status == "failed"


def test_reasoning_comes_as_a_reasoning_item(served: Served) -> None:
    served.script.set({"match": "think", "answer": "Four.", "reasoning": "Two and two make four."})
    response = served.client().responses.create(model=MODEL, input="think: 2+2?")
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "Two and two make four."
    assert message.type == "message" and response.output_text == "Four."
    assert response.usage is not None and response.usage.output_tokens_details.reasoning_tokens > 0


def test_store_false_keeps_nothing(served: Served, tmp_path: Path) -> None:
    served.script.set()
    import openai

    client = served.client()
    response = client.responses.create(model=MODEL, input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    assert wait_for(lambda: served.log_lines("responses create"))
