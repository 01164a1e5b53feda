"""What the pane says about the prompt: the line above the oldest message sent,
the model that answered, and an answer cut off at the length limit."""

from __future__ import annotations

import pytest

from yachat.core.chat import ChatCore
from yachat.settings import Settings
from yachat.tui.message_pane import MessageWidget
from yachat.tui.prompt_cut import PromptCut

from ..support import Script
from .conftest import SIZE
from .test_streaming import flat, screen_text, type_and_send, wait_for

pytestmark = pytest.mark.anyio

LONG_ANSWER = " ".join(f"Point {i}: a long and chatty answer about the question." for i in range(10))


def small_budget_core(settings: Settings, budget: int = 700) -> ChatCore:
    core = ChatCore.open_store(settings)
    core.store.update_assistant(core.store.default_assistant().id, prompt_token_budget=budget)
    return core


def children_order(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The pane's children as "Kind" or "MessageWidget:m<message id>", top to bottom."""
    return [
        type(c).__name__ + (f":m{c.message.id}" if hasattr(c, "message") else "") for c in app.pane.shown()
    ]


async def test_the_cut_is_shown_above_the_first_message_sent_and_again_on_reopening(  # type: ignore[no-untyped-def]
    make_app, settings, script: Script
) -> None:
    script.set(answer=LONG_ANSWER, chunk_chars=200)
    core = small_budget_core(settings)
    thread_id = core.new_thread("long one").id
    for n in range(8):
        await core.send(thread_id, f"question {n}", lambda _update: None)
    runs = core.store.list_runs(thread_id)
    last = runs[-1]
    assert last.omitted_messages and last.first_sent_message_id
    app = make_app(thread_id=thread_id, core=core)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app.pane.message_widgets()))
        app.pane.scroll_to_start()  # the pane mounts the messages near the view: go to them
        await wait_for(pilot, lambda: bool(app.pane.query(PromptCut)))
        markers = list(app.pane.query(PromptCut))
        app.pane.scroll_to_widget(markers[0], top=True, animate=False)
        await pilot.pause(0.1)
        print(screen_text(app))
        assert len(markers) == 1
        order = children_order(app)
        at = order.index("PromptCut")
        assert order[at + 1] == f"MessageWidget:m{last.first_sent_message_id}"  # right above it
        assert f"{last.omitted_messages} earlier messages were not sent to the model" in str(
            markers[0].render()
        )

        # One more turn: the cut moves on, live, and there is still one line.
        await type_and_send(pilot, "and one more")
        await wait_for(pilot, lambda: len(core.store.list_runs(thread_id)) == len(runs) + 1)
        await wait_for(pilot, lambda: not app.runs.streaming(thread_id))
        newest = core.store.list_runs(thread_id)[-1]
        assert newest.omitted_messages and newest.omitted_messages > last.omitted_messages
        await wait_for(
            pilot,
            lambda: (
                [m.cut for m in app.pane.query(PromptCut)]
                == [(newest.first_sent_message_id, newest.omitted_messages)]
            ),
        )
        order = children_order(app)
        assert order[order.index("PromptCut") + 1] == f"MessageWidget:m{newest.first_sent_message_id}"

        # Another thread and back: the line is there again, from the stored run.
        app.open_thread(None)
        await pilot.pause(0.05)
        assert not list(app.pane.query(PromptCut))
        app.open_thread(thread_id)
        app.pane.scroll_to_start()  # the pane mounts the messages near the view: go to them
        await wait_for(
            pilot,
            lambda: (
                [m.cut for m in app.pane.query(PromptCut)]
                == [(newest.first_sent_message_id, newest.omitted_messages)]
            ),
        )


async def test_no_line_while_everything_is_sent(make_app, script: Script) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "hello")
        await wait_for(pilot, lambda: app.thread_id is not None and not app.runs.streaming(app.thread_id))
        await pilot.pause(0.1)
        assert not list(app.pane.query(PromptCut))
        assert "not sent to the model" not in screen_text(app)


async def test_footer_names_the_local_model_and_marks_a_cut_off_answer(  # type: ignore[no-untyped-def]
    make_app, settings, script: Script
) -> None:
    script.set(answer=LONG_ANSWER, chunk_chars=20)
    core = ChatCore.open_store(settings)
    core.store.update_assistant(core.store.default_assistant().id, max_tokens=10)
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "talk at length")
        await wait_for(pilot, lambda: app.thread_id is not None and not app.runs.streaming(app.thread_id))
        await wait_for(pilot, lambda: "cut off at the length limit" in flat(screen_text(app)))
        run = core.store.list_runs(app.thread_id)[-1]
        answer = [w for w in app.pane.query(MessageWidget) if w.message.role == "assistant"][-1]
        shown = flat(" ".join(line.text for line in answer.lines(answer.size.width)))
        footer = shown[shown.rindex("Point 0") :]
        assert run.answered_by and run.answered_by in footer  # the local model answered
        assert "yandexgpt" not in footer and "cut off at the length limit" in footer
