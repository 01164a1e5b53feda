"""Sending a message and watching the answer stream, stop and fail."""

from __future__ import annotations

import time

import pytest
from textual.pilot import Pilot

from yachat.store.models import MessageStatus, RunStatus
from yachat.tui.app import YachatApp
from yachat.tui.textual_compat import screen_lines

from ..support import Script
from .conftest import SIZE

pytestmark = pytest.mark.anyio


async def wait_for(pilot: Pilot[None], condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


def screen_text(app: YachatApp) -> str:
    """What the terminal shows, as plain text."""
    return "\n".join(screen_lines(app.screen))


def flat(text: str) -> str:
    """Screen text with frame characters removed and whitespace collapsed, for wrapped sentences."""
    for frame in "▌▕▎▊▔▁":
        text = text.replace(frame, " ")
    return " ".join(text.split())


async def click_text(pilot: Pilot[None], widget, label: str) -> None:  # type: ignore[no-untyped-def]
    """Click the first place `label` is shown inside a message widget."""
    lines = widget.lines(widget.size.width)
    y = next(i for i, line in enumerate(lines) if label in line.text)
    x = lines[y].text.index(label) + 1
    await pilot.click(widget, offset=(x + widget.styles.gutter.left, y + widget.styles.gutter.top))


async def type_and_send(pilot: Pilot[None], text: str) -> None:
    app = pilot.app
    assert isinstance(app, YachatApp)
    app.composer.focus()
    app.composer.insert(text)
    await pilot.press("enter")


async def test_answer_grows_chunk_by_chunk(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    words = " ".join(f"w{i:03d}" for i in range(120))
    script.set({"match": "count", "answer": words, "chunk_chars": 10, "delay_ms": 30})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused is app.composer  # type at once
        await type_and_send(pilot, "count for me")
        await wait_for(pilot, lambda: app.pane.live() is not None and len(app.pane.live().text) > 50)
        live = app.pane.live()
        assert live is not None
        partial = live.text
        assert 50 < len(partial) < len(words)  # part of the answer is here, the rest not yet
        await wait_for(pilot, lambda: "w000" in screen_text(app))
        text = screen_text(app)
        assert "w000" in text and "w119" not in text  # on screen: the start, not yet the end
        await wait_for(pilot, lambda: app.pane.live() is None, timeout=20)
        finals = [w for w in app.pane.message_widgets() if w.message.role == "assistant"]
        assert finals and finals[-1].message.text == words
        stored = app.core.store.get_message(finals[-1].message.id)
        assert stored is not None and stored.text == words and stored.status is MessageStatus.COMPLETE
        # The thread got its name from the first message and sits in the sidebar.
        assert app.sidebar.threads[0].name == "count for me"


async def test_escape_stops_and_keeps_the_part(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "long", "answer": "tick " * 400, "chunk_chars": 5, "delay_ms": 15})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "a long answer")
        await wait_for(pilot, lambda: app.pane.live() is not None and len(app.pane.live().text) > 40)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.pane.live() is None)
        answer = [w for w in app.pane.message_widgets() if w.message.role == "assistant"][-1].message
        assert answer.status is MessageStatus.CANCELLED
        assert 40 <= len(answer.text) < len("tick " * 400)
        stored = app.core.store.get_message(answer.id)
        assert stored is not None and stored.text == answer.text
        run = app.core.store.get_run(answer.run_id or 0)
        assert run is not None and run.status is RunStatus.CANCELLED


