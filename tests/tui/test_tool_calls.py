"""Tool calls in the pane: each call is an entry above the answer that shows its
tool, arguments and status; a call waiting for approval says so and takes a / A
/ d / D, by key and by click, and stays until answered; the result shows under
it; a thread with calls opens again with them; everything is shown as text."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from yachat.core.chat import ChatCore
from yachat.core.tools.spec import ToolOutcome, ToolSpec
from yachat.store.models import PartKind, ToolStatus
from yachat.tui.app import YachatApp
from yachat.tui.tool_calls import ToolCallView

from ..support import Script
from .conftest import SIZE
from .test_streaming import flat, screen_text, type_and_send, wait_for

pytestmark = pytest.mark.anyio

HOSTILE = "\x1b]0;pwned\x07[bold red]not markup[/] \x1b[2J done"


class Pantry:
    """A tool provider as an MCP server would be."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.release = anyio.Event()

    def tools(self) -> list[ToolSpec]:
        schema = {"type": "object", "properties": {"item": {"type": "string"}}}
        return [
            ToolSpec("stock", "How many of an item are in the pantry", schema, "pantry"),
            ToolSpec("slowcount", "Counts slowly", schema, "pantry"),
        ]

    async def call(self, tool: ToolSpec, arguments: dict[str, Any], timeout_s: float) -> ToolOutcome:
        self.calls.append(arguments)
        if tool.name == "slowcount":
            await self.release.wait()
        return ToolOutcome(f"12 jars of {arguments.get('item', '?')}\n{HOSTILE}")


def tool_core(settings) -> tuple[ChatCore, Pantry]:  # type: ignore[no-untyped-def]
    core = ChatCore.open_store(settings)
    pantry = Pantry()
    core.tool_providers.append(pantry)
    return core, pantry


def entries(app: YachatApp) -> list[ToolCallView]:
    return list(app.pane.query(ToolCallView))


async def test_a_call_waits_for_approval_by_key_then_runs_and_the_answer_uses_it(  # type: ignore[no-untyped-def]
    make_app, settings, script: Script
) -> None:
    core, pantry = tool_core(settings)
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "check the stock: honey")
        await wait_for(
            pilot, lambda: entries(app) and entries(app)[0].state.status is ToolStatus.AWAITING_APPROVAL
        )
        entry = entries(app)[0]
        shown = flat(screen_text(app))
        assert "pantry/stock" in shown and "awaiting approval" in shown
        assert "[a] allow once" in shown and "[D] deny always" in shown
        assert app.focused is entry  # the keys go to the entry
        assert pantry.calls == []  # nothing runs before the user says so
        await pilot.pause(0.2)
        assert entry.state.status is ToolStatus.AWAITING_APPROVAL  # it stays until answered
        await pilot.press("a")
        await wait_for(pilot, lambda: app.pane.live() is None and entry.state.status is ToolStatus.DONE)
        assert pantry.calls == [{"item": "honey"}]
        shown = flat(screen_text(app))
        assert "stock returned 12 jars of honey" in shown
        assert "12 jars of honey" in shown and "[bold red]not markup[/]" in shown  # literal, inert
        assert "\x1b" not in screen_text(app)
        assert core.store.tool_permissions(core.store.default_assistant().id) == {}


async def test_deny_by_click_goes_back_to_the_model(make_app, settings, script: Script) -> None:  # type: ignore[no-untyped-def]
    core, pantry = tool_core(settings)
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "stock of jam?")
        await wait_for(
            pilot, lambda: entries(app) and entries(app)[0].state.status is ToolStatus.AWAITING_APPROVAL
        )
        entry = entries(app)[0]
        lines = [strip.text for strip in entry.render_lines(entry.region.reset_offset)]
        y = next(i for i, line in enumerate(lines) if "[d] deny" in line)
        x = lines[y].index("[d] deny") + 2
        await pilot.click(entry, offset=(x, y))
        await wait_for(pilot, lambda: app.pane.live() is None)
        assert entry.state.status is ToolStatus.DENIED and pantry.calls == []
        assert "declined" in flat(screen_text(app))


async def test_allow_always_is_stored_and_not_asked_again(make_app, settings, script: Script) -> None:  # type: ignore[no-untyped-def]
    core, pantry = tool_core(settings)
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "stock of tea")
        await wait_for(
            pilot, lambda: entries(app) and entries(app)[0].state.status is ToolStatus.AWAITING_APPROVAL
        )
        await pilot.press("A")
        await wait_for(pilot, lambda: app.pane.live() is None)
        await type_and_send(pilot, "and the stock of rice")
        await wait_for(pilot, lambda: len(pantry.calls) == 2 and app.pane.live() is None)
        assert all(e.state.status is ToolStatus.DONE for e in entries(app))
        assert core.store.tool_permissions(core.store.default_assistant().id) == {"pantry/stock": "allow"}


async def test_esc_while_a_call_runs_stops_it_and_the_thread_reopens_with_it(  # type: ignore[no-untyped-def]
    make_app, settings, script: Script
) -> None:
    core, _ = tool_core(settings)
    core.store.set_tool_permission(core.store.default_assistant().id, "pantry/slowcount", "allow")
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "slowcount the beans")
        await wait_for(pilot, lambda: entries(app) and entries(app)[0].state.status is ToolStatus.RUNNING)
        assert "running" in flat(screen_text(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.pane.live() is None)
        thread_id = app.thread_id
        assert entries(app)[0].state.status is ToolStatus.CANCELLED
        app.open_thread(None)
        await pilot.pause()
        assert entries(app) == []
        app.open_thread(thread_id)
        await wait_for(pilot, lambda: len(entries(app)) == 1)
        reopened = entries(app)[0]
        assert reopened.state.tool == "slowcount" and reopened.state.status is ToolStatus.CANCELLED
        message = core.store.last_message(thread_id)  # type: ignore[arg-type]
        assert message is not None and message.status == "cancelled"
        (stored,) = core.store.with_parts([message])
        assert stored.parts[0].kind is PartKind.TOOL_CALL


async def test_an_assistant_picks_its_tools_in_the_settings(make_app, settings, script: Script) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import SelectionList

    from yachat.tui.settings_screen import SettingsScreen

    core, pantry = tool_core(settings)
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        tools = app.screen.query_one("#tools", SelectionList)
        labels = [str(tools.get_option_at_index(i).prompt) for i in range(tools.option_count)]
        assert labels == [
            "pantry (every tool)", "  slowcount", "  stock", "yachat (every tool)", "  knowledge_search"
        ]  # fmt: skip
        assert len(tools.selected) == 5  # a new assistant may use every tool
        tools.deselect("pantry")
        tools.deselect("pantry/slowcount")
        app.screen.query_one("#save").press()  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        assistant = core.store.default_assistant()
        assert assistant.tools == ("pantry/stock", "yachat")
        offered = [t.key for t in core.toolbox(assistant).tools()]
        assert offered == ["pantry/stock"]  # knowledge_search only with knowledge
        await type_and_send(pilot, "slowcount and stock: beans")
        await wait_for(
            pilot, lambda: entries(app) and entries(app)[0].state.status is ToolStatus.AWAITING_APPROVAL
        )
        assert [e.state.tool for e in entries(app)] == ["stock"]  # slowcount was not offered
        await pilot.press("d")
        await wait_for(pilot, lambda: app.pane.live() is None)
        assert pantry.calls == []
