"""The message pane as a virtual list, on a thread of 5,000 messages: only what is
near the view is mounted, and Home, End, search jumps, the message's own keys and a
streaming answer work over the whole thread."""

from __future__ import annotations

import pytest

from yachat.core.chat import ChatCore
from yachat.settings import Settings
from yachat.tui.message_pane import MessageWidget

from ..support import Script
from .conftest import SIZE
from .test_history import assert_contiguous, core_with_thread, shows
from .test_streaming import type_and_send, wait_for

pytestmark = pytest.mark.anyio

LONG = 5000


@pytest.fixture
def long_core(settings: Settings) -> ChatCore:
    return core_with_thread(settings, "Very long", LONG)


def widget_of(app, number: int) -> MessageWidget | None:  # type: ignore[no-untyped-def]
    text = f"message number {number}"
    return next((w for w in app.pane.message_widgets() if w.message.text == text), None)


async def test_home_reaches_the_first_message_and_end_the_last(make_app, long_core) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=long_core)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shows(app, LONG - 1))
        pane = app.pane
        pane.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: shows(app, 0))
        assert pane.scroll_y == 0 and pane.mounted_positions().start == 0
        await pilot.press("end")
        await wait_for(pilot, lambda: shows(app, LONG - 1))
        assert pane.scroll_y == pane.max_scroll_y
        assert len(pane.message_widgets()) < 100
        assert_contiguous(app)


async def test_a_search_jump_shows_and_focuses_a_message_far_away(make_app, long_core) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=long_core)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shows(app, LONG - 1))
        thread_id = app.thread_id
        target = next(
            m for m in app.core.store.message_window(thread_id, 1234, 1) if m.text == "message number 1234"
        )
        app.open_thread(thread_id, target.id)  # as a search hit opens it
        await wait_for(
            pilot, lambda: isinstance(app.focused, MessageWidget) and app.focused.message.id == target.id
        )
        await wait_for(pilot, lambda: shows(app, 1234))
        widget = widget_of(app, 1234)
        assert widget is not None and widget.region.height > 0  # on screen
        assert_contiguous(app)


async def test_copy_and_edit_a_message_that_was_not_mounted_at_open(make_app, long_core) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=long_core)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shows(app, LONG - 1))
        assert widget_of(app, 0) is None
        app.pane.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: widget_of(app, 0) is not None and shows(app, 0))
        first = widget_of(app, 0)
        assert first is not None
        await pilot.click(first)
        await wait_for(pilot, lambda: app.focused is first)
        await pilot.press("c")
        await wait_for(pilot, lambda: app.clipboard == "message number 0")
        await pilot.press("e")  # a user's message: into the composer, to resend
        await wait_for(pilot, lambda: app.composer.text == "message number 0")
        assert app.composer.editing_message_id == first.message.id


async def test_streaming_follows_the_bottom_and_lets_go_on_scroll_up(
    make_app, long_core, script: Script
) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "stream", "answer": "growing line\n\n" * 400, "chunk_chars": 14, "delay_ms": 20})
    app = make_app(core=long_core)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shows(app, LONG - 1))
        pane = app.pane
        await type_and_send(pilot, "stream a lot")
        await wait_for(pilot, lambda: pane.live() is not None and len(pane.live().text) > 300)
        await wait_for(pilot, lambda: pane.scroll_y >= pane.max_scroll_y - 2)  # following
        live = pane.live()
        assert live is not None
        grown = live.shown_chars
        await wait_for(
            pilot, lambda: live.shown_chars > grown + 100 and pane.scroll_y >= pane.max_scroll_y - 2
        )
        target = max(0, pane.scroll_y - 60)
        pane.scroll_to(y=target, animate=False)
        await wait_for(pilot, lambda: pane.scroll_y == target)
        held = pane.scroll_y
        received = live.shown_chars
        await wait_for(pilot, lambda: live.shown_chars > received + 100)  # more chunks arrive...
        assert pane.scroll_y == held  # ...and the view stays put
        await wait_for(pilot, lambda: app.query_one("#jump").display)  # "new content below"
        await pilot.click("#jump")
        await wait_for(pilot, lambda: pane.follow and pane.scroll_y >= pane.max_scroll_y - 2)
        await pilot.press("escape")
        await wait_for(pilot, lambda: pane.live() is None)
        assert pane.thread_length() == LONG + 2


async def test_a_failed_pane_step_is_logged_not_swallowed(make_app, caplog) -> None:  # type: ignore[no-untyped-def]
    """The pane's steps and swaps run unawaited; one that fails says so in the log."""

    async def broken_step() -> None:
        raise RuntimeError("the step broke")

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        worker = app.pane.run_worker(broken_step(), group="window", exit_on_error=False)
        await wait_for(pilot, lambda: worker.is_finished)
        await wait_for(pilot, lambda: "the step broke" in caplog.text)
    record = next(r for r in caplog.records if r.name == "yachat.tui.message_pane")
    assert record.levelname == "ERROR" and "failed" in record.getMessage()


async def test_a_window_step_meeting_a_finishing_answer_shows_it_once(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    """The answer's end adds its row to the thread; a step down that starts then reads it
    from the store while the finished widget is swapped in: one of them must give way."""
    script.set({"match": "once", "answer": "A short answer.", "chunk_chars": 100})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        finish = pane.finish_live

        def finish_then_step(message, run) -> None:  # type: ignore[no-untyped-def]
            finish(message, run)
            pane._extend(up=False)  # as a scroll sync at that moment does

        pane.finish_live = finish_then_step  # type: ignore[method-assign]
        await type_and_send(pilot, "once please")
        await wait_for(pilot, lambda: pane.live() is None and len(pane.message_widgets()) >= 2)
        await wait_for(pilot, lambda: not pane._busy)
        await pilot.pause()
        shown = [w.message.text for w in pane.message_widgets()]
        assert shown == ["once please", "A short answer."]


async def test_a_thread_shown_again_while_its_answer_is_swapped_in_shows_the_answer(  # type: ignore[no-untyped-def]
    make_app, script: Script
) -> None:
    """The finished widget is mounted over a few awaits; a thread shown in one of them (a
    click on the same thread) has the answer from the store and must keep it."""
    script.set({"match": "again", "answer": "The answer, kept.", "chunk_chars": 100})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.pane
        mount, shown_again = pane.mount, []

        def mount_then_show_again(*widgets, **where):  # type: ignore[no-untyped-def]
            mounting = mount(*widgets, **where)
            finished = any(isinstance(w, MessageWidget) and w.message.role == "assistant" for w in widgets)
            if finished and not shown_again:
                shown_again.append(True)
                app.open_thread(app.thread_id)  # inside the swap's await
            return mounting

        pane.mount = mount_then_show_again  # type: ignore[method-assign]
        await type_and_send(pilot, "again please")
        await wait_for(pilot, lambda: bool(shown_again))
        await wait_for(pilot, lambda: pane.live() is None)
        await wait_for(pilot, lambda: not pane._busy)
        await pilot.pause()
        await wait_for(pilot, lambda: len(pane.message_widgets()) == 2)
        assert [w.message.text for w in pane.message_widgets()] == ["again please", "The answer, kept."]
