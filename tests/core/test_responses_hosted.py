"""Tools Yandex runs itself, over the `responses` transport, against the local server's
Responses API: web search (its pages become sources under the answer, kept in exports)
and a remote MCP server (a real streamable-HTTP one), whose approval requests go through
the tool loop's approval."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from yachat.core.chat import ChatCore
from yachat.core.events import (
    ApprovalRequest,
    Decision,
    RunEvent,
    RunFinished,
    SourcesFound,
    ToolAwaitingApproval,
    ToolCallStarted,
)
from yachat.core.tools.loop import ToolPolicy
from yachat.store.knowledge import WEB_SOURCE
from yachat.store.models import PartKind, RemoteMcp, RunStatus, ToolStatus, WebSearch

from ..support import Script, local_settings

MCP_SERVER = Path(__file__).parents[1] / "mcp" / "server.py"


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(MCP_SERVER), "http"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "port N" once it listens
        assert line.startswith("port "), line
        yield f"http://127.0.0.1:{line.split()[1]}/mcp"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def mcp_core(server: Any, tmp_path: Path, script: Script) -> Iterator[ChatCore]:
    """A core that waits longer for the first event: the server connects to the remote MCP
    server (importing `mcp` on its first use) before its response starts."""
    script.set()
    core = ChatCore.open_store(local_settings(server, tmp_path, stream_idle_timeout_s=30))
    yield core
    core.store.close()


def thread_with(core: ChatCore, **assistant: Any) -> int:
    made = core.store.create_assistant("r", "yandexgpt/latest", transport="responses", **assistant)
    return core.new_thread(assistant_id=made.id).id


def send(
    core: ChatCore, thread_id: int, text: str, policy: ToolPolicy | None = None
) -> tuple[RunFinished, list[RunEvent]]:
    events: list[RunEvent] = []

    async def main() -> RunFinished:
        return await core.send(thread_id, text, events.append, policy)

    return anyio.run(main), events


def test_web_search_pages_are_sources_under_the_answer(core: ChatCore, script: Script) -> None:
    script.set()
    thread_id = thread_with(core, web_search=WebSearch())
    final, events = send(core, thread_id, "How deep is Lake Baikal?")
    assert final.status is RunStatus.COMPLETED, final.error
    found = [e for e in events if isinstance(e, SourcesFound)]
    assert found, "no sources were shown"
    assert events.index(found[-1]) < next(i for i, e in enumerate(events) if isinstance(e, RunFinished))
    urls = [p.path for p in found[-1].sources if p.kind == WEB_SOURCE]
    assert "https://en.wikipedia.org/wiki/Lake_Baikal" in urls
    # The search is an entry of the answer, run by Yandex, never sent back as a call.
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [(e.tool, e.server) for e in started] == [("web_search", "cloud:search")]
    answer = core.store.with_parts(core.store.list_messages(thread_id))[-1]
    call = next(p for p in answer.parts if p.kind is PartKind.TOOL_CALL)
    assert call.status is ToolStatus.DONE and "Baikal" in (call.arguments or "")
    # Kept: stored with the run, and in the export.
    assert "https://en.wikipedia.org/wiki/Lake_Baikal" in [
        p.path for p in core.store.run_sources(final.run_id)
    ]
    assert "https://en.wikipedia.org/wiki/Lake_Baikal" in core.export_thread(thread_id, "md")
    # The next question chains, and does not re-send the search as a function call.
    again, _ = send(core, thread_id, "And how old is it?")
    assert again.status is RunStatus.COMPLETED, again.error


def test_web_search_keeps_to_the_assistants_sites(core: ChatCore, script: Script) -> None:
    script.set()
    thread_id = thread_with(core, web_search=WebSearch(domains=("gismeteo.ru",), context_size="high"))
    final, events = send(core, thread_id, "What is the weather in Moscow and Saint Petersburg?")
    assert final.status is RunStatus.COMPLETED, final.error
    sources = [e for e in events if isinstance(e, SourcesFound)][-1].sources
    assert sources and all("gismeteo.ru" in p.path for p in sources)


def test_a_remote_mcp_call_is_approved_through_the_tool_loop(mcp_core: ChatCore, mcp_url: str) -> None:
    core = mcp_core
    asked: list[ApprovalRequest] = []

    async def approve(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision.ALLOW_ONCE

    thread_id = thread_with(core, remote_mcp=(RemoteMcp("test", mcp_url, (), "always"),))
    final, events = send(core, thread_id, "echo approve me", ToolPolicy(approver=approve))
    assert final.status is RunStatus.COMPLETED, final.error
    assert [(r.tool.server, r.tool.name) for r in asked] == [("cloud:test", "echo")]
    assert "approve me" in asked[0].arguments
    assert any(isinstance(e, ToolAwaitingApproval) for e in events)
    assert "echo returned approve me" in final.text
    answer = core.store.with_parts(core.store.list_messages(thread_id))[-1]
    calls = [(p.tool, p.status) for p in answer.parts if p.kind is PartKind.TOOL_CALL]
    assert ("echo", ToolStatus.DONE) in calls and ("list_tools", ToolStatus.DONE) in calls


def test_a_declined_remote_mcp_call_is_not_run(mcp_core: ChatCore, mcp_url: str) -> None:
    core = mcp_core

    async def decline(_request: ApprovalRequest) -> Decision:
        return Decision.DENY_ONCE

    thread_id = thread_with(core, remote_mcp=(RemoteMcp("test", mcp_url, (), "always"),))
    final, _ = send(core, thread_id, "echo not this", ToolPolicy(approver=decline))
    assert final.status is RunStatus.COMPLETED, final.error
    assert "echo returned" not in final.text
    answer = core.store.with_parts(core.store.list_messages(thread_id))[-1]
    assert ToolStatus.DENIED in [p.status for p in answer.parts if p.kind is PartKind.TOOL_CALL]
