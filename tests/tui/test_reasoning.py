"""A reasoning model's thinking in the pane: it streams into a dimmed section
above the answer, folds once the answer starts, unfolds by key and by click,
is shown folded when the thread is opened again, and is shown literally. The
usage line names the model and counts reasoning tokens."""

from __future__ import annotations

import pytest

from yachat.core.chat import ChatCore
from yachat.store.models import MessageStatus
from yachat.tui.app import YachatApp
from yachat.tui.message_pane import MessageWidget
from yachat.tui.thinking import LiveThinking

from ..support import Script
from .conftest import SIZE
from .test_streaming import click_text, flat, screen_text, type_and_send, wait_for

pytestmark = pytest.mark.anyio

THOUGHT = "First I list the primes below ten: two, three, five and seven. That makes four of them."
ANSWER = "There are **four** primes below ten."


def reasoning_core(settings, model: str = "qwen3-235b-a22b-fp8", mode: str = "high") -> ChatCore:  # type: ignore[no-untyped-def]
    core = ChatCore.open_store(settings)
    core.store.update_assistant(core.store.default_assistant().id, model=model, reasoning_mode=mode)
    return core


def answers(app: YachatApp) -> list[MessageWidget]:
    return [w for w in app.pane.message_widgets() if w.message.role == "assistant"]


def widget_text(widget: MessageWidget) -> str:
    return flat(" ".join(line.text for line in widget.lines(widget.size.width)))


def thinking(app: YachatApp) -> LiveThinking | None:
    return next(iter(app.pane.query(LiveThinking)), None)


async def test_thinking_streams_before_the_answer(make_app, settings, script: Script) -> None:  # type: ignore[no-untyped-def]
    # The answer is held back (the server goes silent after the thinking) until Esc.
    script.set(
        {"match": "primes", "reasoning": THOUGHT, "answer": ANSWER, "chunk_chars": 9,
         "fault": {"kind": "stall", "after_chunks": 0}},
    )  # fmt: skip
    app = make_app(core=reasoning_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "how many primes below ten?")
        await wait_for(pilot, lambda: thinking(app) is not None and thinking(app).text == THOUGHT)
        await wait_for(pilot, lambda: "That makes four of them." in flat(screen_text(app)))
        shown = flat(screen_text(app))
        assert "Thinking…" in shown and "thinking…" in shown  # the section, and the live status
        live = app.pane.live()
        assert live is not None and live.text == ""  # no answer yet: the thinking came first
        children = list(app.pane.children)
        assert children.index(thinking(app)) + 1 == children.index(live)  # just above the answer
        assert "Assistant ▾ Thinking… First I list" in shown and shown.count("Assistant") == 1
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.pane.live() is None and thinking(app) is None)
        answer = answers(app)[-1]
        assert answer.message.status is MessageStatus.CANCELLED and answer.message.reasoning == THOUGHT
        # Stopped while thinking: the thinking is all there is, so it stays unfolded.
        assert "▾ Thinking" in widget_text(answer) and "That makes four of them." in widget_text(answer)


async def test_thinking_folds_when_the_answer_starts_and_unfolds_by_key_and_click(  # type: ignore[no-untyped-def]
    make_app, settings, script: Script
) -> None:
    # ~4 s: still streaming at F8 (Pilot's key press waits up to a second for a streaming app to go idle).
    words = " ".join(f"w{i:03d}" for i in range(400))
    script.set({"match": "primes", "reasoning": THOUGHT, "answer": words, "chunk_chars": 12, "delay_ms": 25})
    app = make_app(core=reasoning_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "how many primes below ten?")
        await wait_for(pilot, lambda: app.pane.live() is not None and "w001" in app.pane.live().text)
        section = thinking(app)
        assert section is not None and section.text == THOUGHT and not section.expanded
        await wait_for(pilot, lambda: "▸ Thinking (17 words)" in flat(screen_text(app)))
        assert "That makes four" not in flat(screen_text(app))
        assert app.runs.streaming(app.thread_id), "the answer ended before the check: make it longer"
        await pilot.press("f8")  # the last answer's thinking, while it streams
        await wait_for(pilot, lambda: "That makes four of them." in flat(screen_text(app)))
        assert section.expanded
        await wait_for(pilot, lambda: app.pane.live() is None and thinking(app) is None, timeout=20)
        answer = answers(app)[-1]
        assert answer.thinking  # unfolded it stays unfolded in the finished message
        assert "That makes four of them." in widget_text(answer)
        await pilot.press("f8")
        await wait_for(pilot, lambda: "That makes four" not in widget_text(answers(app)[-1]))
        answer = answers(app)[-1]
        assert not answer.thinking and "▸ Thinking (17 words)" in widget_text(answer)
        await click_text(pilot, answer, "Thinking")  # the mouse unfolds it too
        await wait_for(pilot, lambda: "That makes four of them." in widget_text(answer))
        await wait_for(pilot, lambda: "That makes four of them." in flat(screen_text(app)))
        await click_text(pilot, answer, "Thinking")  # ...and folds it
        await wait_for(pilot, lambda: "That makes four" not in widget_text(answer))


async def test_stored_thinking_is_folded_on_reopen_and_shown_literally(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    hostile = "[bold red]not bold[/] [@click=app.quit]click me[/] \x1b]52;c;aGk=\x07 \x1b[2J thought done"
    core = ChatCore.open_store(settings)
    thread = core.new_thread("Reasoned")
    core.store.add_message(thread.id, "user", "think about it")
    answer = core.store.add_message(thread.id, "assistant", "The answer.")
    core.store.update_message(answer.id, reasoning=hostile)
    app = make_app(thread.id, core=core)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "The answer." in screen_text(app))
        shown = flat(screen_text(app))
        assert "▸ Thinking (7 words)" in shown and "thought done" not in shown
        widget = answers(app)[-1]
        widget.focus()
        await pilot.press("t")  # on a focused message
        await wait_for(pilot, lambda: "thought done" in screen_text(app))
        text = screen_text(app)
        assert "[bold red]not bold[/]" in text and "[@click=app.quit]click me[/]" in text
        assert "\x1b" not in text
        await click_text(pilot, widget, "click me")  # plain text: no action behind it
        await pilot.pause()
        assert app.is_running
        await pilot.press("t")
        await wait_for(pilot, lambda: "thought done" not in screen_text(app))


async def test_usage_line_names_the_model_and_counts_reasoning_tokens(
    make_app, settings, script: Script
) -> None:  # type: ignore[no-untyped-def]
    # gRPC with hidden reasoning: the local server counts the thinking, it never shows it.
    script.set({"match": "primes", "reasoning": THOUGHT, "answer": "Four.", "chunk_chars": 20})
    app = make_app(core=reasoning_core(settings, "yandexgpt/rc", "enabled_hidden"))
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "how many primes below ten?")
        await wait_for(pilot, lambda: app.pane.live() is None and len(answers(app)) == 1, timeout=20)
        run = app.core.store.list_runs(app.thread_id)[-1]
        assert run.transport == "grpc" and run.reasoning_tokens
        footer = widget_text(answers(app)[-1])
        assert f"{run.reasoning_tokens} reasoning" in footer and (run.answered_by or "") in footer
        assert "Thinking" not in footer  # hidden reasoning has no text to show
