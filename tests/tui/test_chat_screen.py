"""The chat screen's reactives: setting the open thread, the backend's label or the tools'
label is all it takes for the top bar and the sidebar to follow (no refresh call)."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from yachat.tui.chat_screen import ChatScreen

from .conftest import SIZE
from .test_history import seeded_core
from .test_streaming import wait_for

pytestmark = pytest.mark.anyio


def topbar(screen: ChatScreen) -> str:
    return str(screen.query_one("#topbar", Static).render())


async def test_the_top_bar_and_the_sidebar_follow_the_reactives(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    core = seeded_core(settings)
    older, newer = core.store.list_threads()[::-1]
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        chat = app.screen
        assert isinstance(chat, ChatScreen) and chat is app.chat
        await wait_for(pilot, lambda: chat.thread_id == newer.id and app.sidebar.active == newer.id)
        # The backend's label: the app's connection sets it, as here, and nothing else.
        chat.backend_label = "a backend named here"
        assert "a backend named here" in topbar(chat)
        chat.tools_label = "3 tools"
        assert "3 tools" in topbar(chat)
        # The open thread: its watcher highlights it in the sidebar.
        chat.open_thread(older.id)
        assert chat.thread_id == app.thread_id == older.id and app.sidebar.active == older.id
        highlighted = app.sidebar.option_list.highlighted
        assert highlighted is not None
        assert app.sidebar.option_list.get_option_at_index(highlighted).id == f"t{older.id}"
        # A thread that went away opens nothing, and the top bar still names the backend.
        core.store.delete_thread(newer.id)
        chat.open_thread(newer.id)
        assert chat.thread_id is None and "a backend named here" in topbar(chat)


async def test_the_keys_reach_the_screen_and_the_palette_finds_its_actions(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.thread_id is not None)
        await pilot.press("ctrl+n")  # an app key, whose action is the screen's
        await wait_for(pilot, lambda: app.thread_id is None)
        # The palette runs a screen action as well as an app one.
        await pilot.press("ctrl+p")
        await pilot.press(*"toggle sidebar", "enter")
        await wait_for(pilot, lambda: app.sidebar.has_class("-hidden"))
