"""The tool loop in the core, against the scripted server on both transports: the model
calls, the call is approved (or not) and run, its result goes back, the model answers.

The scripted engine calls the offered tools named in the user's message (see
server/engines/scripted.py); the tools here are a real in-process provider.
"""

from __future__ import annotations

import os
from typing import Any

import anyio
import pytest

from yachat.core.chat import ChatCore
from yachat.core.events import (
    ApprovalRequest,
    Decision,
    Notice,
    RunEvent,
    RunFinished,
    TextDelta,
    ToolArgumentsDelta,
    ToolAwaitingApproval,
    ToolCallStarted,
    ToolFinished,
    ToolRunning,
)
from yachat.core.tools.loop import Call, CallReporter, RepeatWatch, ToolLimits, ToolPolicy, ToolRound
from yachat.core.tools.spec import ToolOutcome, ToolSpec
from yachat.store.models import PartKind, RunStatus, ToolStatus

from ..support import Script, local_settings

MODELS = ["yandexgpt/latest", "qwen3-235b-a22b-fp8"]  # gRPC, the chat API


class Kitchen:
    """Tools that answer, sleep, fail: as a small MCP server would."""

    server = "kitchen"

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.cancelled = 0

    def tools(self) -> list[ToolSpec]:
        numbers = {
            "type": "object",
            "properties": {"numbers": {"type": "array", "items": {"type": "integer"}}},
        }
        return [
            ToolSpec("add", "Add numbers", numbers, self.server),
            ToolSpec("nap", "Sleep a while", {"type": "object", "properties": {}}, self.server),
            ToolSpec("broken", "Always fails", {"type": "object", "properties": {}}, self.server),
        ]

    async def call(self, tool: ToolSpec, arguments: dict[str, Any], timeout_s: float) -> ToolOutcome:
        self.calls.append((tool.name, arguments))
        with anyio.fail_after(timeout_s):
            if tool.name == "add":
                return ToolOutcome(str(sum(arguments.get("numbers", []))))
            if tool.name == "nap":
                try:
                    await anyio.sleep(30)
                except anyio.get_cancelled_exc_class():
                    self.cancelled += 1
                    raise
            return ToolOutcome("the oven is on fire", is_error=True)


@pytest.fixture
def kitchen() -> Kitchen:
    return Kitchen()


def core_with(server: Any, tmp_path: Any, script: Script, kitchen: Kitchen, **settings: Any) -> ChatCore:
    script.set()
    core = ChatCore.open_store(local_settings(server, tmp_path, stream_idle_timeout_s=5, **settings))
    core.tool_providers.append(kitchen)
    return core


def ask(
    core: ChatCore, model: str, text: str, policy: ToolPolicy | None = None
) -> tuple[RunFinished, list[RunEvent]]:
    assistant = core.store.create_assistant(f"a-{model}", model)
    thread = core.new_thread(assistant_id=assistant.id)
    events: list[RunEvent] = []

    async def main() -> RunFinished:
        return await core.send(thread.id, text, events.append, policy)

    return anyio.run(main), events


@pytest.mark.parametrize("model", MODELS)
def test_a_call_runs_and_the_model_answers_with_its_result(
    server: Any, tmp_path: Any, script: Script, kitchen: Kitchen, model: str
) -> None:
    core = core_with(server, tmp_path, script, kitchen)
    final, events = ask(core, model, "please add 2, 3 and 37", ToolPolicy(allow_all=True))
    assert final.status is RunStatus.COMPLETED, final.error
    assert kitchen.calls == [("add", {"numbers": [2, 3, 37]})]
    assert "add returned 42" in final.text and final.tool_calls == 1
    kinds = [type(e) for e in events]
    # The call shows as it streams, runs, ends; then the answer's text.
    assert kinds.index(ToolCallStarted) < kinds.index(ToolRunning) < kinds.index(ToolFinished)
    assert kinds.index(ToolFinished) < max(i for i, k in enumerate(kinds) if k is TextDelta)
    arguments = "".join(e.text for e in events if isinstance(e, ToolArgumentsDelta))
    assert '"numbers"' in arguments
    (message,) = core.store.with_parts([core.store.get_message(final.message_id)])  # type: ignore[list-item]
    kinds_stored = [p.kind for p in message.parts]
    assert kinds_stored == [PartKind.TOOL_CALL, PartKind.TOOL_RESULT, PartKind.TEXT]
    assert message.parts[0].status is ToolStatus.DONE and message.parts[0].server == "kitchen"
    assert message.parts[1].text == "42" and message.parts[1].duration_s is not None
    usage = final.usage
    assert usage is not None and usage.input_tokens > 0  # both rounds' requests counted
    core.store.close()


