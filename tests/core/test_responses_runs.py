"""The `responses` transport end to end: the chat core, the real `openai` client, the local
server's Responses API (scripted engine). What the server received is read back through
the same API (`responses.retrieve`, `input_items`) and from its log."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from yachat.core.chat import ChatCore
from yachat.core.events import (
    Notice,
    ReasoningDelta,
    RunEvent,
    RunFinished,
    TextDelta,
    ToolCallStarted,
    ToolFinished,
)
from yachat.core.responses_client import responses_client
from yachat.core.tools.loop import ToolPolicy
from yachat.core.tools.spec import ToolOutcome, ToolSpec
from yachat.store.models import MessageStatus, PartKind, RunStatus

from ..support import Script, local_settings


def thread_on_responses(core: ChatCore, model: str = "yandexgpt/latest", **assistant: Any) -> int:
    made = core.store.create_assistant("r", model, transport="responses", **assistant)
    return core.new_thread(assistant_id=made.id).id


def send(
    core: ChatCore, thread_id: int, text: str, policy: ToolPolicy | None = None
) -> tuple[RunFinished, list[tuple[float, RunEvent]]]:
    events: list[tuple[float, RunEvent]] = []

    async def main() -> RunFinished:
        return await core.send(thread_id, text, lambda e: events.append((time.monotonic(), e)), policy)

    return anyio.run(main), events


def on_server(core: ChatCore, call: Any) -> Any:
    """Ask the server something through the client the run used."""

    async def main() -> Any:
        client = await responses_client(core.session)
        return await call(client)

    return anyio.run(main)


def response_of(core: ChatCore, run_id: int) -> str:
    rows = core.store._db.read("SELECT response_id FROM run_responses WHERE run_id = ?", (run_id,))
    assert rows, f"run {run_id} recorded no response"
    return str(rows[0][0])


def sent(core: ChatCore, run_id: int) -> tuple[str, int]:
    """What the run's (last) request sent, as the server kept it: the response it chained
    on ("none") and how many input items it carried."""
    response_id = response_of(core, run_id)

    async def ask(client: Any) -> tuple[str, int]:
        response = await client.responses.retrieve(response_id)
        items = await client.responses.input_items.list(response_id, limit=100)
        return response.previous_response_id or "none", len(items.data)

    return on_server(core, ask)


def test_a_text_answer_streams_and_ends(core: ChatCore, script: Script) -> None:
    answer = "Kazan stands where the Kazanka meets the Volga, a thousand years old."
    script.set({"match": "Kazan", "answer": answer, "chunk_chars": 4, "delay_ms": 25})
    thread_id = thread_on_responses(core)
    final, events = send(core, thread_id, "tell me of Kazan")
    assert final.status is RunStatus.COMPLETED, final.error
    assert final.text == answer
    deltas = [(t, e) for t, e in events if isinstance(e, TextDelta)]
    end = next(t for t, e in events if isinstance(e, RunFinished))
    # Half the answer was there for a front end to show well before the end.
    half = next(
        t
        for i, (t, _) in enumerate(deltas)
        if sum(len(e.text) for _, e in deltas[: i + 1]) > len(answer) // 2
    )
    assert len(deltas) > 10 and end - half > 0.1
    run = core.store.get_run(final.run_id)
    assert run is not None and run.transport == "responses" and run.finish_reason == "FINAL"
    assert final.usage is not None and final.usage.completion_tokens > 0
    message = core.store.list_messages(thread_id)[-1]
    assert (message.text, message.status) == (answer, MessageStatus.COMPLETE)


def test_a_thread_continues_by_chaining_only_its_new_message(core: ChatCore, script: Script) -> None:
    script.set({"match": "first", "answer": "One."}, {"match": "second", "echo": True})
    thread_id = thread_on_responses(core, instruction="Be brief.")
    first, _ = send(core, thread_id, "the first question")
    second, _ = send(core, thread_id, "the second question")
    assert second.status is RunStatus.COMPLETED, second.error
    before, after = response_of(core, first.run_id), response_of(core, second.run_id)
    # The server answered from the chain: it saw the whole thread though it was sent one item.
    assert "the first question" in second.text and "One." in second.text and "Be brief." in second.text
    response = on_server(core, lambda c: c.responses.retrieve(after))
    assert response.previous_response_id == before
    items = on_server(core, lambda c: c.responses.input_items.list(after))
    assert [getattr(i, "role", None) for i in items.data] == ["user"]
    assert [sent(core, first.run_id), sent(core, second.run_id)] == [("none", 1), (before, 1)]


def test_a_response_the_server_forgot_is_sent_again_whole(core: ChatCore, script: Script) -> None:
    script.set({"match": "again", "echo": True}, {"match": "hello", "answer": "Hi."})
    thread_id = thread_on_responses(core)
    first, _ = send(core, thread_id, "hello")
    on_server(core, lambda c: c.responses.delete(response_of(core, first.run_id)))
    second, events = send(core, thread_id, "hello again")
    assert second.status is RunStatus.COMPLETED and second.error is None
    assert "Hi." in second.text  # the whole history went, in one run
    assert not [e for _, e in events if isinstance(e, Notice)]  # and nothing alarming was said
    assert sent(core, second.run_id) == ("none", 3)
    # The new response starts the next chain.
    third, _ = send(core, thread_id, "and again")
    assert sent(core, third.run_id) == (response_of(core, second.run_id), 1), third.error


def test_a_changed_instruction_or_a_regenerated_answer_sends_the_whole_history(
    core: ChatCore, script: Script
) -> None:
    script.set({"match": "q", "answer": "A."})
    thread_id = thread_on_responses(core, instruction="Be brief.")
    send(core, thread_id, "q1")
    second, _ = send(core, thread_id, "q2")
    assert sent(core, second.run_id)[1] == 1
    assistant = core.assistant_for(thread_id)
    core.store.update_assistant(assistant.id, instruction="Be very brief.")
    third, _ = send(core, thread_id, "q3")
    assert sent(core, third.run_id) == ("none", 5)

    async def regenerate() -> RunFinished:
        return await core.regenerate(thread_id, lambda _e: None)

    final = anyio.run(regenerate)
    assert final.status is RunStatus.COMPLETED and sent(core, final.run_id) == ("none", 5)


def test_a_fork_starts_its_own_chain(core: ChatCore, script: Script) -> None:
    script.set({"match": "q", "answer": "A."})
    thread_id = thread_on_responses(core)
    send(core, thread_id, "q1")
    send(core, thread_id, "q2")
    messages = core.store.list_messages(thread_id)
    fork = core.fork_for_edit(thread_id, messages[-2].id)
    forked, _ = send(core, fork.id, "q2, edited")
    assert sent(core, forked.run_id) == ("none", 3)


class Weather:
    server = "meteo"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def tools(self) -> list[ToolSpec]:
        schema = {"type": "object", "properties": {"city": {"type": "string"}}}
        return [ToolSpec("forecast", "The weather in a city", schema, self.server)]

    async def call(self, tool: ToolSpec, arguments: dict[str, Any], timeout_s: float) -> ToolOutcome:
        self.calls.append(arguments)
        return ToolOutcome("sunny, 21 C")


def test_a_function_call_goes_through_the_tool_loop(server: Any, tmp_path: Any, script: Script) -> None:
    script.set()
    core = ChatCore.open_store(local_settings(server, tmp_path, stream_idle_timeout_s=5))
    weather = Weather()
    core.tool_providers.append(weather)
    try:
        thread_id = thread_on_responses(core)
        final, events = send(core, thread_id, "the forecast for Kazan, please", ToolPolicy(allow_all=True))
        assert final.status is RunStatus.COMPLETED, final.error
        assert len(weather.calls) == 1 and "forecast returned sunny, 21 C" in final.text
        kinds = [type(e) for _, e in events]
        assert kinds.index(ToolCallStarted) < kinds.index(ToolFinished) < kinds.index(RunFinished)
        answer = core.store.with_parts(core.store.list_messages(thread_id))[-1]
        assert [p.kind for p in answer.parts][:2] == [PartKind.TOOL_CALL, PartKind.TOOL_RESULT]
        # The result went back as a function_call_output, chained on the call's response.
        previous, count = sent(core, final.run_id)
        assert previous != "none" and count == 1
        called = on_server(core, lambda c: c.responses.retrieve(previous))
        assert [i.type for i in called.output] == ["function_call"]
        # The next question chains on the answer's last response.
        thanks, _ = send(core, thread_id, "thanks")
        assert sent(core, thanks.run_id) == (response_of(core, final.run_id), 1)
    finally:
        core.store.close()


@pytest.mark.parametrize(
    ("model", "said"),
    [("gpt://another-folder/yandexgpt/latest", "folder")],
)
def test_a_refused_request_is_one_line_in_the_servers_words(
    core: ChatCore, script: Script, model: str, said: str
) -> None:
    script.set({"match": "q", "answer": "A."})
    thread_id = thread_on_responses(core, model=model)
    final, _ = send(core, thread_id, "q")
    assert final.status is RunStatus.FAILED and final.error is not None
    assert "\n" not in final.error and said in final.error.lower(), final.error


def test_a_failed_response_is_one_line(core: ChatCore, script: Script) -> None:
    script.set(
        {"match": "boom", "answer": "a long answer " * 20, "chunk_chars": 5,
         "fault": {"kind": "status", "code": "INTERNAL", "message": "the model broke", "after_chunks": 3}},
    )  # fmt: skip
    thread_id = thread_on_responses(core)
    final, events = send(core, thread_id, "boom")
    assert final.status is RunStatus.FAILED and final.error is not None
    assert "\n" not in final.error and "the model broke" in final.error, final.error
    assert [e for _, e in events if isinstance(e, TextDelta)]  # what came before is kept
    assert core.store.list_messages(thread_id)[-1].text.startswith("a long answer")


def test_reasoning_goes_to_thinking_and_a_cut_answer_says_so(core: ChatCore, script: Script) -> None:
    script.set({"match": "think", "reasoning": "Weigh it twice.", "answer": "word " * 60, "chunk_chars": 5})
    thread_id = thread_on_responses(core, max_tokens=12)
    final, events = send(core, thread_id, "think about it")
    assert final.status is RunStatus.COMPLETED, final.error
    assert final.reasoning.startswith("Weigh")
    kinds = [type(e) for _, e in events]
    assert ReasoningDelta in kinds and kinds.index(ReasoningDelta) < kinds.index(TextDelta)
    assert final.truncated  # "cut off" under the answer
    run = core.store.get_run(final.run_id)
    assert run is not None and run.finish_reason == "TRUNCATED_FINAL"


def test_an_expired_response_is_sent_again_whole(tmp_path: Any, script: Script) -> None:
    """A server that keeps responses one second: the next question finds the chain expired."""
    import openai

    from yachat.server.process import start_server_process

    script.set({"match": "again", "echo": True}, {"match": "hello", "answer": "Hi."})
    with start_server_process(
        "scripted",
        args=["--script", str(script.path), "--responses-ttl", "1"],
        env={"YACHAT_HOME": str(tmp_path / "home")},
    ) as short:
        core = ChatCore.open_store(local_settings(short, tmp_path, stream_idle_timeout_s=5))
        try:
            thread_id = thread_on_responses(core)
            first, _ = send(core, thread_id, "hello")

            def expired() -> bool:
                try:
                    on_server(core, lambda c: c.responses.retrieve(response_of(core, first.run_id)))
                except openai.NotFoundError:
                    return True
                return False

            deadline = time.monotonic() + 30
            while not expired():
                assert time.monotonic() < deadline, "the response did not expire"
                time.sleep(0.2)
            second, events = send(core, thread_id, "hello again")
            assert second.status is RunStatus.COMPLETED and second.error is None
            assert "Hi." in second.text and not [e for _, e in events if isinstance(e, Notice)]
            assert sent(core, second.run_id) == ("none", 3)
        finally:
            core.store.close()