async def test_error_is_shown_and_retry_works(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set(
        {
            "match": "broken",
            "answer": "half an answer",
            "chunk_chars": 4,
            "times": 1,
            "fault": {"kind": "status", "code": "INTERNAL", "message": "model crashed", "after_chunks": 2},
        },
        {"match": "broken", "answer": "a whole answer", "chunk_chars": 4},
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "broken server")
        await wait_for(pilot, lambda: any(w.message.status == "failed" for w in app.pane.message_widgets()))
        failed = [w for w in app.pane.message_widgets() if w.message.status == "failed"][-1]
        assert failed.message.text == "half an "  # what arrived before the fault is kept
        text = screen_text(app)
        assert "The server failed (INTERNAL: model crashed)" in flat(text)
        assert "Retry (ctrl+r)" in text and "Traceback" not in text
        # The mouse retries too: click the "Retry" link under the failed answer.
        await click_text(pilot, failed, "Retry (ctrl+r)")
        await wait_for(
            pilot, lambda: any(w.message.text == "a whole answer" for w in app.pane.message_widgets())
        )
        texts = [w.message.text for w in app.pane.message_widgets()]
        assert texts == ["broken server", "a whole answer"]


async def test_markup_and_escapes_render_literally(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    hostile = "[bold red]not bold[/] [@click=app.quit]click me[/] \x1b]52;c;aGk=\x07 \x1b[2J done"
    script.set({"match": "hostile", "answer": hostile, "chunk_chars": 6})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "hostile [bold]title[/]")
        await wait_for(pilot, lambda: any("done" in w.message.text for w in app.pane.message_widgets()))
        await wait_for(pilot, lambda: "done" in screen_text(app))
        text = screen_text(app)
        assert "[bold red]not bold[/]" in text
        assert "[@click=app.quit]click me[/]" in text
        assert "\x1b" not in text
        assert app.is_running  # the click markup did not become an action
        assert "hostile [bold]title[/]" in text  # the thread title, literally


async def test_leaving_and_returning_to_a_streaming_thread(make_app, settings, script: Script) -> None:  # type: ignore[no-untyped-def]
    """The server streams at its own pace: at 10 ms a chunk this answer used to end
    while a loaded machine was still getting to the check (the marker was gone because
    the answer was done). At 40 ms a chunk it outlasts every step here by seconds."""
    from yachat.core.chat import ChatCore

    answer = " ".join(f"part{i}" for i in range(150))
    script.set({"match": "long", "answer": answer, "chunk_chars": 7, "delay_ms": 40})
    core = ChatCore.open_store(settings)
    other = core.new_thread("Elsewhere")
    core.store.add_message(other.id, "user", "a quiet thread")
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+n")
        await type_and_send(pilot, "long answer please")
        await wait_for(pilot, lambda: app.pane.live() is not None and len(app.pane.live().text) > 50)
        streaming = app.thread_id
        app.open_thread(other.id)
        await wait_for(pilot, lambda: "a quiet thread" in screen_text(app))
        assert app.pane.live() is None
        assert app.runs.streaming(streaming), "the answer ended before the check: make it longer"
        assert "● long answer please" in screen_text(app)  # the sidebar marks it still streaming
        app.open_thread(streaming)
        live = app.pane.live()  # shown at once, from the text so far
        assert live is not None and answer.startswith(live.text)  # picked up where it is, no repeats
        await wait_for(pilot, lambda: app.pane.live() is None, timeout=30)
        final = [w for w in app.pane.message_widgets() if w.message.role == "assistant"][-1]
        assert final.message.text == answer
        await wait_for(pilot, lambda: "● long answer please" not in screen_text(app))


def pane_lines(app: YachatApp) -> list[str]:
    """The lines the message pane shows, without its scrollbar."""
    region = app.pane.scrollable_content_region
    return [line[region.x : region.right] for line in screen_text(app).split("\n")[region.y : region.bottom]]


async def test_blocks_rendered_above_the_view_do_not_move_what_the_reader_sees(  # type: ignore[no-untyped-def]
    make_app, script: Script
) -> None:
    """A fast stream leaves blocks above the view estimated; when they are rendered, the
    lines on screen stay where they are. (Hard line breaks are estimated as one reflowed
    line, so each paragraph here renders two lines taller than its estimate.)"""
    from yachat.tui.markdown_blocks import split
    from yachat.tui.message_pane import MessageWidget
    from yachat.tui.render import block_parts

    answer = "\n\n".join(f"## Part {i}\n\nline one of {i}  \nline two  \nline three" for i in range(60))
    script.set({"match": "parts", "answer": answer, "chunk_chars": 4000})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "parts please")
        await wait_for(pilot, lambda: app.pane.live() is None and len(app.pane.message_widgets()) == 2)
        done = app.pane.message_widgets()[-1]
        # The same answer as a fast stream hands it over: every block estimated.
        estimated = MessageWidget(done.message, done.run, block_parts(split(done.message.text)[0], True))
        await app.pane.replace_widget(done, estimated)
        await wait_for(pilot, lambda: app.pane.max_scroll_y > 0)
        app.pane.scroll_to(y=app.pane.max_scroll_y // 2, animate=False, immediate=True)
        app.pane.release_anchor()  # as a user's scroll does
        # The parts in view are rendered as they are painted, and laid out after: wait
        # until two frames in a row show the same lines.
        shown: list[list[str]] = [[]]

        def steady() -> bool:
            now = pane_lines(app)
            same, shown[0] = now == shown[0], now
            return same

        await wait_for(pilot, steady)
        reading, y = pane_lines(app), app.pane.scroll_y
        assert any("line two" in line for line in reading)
        await estimated.render_off_loop(estimated.size.width)
        await wait_for(pilot, lambda: app.pane.scroll_y != y)  # the blocks above changed height
        await pilot.pause()
        assert pane_lines(app) == reading
        assert app.pane.scroll_y != y  # the blocks above did change height


async def test_garbage_collection_pauses_while_an_answer_streams_and_resumes_after(  # type: ignore[no-untyped-def]
    make_app, script: Script
) -> None:
    import gc

    # Long enough (~8 s) that the check below cannot meet the answer's end on a busy machine
    # (Pilot's key press alone waits up to a second for a streaming app to go idle); Esc ends it.
    script.set({"match": "gc", "answer": "tick " * 400, "chunk_chars": 5, "delay_ms": 20})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert gc.isenabled()
        await type_and_send(pilot, "gc please")
        await wait_for(pilot, lambda: app.pane.live() is not None and app.pane.live().shown_chars > 0)
        assert app.runs.active and not gc.isenabled()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.pane.live() is None and len(app.pane.message_widgets()) == 2)
        await wait_for(pilot, gc.isenabled)


