"""The model calls a real MCP server's tools: the core's loop with the hub over stdio,
and `yachat ask` as a user runs it, with the server in config.toml."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from yachat.core.chat import ChatCore
from yachat.core.events import RunEvent, RunFinished, ToolRunning
from yachat.core.tools.loop import ToolPolicy
from yachat.core.tools.mcp_hub import McpHub
from yachat.store.models import PartKind, RunStatus, ToolStatus

from ..cli.conftest import Yachat
from ..support import Script, local_settings
from .conftest import SERVER, events_of, stdio_config


async def answer(
    core: ChatCore, hub: McpHub, text: str, model: str = "yandexgpt/latest", sink: Any = None
) -> RunFinished:
    await hub.wait_started(30)
    core.tool_providers.append(hub)
    assistant = core.store.create_assistant("mcp", model)
    thread = core.new_thread(assistant_id=assistant.id)
    return await core.send(thread.id, text, sink or (lambda e: None), ToolPolicy(allow_all=True))


@pytest.fixture
def yachat(tmp_path: Path, server: Any, script: Script) -> Yachat:
    script.set()
    return Yachat(tmp_path / "home", server)


@pytest.fixture
def core(server: Any, tmp_path: Path, script: Script) -> Any:
    script.set()
    core = ChatCore.open_store(local_settings(server, tmp_path, stream_idle_timeout_s=10, tool_timeout_s=2))
    yield core
    core.store.close()


@pytest.mark.parametrize("model", ["yandexgpt/latest", "qwen3-235b-a22b-fp8"])
def test_an_mcp_tool_answers_and_the_model_uses_it(core: ChatCore, events: Path, model: str) -> None:
    async def main() -> RunFinished:
        async with McpHub([stdio_config(events=events)]) as hub:
            return await answer(core, hub, "echo: hello from the pantry", model)

    final = anyio.run(main)
    assert final.status is RunStatus.COMPLETED, final.error
    assert "echo returned hello from the pantry" in final.text
    (message,) = core.store.with_parts([core.store.get_message(final.message_id)])  # type: ignore[list-item]
    call, result = message.parts[0], message.parts[1]
    assert call.server == "test" and call.tool == "echo" and call.status is ToolStatus.DONE
    assert json.loads(call.arguments or "") == {"text": "hello from the pantry"}
    assert result.text == "hello from the pantry"


def test_a_megabyte_result_is_cut_for_the_model(core: ChatCore, events: Path) -> None:
    async def main() -> RunFinished:
        async with McpHub([stdio_config(events=events)]) as hub:
            return await answer(core, hub, "call big")

    final = anyio.run(main)
    (message,) = core.store.with_parts([core.store.get_message(final.message_id)])  # type: ignore[list-item]
    result = message.parts[1]
    assert result.kind is PartKind.TOOL_RESULT and result.truncated_tokens > 1000
    assert len(result.text) < 512 * 1024 and "output cut: about" in result.text


def test_a_slow_call_times_out_and_the_server_is_told(core: ChatCore, events: Path) -> None:
    async def main() -> RunFinished:
        async with McpHub([stdio_config(events=events)]) as hub:
            final = await answer(core, hub, "sleep 30 seconds")
            with anyio.fail_after(10):
                while "sleep cancelled" not in events_of(events):
                    await anyio.sleep(0.05)
            return final

    final = anyio.run(main)
    assert final.status is RunStatus.COMPLETED and "did not answer within 2 s" in final.text
    (message,) = core.store.with_parts([core.store.get_message(final.message_id)])  # type: ignore[list-item]
    assert message.parts[0].status is ToolStatus.TIMED_OUT


def test_esc_during_an_mcp_call_cancels_it_at_the_server(core: ChatCore, events: Path) -> None:
    seen: list[RunEvent] = []

    async def main() -> None:
        async with McpHub([stdio_config(events=events)]) as hub:
            async with anyio.create_task_group() as tg:

                async def press_esc_once_it_sleeps() -> None:
                    while "sleep started" not in events_of(events):
                        await anyio.sleep(0.02)
                    tg.cancel_scope.cancel()  # the user pressed Esc while it ran

                def sink(event: RunEvent) -> None:
                    seen.append(event)
                    if isinstance(event, ToolRunning):
                        tg.start_soon(press_esc_once_it_sleeps)

                tg.start_soon(answer, core, hub, "sleep 30 seconds", "yandexgpt/latest", sink)
            with anyio.fail_after(10):
                while "sleep cancelled" not in events_of(events):
                    await anyio.sleep(0.05)

    anyio.run(main)
    (final,) = [e for e in seen if isinstance(e, RunFinished)]
    assert final.status is RunStatus.CANCELLED


def test_a_server_that_dies_mid_call_is_one_line_to_the_model(core: ChatCore, events: Path) -> None:
    async def main() -> RunFinished:
        async with McpHub([stdio_config(events=events)]) as hub:
            return await answer(core, hub, "die now")

    final = anyio.run(main)
    assert final.status is RunStatus.COMPLETED
    (message,) = core.store.with_parts([core.store.get_message(final.message_id)])  # type: ignore[list-item]
    assert message.parts[0].status is ToolStatus.FAILED
    assert "failed during the call" in message.parts[1].text and "\n" not in message.parts[1].text


def write_config(home: Path) -> Path:
    config = home / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f"[mcp_servers.test]\ncommand = {json.dumps(sys.executable)}\nargs = [{json.dumps(str(SERVER))}, 'stdio']\n"
    )
    return config


def test_ask_in_a_pipe_denies_calls_unless_allowed(yachat: Yachat, tmp_path: Path) -> None:
    config = str(write_config(tmp_path))
    denied = yachat("ask", "echo: the secret word", YACHAT_CONFIG=config, timeout=120)
    assert denied.returncode == 0, denied.stderr
    assert "declined" in denied.stdout
    assert "yachat: tool call test/echo" in denied.stderr and "denied" in denied.stderr

    allowed = yachat(
        "ask", "--allow-tool", "echo", "echo: the secret word", YACHAT_CONFIG=config, timeout=120
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "echo returned the secret word" in allowed.stdout
    assert "done" in allowed.stderr
    thread = allowed.stderr.strip().splitlines()[-1].split()[-1].rstrip("]")

    shown = yachat("threads", "show", thread, YACHAT_CONFIG=config)
    assert 'tool test/echo {"text": "the secret word"} → done' in shown.stdout
    md = yachat("threads", "export", thread, "--format", "md", YACHAT_CONFIG=config).stdout
    assert "**Tool call** `test/echo` — done" in md and '"text": "the secret word"' in md
    data = json.loads(yachat("threads", "export", thread, "--format", "json", YACHAT_CONFIG=config).stdout)
    kinds = [p["kind"] for p in data["messages"][-1]["parts"]]
    assert kinds == ["tool_call", "tool_result", "text"]
    found = yachat("threads", "search", "--tools", "secret", YACHAT_CONFIG=config)
    assert "tool echo" in found.stdout


def test_ask_names_a_server_that_cannot_start_and_answers(yachat: Yachat, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[mcp_servers.gone]\ncommand = "yachat-no-such-server"\n')
    result = yachat("ask", "hello there", YACHAT_CONFIG=str(config), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "yachat: MCP server gone failed:" in result.stderr
    assert result.stderr.count("MCP server gone") == 1