@pytest.mark.parametrize("model", MODELS)
def test_a_denied_call_goes_back_to_the_model_as_its_result(
    server: Any, tmp_path: Any, script: Script, kitchen: Kitchen, model: str
) -> None:
    core = core_with(server, tmp_path, script, kitchen)
    final, _ = ask(core, model, "add 1 and 1")  # nobody to ask: denied
    assert final.status is RunStatus.COMPLETED
    assert kitchen.calls == []
    assert "declined" in final.text
    (message,) = core.store.with_parts([core.store.get_message(final.message_id)])  # type: ignore[list-item]
    assert message.parts[0].status is ToolStatus.DENIED and message.parts[1].is_error
    core.store.close()


def test_allow_always_is_remembered_for_the_assistant(
    server: Any, tmp_path: Any, script: Script, kitchen: Kitchen
) -> None:
    core = core_with(server, tmp_path, script, kitchen)
    asked: list[ApprovalRequest] = []

    async def approver(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision.ALLOW_ALWAYS

    assistant = core.store.create_assistant("cook", "yandexgpt/latest")
    for _ in range(2):
        thread = core.new_thread(assistant_id=assistant.id)
        events: list[RunEvent] = []

        async def main(thread_id: int = thread.id, sink: list[RunEvent] = events) -> RunFinished:
            return await core.send(thread_id, "add 4 and 5", sink.append, ToolPolicy(approver=approver))

        final = anyio.run(main)
        assert "add returned 9" in final.text
    assert len(asked) == 1 and asked[0].tool.key == "kitchen/add"
    assert core.store.tool_permissions(assistant.id) == {"kitchen/add": "allow"}
    waited = [e for e in events if isinstance(e, ToolAwaitingApproval)]
    assert waited == []  # the second answer did not ask
    core.store.close()


def test_a_call_that_outlives_its_time_is_cancelled_and_the_model_told(
    server: Any, tmp_path: Any, script: Script, kitchen: Kitchen
) -> None:
    core = core_with(server, tmp_path, script, kitchen, tool_timeout_s=0.3)
    final, _ = ask(core, "yandexgpt/latest", "take a nap", ToolPolicy(allow_all=True))
    assert kitchen.cancelled == 1
    assert "did not answer within 0.3 s" in final.text
    (message,) = core.store.with_parts([core.store.get_message(final.message_id)])  # type: ignore[list-item]
    assert message.parts[0].status is ToolStatus.TIMED_OUT
    core.store.close()


def test_a_failing_tool_is_a_result_not_a_failed_answer(
    server: Any, tmp_path: Any, script: Script, kitchen: Kitchen
) -> None:
    core = core_with(server, tmp_path, script, kitchen)
    final, events = ask(core, "qwen3-235b-a22b-fp8", "call broken now", ToolPolicy(allow_all=True))
    assert final.status is RunStatus.COMPLETED
    (done,) = [e for e in events if isinstance(e, ToolFinished)]
    assert done.status is ToolStatus.FAILED and done.is_error and "fire" in done.output
    core.store.close()


def test_calls_one_at_a_time_run_round_after_round_until_the_cap(
    server: Any, tmp_path: Any, script: Script, kitchen: Kitchen
) -> None:
    """With parallel calls off the model calls one tool a request: two tools, two rounds;
    with a cap of one round the second call is not run and the answer says why."""
    core = core_with(server, tmp_path, script, kitchen, parallel_tool_calls=False)
    final, _ = ask(core, "qwen3-235b-a22b-fp8", "add 1 and 2, then call broken", ToolPolicy(allow_all=True))
    assert final.status is RunStatus.COMPLETED and final.tool_calls == 2
    assert [name for name, _ in kitchen.calls] == ["add", "broken"]
    core.store.close()

    kitchen.calls.clear()
    core = core_with(
        server, tmp_path / "capped", script, kitchen, parallel_tool_calls=False, tool_rounds_at_most=1
    )
    final, _ = ask(core, "yandexgpt/latest", "add 1 and 2, then call broken", ToolPolicy(allow_all=True))
    assert final.error is not None and "Stopped after 1 rounds" in final.error
    assert [name for name, _ in kitchen.calls] == ["add"]
    (message,) = core.store.with_parts([core.store.get_message(final.message_id)])  # type: ignore[list-item]
    statuses = [p.status for p in message.parts if p.kind is PartKind.TOOL_CALL]
    assert statuses == [ToolStatus.DONE, ToolStatus.SKIPPED]
    core.store.close()


def test_the_model_searches_the_assistants_knowledge_itself(
    server: Any, tmp_path: Any, script: Script, kitchen: Kitchen
) -> None:
    from yachat.core.knowledge.indexer import add_paths

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kazan.md").write_text("# Kazan\n\nThe Kremlin opens at 8:00 every day.\n")
    core = core_with(server, tmp_path, script, kitchen)
    assistant = core.store.create_assistant("notes", "yandexgpt/latest")
    add_paths(core.store, assistant.id, [notes])
    thread = core.new_thread(assistant_id=assistant.id)
    events: list[RunEvent] = []
    # No approver and nothing allowed: yachat's own search of the user's files still runs.
    final = anyio.run(core.send, thread.id, "knowledge_search: Kremlin", events.append)
    assert final.status is RunStatus.COMPLETED, final.error
    (done,) = [e for e in events if isinstance(e, ToolFinished)]
    assert done.status is ToolStatus.DONE and "opens at 8:00" in done.output and "kazan.md" in done.output
    core.store.close()


def test_the_round_cap_stops_the_loop_with_a_notice(
    server: Any, tmp_path: Any, script: Script, kitchen: Kitchen
) -> None:
    core = core_with(server, tmp_path, script, kitchen, tool_rounds_at_most=0)
    final, _ = ask(core, "yandexgpt/latest", "add 1 and 2", ToolPolicy(allow_all=True))
    assert final.status is RunStatus.COMPLETED and final.error is not None
    assert "Stopped after 0 rounds" in final.error
    assert kitchen.calls == []
    (message,) = core.store.with_parts([core.store.get_message(final.message_id)])  # type: ignore[list-item]
    assert [p.kind for p in message.parts][-1] is PartKind.NOTICE
    assert message.parts[0].status is ToolStatus.SKIPPED
    core.store.close()


def test_esc_during_a_call_cancels_it_and_keeps_everything_marked(
    server: Any, tmp_path: Any, script: Script, kitchen: Kitchen
) -> None:
    core = core_with(server, tmp_path, script, kitchen)
    assistant = core.store.create_assistant("a", "yandexgpt/latest")
    thread = core.new_thread(assistant_id=assistant.id)
    events: list[RunEvent] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:

            def sink(event: RunEvent) -> None:
                events.append(event)
                if isinstance(event, ToolRunning):
                    tg.cancel_scope.cancel()  # the user pressed Esc while it ran

            tg.start_soon(core.send, thread.id, "take a nap please", sink, ToolPolicy(allow_all=True))

    anyio.run(main)
    assert kitchen.cancelled == 1
    (final,) = [e for e in events if isinstance(e, RunFinished)]
    assert final.status is RunStatus.CANCELLED
    (message,) = core.store.with_parts([core.store.get_message(final.message_id)])  # type: ignore[list-item]
    assert message.status == "cancelled"
    assert message.parts[0].status is ToolStatus.CANCELLED
    core.store.close()


@pytest.mark.parametrize("model", MODELS)
def test_a_later_turn_sends_the_calls_and_results_again(
    server: Any, tmp_path: Any, script: Script, kitchen: Kitchen, model: str
) -> None:
    """Prompt fitting counts the tool parts and re-sends them as calls and results."""
    core = core_with(server, tmp_path, script, kitchen)
    assistant = core.store.create_assistant("a", model)
    thread = core.new_thread(assistant_id=assistant.id)

    async def main() -> tuple[RunFinished, RunFinished]:
        first = await core.send(thread.id, "add 20 and 22", lambda e: None, ToolPolicy(allow_all=True))
        second = await core.send(thread.id, "thanks", lambda e: None, ToolPolicy(allow_all=True))
        return first, second

    first, second = anyio.run(main)
    assert first.status is RunStatus.COMPLETED and second.status is RunStatus.COMPLETED, second.error
    run = core.store.get_run(second.run_id)
    assert run is not None and run.prompt_tokens is not None
    core.store.close()


class Recorder(CallReporter):
    def __init__(self) -> None:
        self.ended: list[Call] = []

    def finished(self, call: Call) -> None:
        self.ended.append(call)


def test_three_identical_calls_in_a_row_stop_the_loop(kitchen: Kitchen) -> None:
    spec = kitchen.tools()[0]
    recorder = Recorder()

    async def count(text: str) -> int:
        return len(text)

    async def main() -> list[str | None]:
        repeats = RepeatWatch()
        stops = []
        for _ in range(3):
            tool_round = ToolRound(
                provider=kitchen,
                tools=[spec],
                policy=ToolPolicy(allow_all=True),
                limits=ToolLimits(),
                reporter=recorder,
                count_tokens=count,
                thread_id=1,
                message_id=1,
            )
            stops.append(await tool_round.run([Call("c", "add", '{"numbers": [1]}', spec)], repeats))
        return stops

    stops = anyio.run(main)
    assert stops[:2] == [None, None] and stops[2] is not None and "3 times in a row" in stops[2]
    assert len(kitchen.calls) == 2  # the third was not run
    assert recorder.ended[-1].status is ToolStatus.SKIPPED


def test_a_model_that_cannot_call_tools_is_said_so_once(tmp_path: Any, kitchen: Kitchen) -> None:
    """The firehose engine, like SmolLM2, has no tool format: no tools are offered to it,
    and the first answer (only) says so; nothing pretends a tool ran."""
    from yachat.server.process import start_server_process

    # The client's own home: it learns what the server's model can do from its runtime file.
    env = {"YACHAT_HOME": os.environ["YACHAT_HOME"], "YACHAT_FIREHOSE_CHUNKS": "20"}
    with start_server_process("firehose", env=env, runtime_file=True) as firehose:
        core = ChatCore.open_store(local_settings(firehose, tmp_path, stream_idle_timeout_s=10))
        core.tool_providers.append(kitchen)
        assistant = core.store.create_assistant("a", "yandexgpt/latest")

        async def two() -> list[list[RunEvent]]:
            runs: list[list[RunEvent]] = []
            for _ in range(2):
                events: list[RunEvent] = []
                thread = core.new_thread(assistant_id=assistant.id)
                await core.send(thread.id, "please add 1 and 2", events.append, ToolPolicy(allow_all=True))
                runs.append(events)
            return runs

        first, second = anyio.run(two)
        notices = [[e.text for e in run if isinstance(e, Notice)] for run in (first, second)]
        assert any("does not call tools" in n for n in notices[0]) and notices[1] == []
        assert kitchen.calls == [] and not any(isinstance(e, ToolCallStarted) for e in first + second)
        core.store.close()