async def test_overlapping_answers_do_not_keep_garbage_collection_away(  # type: ignore[no-untyped-def]
    make_app, script: Script, monkeypatch
) -> None:
    """Answers that overlap in two threads leave automatic collection off between
    them; full collections still run while they stream, and it is on once both end."""
    import gc

    from yachat.tui.runs import RunController

    monkeypatch.setattr(RunController, "GC_EVERY_S", 0.2)
    # Long (16 s), so the first answer still streams after the keys that start the second
    # (Pilot waits for the app to go idle after each, up to a second); both are stopped
    # once seen together.
    script.set({"match": "slow", "answer": "tick " * 800, "chunk_chars": 5, "delay_ms": 20})
    full_collections: list[bool] = []

    def seen(phase: str, info: dict) -> None:  # type: ignore[type-arg]
        if phase == "start" and info["generation"] == 2:
            full_collections.append(bool(len(app.runs.active) == 2))

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "slow one")
        await wait_for(pilot, lambda: app.pane.live() is not None)
        await pilot.press("ctrl+n")
        await type_and_send(pilot, "slow two")
        await wait_for(pilot, lambda: len(app.runs.active) == 2)
        assert not gc.isenabled()
        gc.callbacks.append(seen)
        try:
            await wait_for(pilot, lambda: any(full_collections))  # while both stream
        finally:
            gc.callbacks.remove(seen)
        for thread_id in list(app.runs.active):
            app.runs.stop(thread_id)
        await wait_for(pilot, lambda: not app.runs.active, timeout=30)
        await wait_for(pilot, gc.isenabled)


async def test_the_youngest_garbage_is_collected_while_an_answer_streams(  # type: ignore[no-untyped-def]
    make_app, script: Script
) -> None:
    """Automatic collection is off while an answer streams, but the youngest generation
    is still collected, a little at a time: left to pile up, the first pass after the
    answer took 300 ms, in front of the finished frame (bench `paint`)."""
    import gc

    script.set({"match": "young", "answer": "tick " * 200, "chunk_chars": 5, "delay_ms": 10})
    young: list[int] = []

    def seen(phase: str, info: dict) -> None:  # type: ignore[type-arg]
        if phase == "start" and info["generation"] == 0 and not gc.isenabled():
            young.append(gc.get_count()[0])

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # Watched from before the send: Pilot's key press waits for the app to go idle,
        # up to a second, and a streaming app is not idle (most of this answer had
        # streamed by the time the press returned).
        gc.callbacks.append(seen)
        try:
            await type_and_send(pilot, "young garbage")
            await wait_for(pilot, lambda: len(young) >= 3)  # while it streams
        finally:
            gc.callbacks.remove(seen)
        assert app.runs.active and not gc.isenabled()
        await wait_for(pilot, lambda: not app.runs.active, timeout=30)
        await wait_for(pilot, gc.isenabled)


async def test_quitting_mid_stream_stores_the_answer_so_far(make_app, settings, script: Script) -> None:  # type: ignore[no-untyped-def]
    import gc

    from yachat.core.chat import ChatCore

    script.set({"match": "long", "answer": "tick " * 400, "chunk_chars": 5, "delay_ms": 20})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "a long answer")
        await wait_for(pilot, lambda: app.pane.live() is not None and len(app.pane.live().text) > 40)
        thread = app.thread_id
        await pilot.press("ctrl+q")
    assert gc.isenabled()
    core = ChatCore.open_store(settings)
    try:
        answer = core.store.last_message(thread, role="assistant")
        assert answer is not None and answer.status is MessageStatus.CANCELLED
        assert answer.text.startswith("tick") and len(answer.text) >= 40
    finally:
        core.store.close()
