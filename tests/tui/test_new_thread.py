"""ctrl+n and reopening threads: the pane's next view is mounted while the last
one is still being removed, and must not clash with it."""

from __future__ import annotations

import logging

import pytest

from yachat.tui.message_pane import MessageWidget

from ..support import Script
from .conftest import SIZE
from .test_streaming import screen_text, type_and_send, wait_for

pytestmark = pytest.mark.anyio


def welcomes(app) -> int:  # type: ignore[no-untyped-def]
    return screen_text(app).count("A new conversation.")


async def test_ctrl_n_on_the_welcome_keeps_one_welcome(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: welcomes(app) == 1)
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: len(app.pane.shown()) == 1)
        assert app.is_running and welcomes(app) == 1


async def test_ctrl_n_twice_after_a_message(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "hello", "answer": "hi there", "chunk_chars": 3})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "hello")
        await wait_for(pilot, lambda: any(w.message.text == "hi there" for w in app.pane.message_widgets()))
        await pilot.press("ctrl+n")
        await pilot.pause(0.15)  # the interval the issue reports, not a wait for a state
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: len(app.pane.shown()) == 1 and welcomes(app) == 1)
        assert app.is_running and app.thread_id is None and app.pane.message_widgets() == []


async def test_reopening_the_same_thread_at_once(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "hello", "answer": "hi there", "chunk_chars": 3})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "hello")
        await wait_for(pilot, lambda: any(w.message.text == "hi there" for w in app.pane.message_widgets()))
        thread = app.thread_id
        for _ in range(3):  # the same message widgets, three times before any removal ends
            app.open_thread(thread)
        await wait_for(pilot, lambda: len(app.pane.shown()) == 2 and len(app.pane.query(MessageWidget)) == 2)
        assert [w.message.text for w in app.pane.query(MessageWidget)] == ["hello", "hi there"]
        assert app.is_running


async def test_child_top_matches_the_layout(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    """The pane adds up where a child starts (no compositor lookup from timers): the
    sum must be where Textual's layout put it."""
    script.set({"match": "q", "answer": "## Head\n\nSome text\n\n- a\n- b", "chunk_chars": 50})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for i in range(3):
            await type_and_send(pilot, f"q{i}")
            await wait_for(pilot, lambda i=i: len(app.pane.message_widgets()) == 2 * (i + 1))
        await pilot.pause()
        for child in app.pane.children:
            assert app.pane.child_top(child) == child.virtual_region.y


async def test_undo_after_a_new_thread_took_the_deleted_id(make_app, script: Script, caplog) -> None:  # type: ignore[no-untyped-def]
    """Found by the random walk (seed 2095820331): delete the newest thread, start
    another (SQLite gives it the same id), ctrl+z. The app says so and goes on."""
    script.set({"match": "q", "answer": "a", "chunk_chars": 3})
    caplog.set_level(logging.INFO, logger="yachat.tui.chat_screen")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "q one")
        await wait_for(pilot, lambda: len(app.pane.message_widgets()) == 2)
        deleted = app.thread_id
        app.sidebar.option_list.focus()
        app.sidebar.highlight(deleted)
        await pilot.press("d")
        await wait_for(pilot, lambda: len(app.screen_stack) > 1)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.core.store.get_thread(deleted) is None)
        await type_and_send(pilot, "q two")
        await wait_for(pilot, lambda: len(app.pane.message_widgets()) == 2 and app.thread_id is not None)
        reused = app.thread_id == deleted  # SQLite gave the new thread the deleted one's id
        app.sidebar.option_list.focus()  # in the composer, ctrl+z undoes typing
        await pilot.press("ctrl+z")
        if reused:
            # The user is told in a toast; the log says why.
            await wait_for(pilot, lambda: any("undo delete failed" in r.getMessage() for r in caplog.records))
        else:
            await wait_for(pilot, lambda: app.core.store.get_thread(deleted) is not None)
        assert app.is_running


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_narrow_terminals_keep_the_conversation_wide(make_app, size) -> None:  # type: ignore[no-untyped-def]
    """Below 100 columns the sidebar hides; ctrl+b shows it over the conversation
    and Esc puts it away. The footer and the top bar show only whole labels."""
    from yachat.tui.composer import SHORT_PLACEHOLDER

    app = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.narrow and not app.sidebar.display)
        assert app.pane.outer_size.width >= min(60, size[0] - 2)
        assert app.composer.placeholder == SHORT_PLACEHOLDER
        await wait_for(pilot, lambda: "Quit" in screen_text(app).split("\n")[-1])
        lines = screen_text(app).split("\n")
        assert lines[-1].rstrip().endswith("^p palette")
        words = [w for w in lines[-1].replace("▏", " ").split() if w]
        labels = {
            "^q",
            "Quit",
            "^n",
            "New",
            "esc",
            "Stop",
            "^b",
            "Sidebar",
            "^f",
            "Search",
            "^s",
            "Settings",
            "f1",
            "Help",
            "^r",
            "Retry",
            "^g",
            "Regenerate",
            "^o",
            "Copy",
            "answer",
            "^p",
            "palette",
        }
        assert set(words) <= labels, words  # no label cut mid-word
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: app.sidebar.display and app.sidebar.has_focus_within)
        assert app.pane.outer_size.width >= min(60, size[0] - 2)  # over the pane, not beside it
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.sidebar.display and app.focused is app.composer)
