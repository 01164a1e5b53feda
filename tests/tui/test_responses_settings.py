"""ctrl+s offers the Responses API: the transport, web search and remote MCP servers."""

from __future__ import annotations

import pytest
from textual.widgets import Label, Select, TextArea

from yachat.settings import Settings
from yachat.store.models import RemoteMcp, WebSearch
from yachat.tui.settings_screen import SettingsScreen

from .conftest import SIZE
from .test_history import seeded_core
from .test_streaming import wait_for

pytestmark = pytest.mark.anyio


async def test_the_responses_transport_web_search_and_remote_mcp_are_set_in_settings(  # type: ignore[no-untyped-def]
    make_app, settings: Settings
) -> None:
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        screen.query_one("#transport", Select).value = "responses"
        screen.query_one("#web_search", Select).value = "on"
        screen.query_one("#web_sites").value = "a.ru, b.ru, c.ru, d.ru, e.ru, f.ru"  # type: ignore[attr-defined]
        await pilot.pause()  # the transport's change is checked (and the error line set) first
        screen.query_one("#save").press()  # type: ignore[attr-defined]
        error = screen.query_one("#error", Label)
        await wait_for(pilot, lambda: "at most 5 sites" in str(error.render()))
        assert isinstance(app.screen, SettingsScreen)  # not saved
        screen.query_one("#web_sites").value = "ria.ru"  # type: ignore[attr-defined]
        screen.query_one("#web_region").value = "213"  # type: ignore[attr-defined]
        screen.query_one("#web_context", Select).value = "high"
        screen.query_one("#remote_mcp", TextArea).text = "hub https://mcp.example.com/mcp never"
        screen.query_one("#save").press()  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        assistant = app.core.assistant_for(app.thread_id)
        assert assistant.transport == "responses"
        assert assistant.web_search == WebSearch(True, ("ria.ru",), "213", "high")
        assert assistant.remote_mcp == (RemoteMcp("hub", "https://mcp.example.com/mcp", (), "never"),)
