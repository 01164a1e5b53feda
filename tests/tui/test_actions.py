"""Settings, export, copy, keymap, theme, help and the palette."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.command import CommandPalette

from yachat.core.chat import ChatCore
from yachat.settings import Settings, load_settings
from yachat.store.models import ExpirationPolicy
from yachat.tui.app import YachatApp
from yachat.tui.help_screen import HelpScreen
from yachat.tui.settings_screen import SettingsScreen

from .conftest import SIZE
from .test_history import seeded_core
from .test_streaming import click_text, screen_text, wait_for

pytestmark = pytest.mark.anyio


async def test_settings_validate_inline_then_save(make_app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        screen.query_one("#temperature").value = "hot"  # type: ignore[attr-defined]
        screen.query_one("#save").press()  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "temperature must be a number" in screen_text(app))
        assert isinstance(app.screen, SettingsScreen)  # not saved
        assert "temperature must be a number" in screen_text(app)
        screen.query_one("#temperature").value = "0.7"  # type: ignore[attr-defined]
        screen.query_one("#model").value = "yandexgpt/rc"  # type: ignore[attr-defined]
        screen.query_one("#keep_last").value = "6"  # type: ignore[attr-defined]
        screen.query_one("#ttl").value = "5"  # type: ignore[attr-defined]
        screen.query_one("#save").press()  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        assistant = app.core.assistant_for(app.thread_id)
        assert (assistant.model, assistant.temperature, assistant.keep_last_messages) == (
            "yandexgpt/rc",
            0.7,
            6,
        )
        thread = app.core.store.get_thread(app.thread_id)
        assert (
            thread is not None
            and thread.ttl_days == 5
            and thread.expiration_policy is ExpirationPolicy.STATIC
        )
        # The header names what answers on this backend, once connected (a busy machine connects late).
        await wait_for(pilot, lambda: "(scripted)" in screen_text(app).split("\n")[0])


async def test_export_writes_markdown_and_json(make_app, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        for name in ("thread.md", "thread.json"):
            await pilot.press("f3")
            await wait_for(pilot, lambda: len(app.screen_stack) > 1)
            app.screen.query_one("#answer").value = str(tmp_path / name)  # type: ignore[attr-defined]
            await pilot.press("enter")
            await wait_for(pilot, lambda name=name: (tmp_path / name).exists() and len(app.screen_stack) == 1)
        assert "fn f<'a>" in (tmp_path / "thread.md").read_text()
        assert json.loads((tmp_path / "thread.json").read_text())["name"] == "Rust lifetimes"


async def test_copy_last_answer_code_and_a_focused_message(make_app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    app: YachatApp = make_app(core=seeded_core(settings))
    copied: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await pilot.press("ctrl+o")
        await pilot.press("ctrl+t")
        widgets = app.pane.message_widgets()
        await pilot.click(widgets[0])  # the mouse focuses a message...
        await pilot.press("c")  # ...and c copies it
        await click_text(pilot, widgets[1], "copy code")  # or click its copy links
        await click_text(pilot, widgets[0], "copy")
    assert copied == [
        "A lifetime parameter:\n\n```rust\nfn f<'a>(x: &'a str) {}\n```",
        "fn f<'a>(x: &'a str) {}\n",
        "What is 'a in Rust?",
        "fn f<'a>(x: &'a str) {}\n",
        "What is 'a in Rust?",
    ]


async def test_edit_and_resend_forks_a_new_thread(make_app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    app: YachatApp = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        original = app.thread_id
        await pilot.click(app.pane.message_widgets()[0])
        await pilot.press("e")
        assert app.composer.text == "What is 'a in Rust?"
        app.composer.clear()
        app.composer.insert("2 + 3")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                app.thread_id != original and app.pane.live() is None and len(app.pane.message_widgets()) == 2
            ),
        )
        assert [m.text for m in app.core.store.list_messages(app.thread_id)] == ["2 + 3", "2 + 3 = 5"]
        assert len(app.core.store.list_messages(original)) == 2  # the original is kept


async def test_keymap_from_config_and_theme_saved(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text('[keymap]\n"yachat.new_thread" = "f9"\n')
    settings = load_settings(
        {"backend": "local"},
        env={"YACHAT_LOCAL_ADDRESS": server.address, "YACHAT_LOCAL_TOKEN": server.token,
             "YACHAT_STORE": str(tmp_path / "y.db")},
        config_path=config,
    )  # fmt: skip
    core = seeded_core(settings)
    app = YachatApp(core)
    async with app.run_test(size=SIZE) as pilot:
        assert app.thread_id is not None
        await pilot.press("f9")
        assert app.thread_id is None  # the remapped key opened a new thread
        app.theme = "nord"
        await wait_for(pilot, lambda: load_settings(env={}, config_path=config).theme == "nord")
    assert load_settings(env={}, config_path=config).theme == "nord"
    assert '"yachat.new_thread" = "f9"' in config.read_text()  # the rest is kept


async def test_help_lists_bindings_and_palette_lists_actions(make_app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=ChatCore.open_store(settings))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        assert "yachat.new_thread" in text and "ctrl+n" in text
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"regenerate")
        await wait_for(pilot, lambda: "Regenerate the last answer" in screen_text(app))


async def test_a_new_assistant_is_created_and_used_by_the_thread(make_app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        screen.query_one("#assistant").value = -1  # type: ignore[attr-defined]
        await pilot.pause()  # the form takes the new assistant's blank fields
        screen.query_one("#name").value = "Terse"  # type: ignore[attr-defined]
        screen.query_one("#model").value = "yandexgpt-lite"  # type: ignore[attr-defined]
        screen.query_one("#default").press()  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: len(app.core.store.list_assistants()) == 2)
        names = [a.name for a in app.core.store.list_assistants()]
        assert names == ["Default", "Terse"]
        assert app.core.store.default_assistant().name == "Terse"
        assert app.core.assistant_for(app.thread_id).name == "Terse"
        assert "Terse" in screen_text(app)
