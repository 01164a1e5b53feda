"""Bad input in the TUI: huge pastes, empty messages, sending while streaming, Esc in a stall."""

from __future__ import annotations

import time

import pytest

from yachat.store.models import MessageStatus

from ..support import Script
from .conftest import SIZE
from .test_streaming import type_and_send, wait_for

pytestmark = pytest.mark.anyio


async def test_a_one_megabyte_paste_is_sent_whole(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    big = ("0123456789 abcdefghij ✓ שלום e\u0301 👩‍💻\n" * 30_000)[:1_000_000]
    script.set({"match": "0123456789", "answer": "got it"})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        started = time.monotonic()
        await type_and_send(pilot, big)
        await wait_for(
            pilot, lambda: app.pane.live() is None and len(app.pane.message_widgets()) == 2, timeout=30
        )
        assert time.monotonic() - started < 30
        stored = app.core.store.list_messages(app.thread_id)[0]
        assert stored.text == big and app.composer.text == ""


async def test_empty_and_whitespace_messages_are_not_sent(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "   \n\t  ")
        await pilot.pause()  # nothing is to happen: let any message be handled
        assert app.thread_id is None and app.core.store.count_threads() == 0


async def test_sending_while_streaming_is_refused_and_keeps_the_text(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "slow", "answer": "tick " * 1000, "chunk_chars": 5, "delay_ms": 10})  # Esc ends it
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "slow one")
        await wait_for(pilot, lambda: app.pane.live() is not None)
        await type_and_send(pilot, "second question")
        await pilot.pause()  # nothing is to happen: let any message be handled
        assert app.composer.text == "second question"  # not lost
        assert [m.role for m in app.core.store.list_messages(app.thread_id)] == ["user", "assistant"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.pane.live() is None)
        app.composer.focus()
        await pilot.press("enter")  # now it goes
        await wait_for(pilot, lambda: len(app.core.store.list_messages(app.thread_id)) == 4)


async def test_escape_stops_a_stalled_stream(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set(
        {
            "match": "stall",
            "answer": "begins then",
            "chunk_chars": 3,
            "fault": {"kind": "stall", "after_chunks": 2},
        }
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "stall please")
        await wait_for(pilot, lambda: app.pane.live() is not None and app.pane.live().text == "begins")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.pane.live() is None, timeout=2)
        answer = app.core.store.list_messages(app.thread_id)[-1]
        assert answer.status is MessageStatus.CANCELLED and answer.text == "begins"


async def test_up_recalls_and_ctrl_j_breaks_lines(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.composer.focus()
        await pilot.press(*"line one", "ctrl+j", *"line two")
        assert app.composer.text == "line one\nline two"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.pane.live() is None and len(app.pane.message_widgets()) == 2)
        await pilot.press("up")
        assert app.composer.text == "line one\nline two"


async def test_page_keys_in_the_composer_scroll_the_conversation(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "long", "answer": "\n\n".join(f"Paragraph {i}." for i in range(80))})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "long please")
        await wait_for(pilot, lambda: app.pane.live() is None and len(app.pane.message_widgets()) == 2)
        await wait_for(pilot, lambda: app.pane.scroll_y > 0 and app.pane.scroll_y == app.pane.max_scroll_y)
        bottom = app.pane.scroll_y
        assert bottom > 0 and app.focused is app.composer
        await pilot.press("pageup")
        await wait_for(pilot, lambda: app.pane.scroll_y < bottom)
        assert app.focused is app.composer
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: app.pane.scroll_y == bottom)
