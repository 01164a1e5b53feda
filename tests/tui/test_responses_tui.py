"""The TUI over the Responses API: a thread that streams and continues by chaining, and ctrl+s
setting the transport, web search and remote MCP servers."""

from __future__ import annotations

import openai
import pytest
from textual.widgets import Label, Select, TextArea

from yachat.core.chat import ChatCore
from yachat.settings import Settings
from yachat.store.models import MessageStatus, RemoteMcp, WebSearch
from yachat.tui.settings_screen import SettingsScreen

from ..support import Script
from .conftest import SIZE
from .test_history import seeded_core
from .test_streaming import type_and_send, wait_for

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


async def test_a_thread_streams_and_continues_by_chaining(
    make_app, settings: Settings, script: Script
) -> None:  # type: ignore[no-untyped-def]
    words = " ".join(f"w{i:03d}" for i in range(80))
    script.set(
        {"match": "count", "answer": words, "chunk_chars": 10, "delay_ms": 50},
        {"match": "again", "echo": True},
    )
    core = ChatCore.open_store(settings)
    core.store.update_assistant(core.store.default_assistant().id, transport="responses")
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "count for me")
        await wait_for(pilot, lambda: app.pane.live() is not None and len(app.pane.live().text) > 40)
        live = app.pane.live()
        assert live is not None and len(live.text) < len(words)  # half-streamed, on screen
        await wait_for(pilot, lambda: app.pane.live() is None, timeout=20)
        await type_and_send(pilot, "and again")

        def answered() -> bool:
            messages = core.store.list_messages(app.thread_id)
            recorded = core.store._db.read("SELECT count(*) FROM run_responses")[0][0]
            return len(messages) == 4 and messages[-1].status is MessageStatus.COMPLETE and recorded == 2

        await wait_for(pilot, answered, timeout=20)
        rows = core.store._db.read("SELECT response_id FROM run_responses ORDER BY run_id")
        answer = core.store.list_messages(app.thread_id)[-1].text
        assert "count for me" in answer and "w079" in answer  # the chain held the first turn
        client = openai.OpenAI(
            base_url=settings.local_http_url, api_key=settings.local_token, project="local"
        )
        try:
            second = client.responses.retrieve(rows[1][0])
            sent = client.responses.input_items.list(rows[1][0])
        finally:
            client.close()
        assert second.previous_response_id == rows[0][0] and len(sent.data) == 1
