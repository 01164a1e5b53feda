"""The model picker (F4, and Pick… in the settings) and the assistant's transport
and reasoning settings: picking a model changes the next answer's model and, for
a chat-API-only model, its transport; each answer keeps naming its own model."""

from __future__ import annotations

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, OptionList, Select

from yachat.core.chat import ChatCore
from yachat.tui.app import YachatApp
from yachat.tui.model_picker import LOADING, ModelPicker
from yachat.tui.settings_screen import SettingsScreen

from ..support import Script
from .conftest import SIZE
from .test_reasoning import answers, widget_text
from .test_streaming import flat, screen_text, type_and_send, wait_for

pytestmark = pytest.mark.anyio


def option_ids(picker: ModelPicker) -> list[str]:
    option_list = picker.query_one(OptionList)
    return [option.id for option in option_list.options if option.id]


async def pick(pilot, app: YachatApp, model: str) -> None:  # type: ignore[no-untyped-def]
    """Choose `model` from the picker's list, as arrows and Enter do."""
    picker = app.screen
    assert isinstance(picker, ModelPicker)
    option_list = picker.query_one(OptionList)
    option_list.focus()
    option_list.highlighted = option_list.get_option_index(model)
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, ModelPicker))


async def send_and_finish(pilot, app: YachatApp, text: str, count: int) -> None:  # type: ignore[no-untyped-def]
    await type_and_send(pilot, text)
    await wait_for(pilot, lambda: app.pane.live() is None and len(answers(app)) == count, timeout=20)


async def test_the_picker_lists_the_backend_and_the_catalogue_and_switches_transport(  # type: ignore[no-untyped-def]
    make_app, script: Script
) -> None:
    script.set({"match": "hi", "answer": "Hello there.", "chunk_chars": 4})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send_and_finish(pilot, app, "hi first", 1)
        first_run = app.core.store.list_runs(app.thread_id)[-1]
        assert first_run.transport == "grpc"

        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        await wait_for(pilot, lambda: picker.backend_models is not None)
        await wait_for(pilot, lambda: LOADING not in flat(screen_text(app)))
        ids = option_ids(picker)
        assert "scripted/latest" in ids  # what the local server offers
        assert {"yandexgpt/rc", "yandexgpt-lite", "qwen3-235b-a22b-fp8", "gpt-oss-20b"} <= set(ids)
        shown = flat(screen_text(app))
        assert "The backend offers 1 model." in shown and "262,144" in shown  # qwen3's context

        await pick(pilot, app, "qwen3-235b-a22b-fp8")
        assistant = app.core.assistant_for(app.thread_id)
        assert assistant.model == "qwen3-235b-a22b-fp8" and assistant.transport is None
        assert "(scripted)" in screen_text(app).split("\n")[0]  # the top bar: what answers on this backend
        await send_and_finish(pilot, app, "hi again", 2)
        run = app.core.store.list_runs(app.thread_id)[-1]
        assert (run.model_uri, run.transport) == ("qwen3-235b-a22b-fp8", "http")
        assert "qwen3-235b-a22b-fp8" in widget_text(answers(app)[-1])  # the footer names it

        # Any name may be typed; back on gRPC. Each answer keeps naming its own model.
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        field = app.screen.query_one("#model-name", Input)
        field.value = "two words"
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: "no spaces" in str(app.screen.query_one("#picker-error", Label).content)
        )
        assert isinstance(app.screen, ModelPicker)  # still open: nothing was set
        field.value = "yandexgpt-lite"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModelPicker))
        await send_and_finish(pilot, app, "hi once more", 3)
        run = app.core.store.list_runs(app.thread_id)[-1]
        assert (run.model_uri, run.transport) == ("yandexgpt-lite", "grpc")
        footers = [widget_text(w) for w in answers(app)]
        assert "qwen3-235b-a22b-fp8" in footers[1] and "qwen3" not in footers[2]


async def test_escape_leaves_the_picker_while_it_loads(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        before = app.core.assistant_for(None).model
        await pilot.press("f4")
        await pilot.press("escape")  # at once: the list may still be loading
        await wait_for(pilot, lambda: not isinstance(app.screen, ModelPicker))
        await pilot.pause()
        assert app.is_running and app.core.assistant_for(None).model == before


async def test_settings_check_the_reasoning_mode_against_the_transport(  # type: ignore[no-untyped-def]
    make_app, settings, script: Script
) -> None:
    script.set(
        {"match": "primes", "reasoning": "Two, three, five, seven.", "answer": "Four.", "chunk_chars": 8}
    )
    core = ChatCore.open_store(settings)
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        # Pick… fills the model field from the picker.
        await pilot.click("#pick")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker))
        await wait_for(pilot, lambda: app.screen.backend_models is not None)  # type: ignore[attr-defined]
        await pick(pilot, app, "gpt-oss-120b")
        assert app.screen is screen and screen.query_one("#model", Input).value == "gpt-oss-120b"

        error = screen.query_one("#error", Label)
        screen.query_one("#reasoning", Select).value = "enabled_hidden"
        await wait_for(pilot, lambda: "goes over the chat API" in str(error.content))
        await pilot.click("#save")
        await pilot.pause()
        assert app.screen is screen  # not saved
        assert core.store.default_assistant().reasoning_mode is None

        screen.query_one("#reasoning", Select).value = "high"
        await wait_for(pilot, lambda: str(error.content) == "")
        # A button takes no second press while it still shows the first.
        await wait_for(pilot, lambda: not screen.query_one("#save").has_class("-active"))
        await pilot.click("#save")
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        saved = core.store.default_assistant()
        assert (saved.model, saved.transport, saved.reasoning_mode) == ("gpt-oss-120b", None, "high")

        # The transport may be chosen: a YandexGPT model over the chat API takes low|medium|high.
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        screen.query_one("#model", Input).value = "yandexgpt/rc"
        error = screen.query_one("#error", Label)
        await wait_for(pilot, lambda: "goes over gRPC" in str(error.content))
        screen.query_one("#transport", Select).value = "http"
        await wait_for(pilot, lambda: str(error.content) == "")
        await pilot.click("#save")
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        await send_and_finish(pilot, app, "how many primes?", 1)
        run = core.store.list_runs(app.thread_id)[-1]
        assert (run.model_uri, run.transport) == ("yandexgpt/rc", "http")
        assert answers(app)[-1].message.reasoning == "Two, three, five, seven."


async def test_help_lists_the_model_and_thinking_keys(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: "yachat.pick_model" in screen_text(app))
        # The list is longer than the screen: its end scrolled into view too.
        shown = screen_text(app)
        app.screen.query_one(VerticalScroll).scroll_end(animate=False)
        await pilot.pause()
        shown += screen_text(app)
        assert "yachat.toggle_thinking" in shown and "yachat.toggle_message_thinking" in shown
        assert "yachat.knowledge" in shown
