"""The screen tells the truth: the model that answers, a wrapped title's indent,
an export's name and where it went."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yachat.core.chat import ChatCore
from yachat.settings import Settings
from yachat.tui.app import YachatApp

from .conftest import SIZE
from .test_history import seeded_core
from .test_streaming import screen_text, type_and_send, wait_for

pytestmark = pytest.mark.anyio


def top_bar(app: YachatApp) -> str:
    return screen_text(app).splitlines()[0]


async def test_the_top_bar_names_the_local_servers_model_not_the_assistants(
    make_app, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    app: YachatApp = make_app(core=seeded_core(settings))
    assert app.core.assistant_for(None).model == "yandexgpt/latest"  # what the assistant asks for
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "local · " in top_bar(app) and "(scripted)" in top_bar(app))
        assert "yandexgpt" not in top_bar(app)
        await type_and_send(pilot, "2 + 3")
        await wait_for(pilot, lambda: app.pane.live() is None and "2 + 3 = 5" in screen_text(app))
        assert "(scripted)" in top_bar(app)  # the run line agrees with the bar
        assert "scripted" in screen_text(app).split("2 + 3 = 5")[1]


async def test_the_top_bar_names_the_resolved_cloud_model(settings: Settings, tmp_path: Path) -> None:
    # The cloud backend over an address nothing answers on: the bar needs no request.
    cloud = Settings(
        backend="cloud",
        folder_id="b1gfolder",
        api_key="key",
        endpoint="127.0.0.1:9",
        model="yandexgpt-lite/rc",
        sources={"model": "command line"},
        store_path=tmp_path / "cloud.db",
        config_path=tmp_path / "cloud.toml",
    )
    app = YachatApp(ChatCore.open_store(cloud))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "cloud · 127.0.0.1:9" in top_bar(app))
        assert "(yandexgpt-lite/rc)" in top_bar(app)  # the command line's model wins over the assistant's


async def test_a_wrapped_thread_title_is_indented_under_its_first_line(make_app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    core = seeded_core(settings)
    core.new_thread("A rather long thread title that wraps onto a second line here")
    app: YachatApp = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "A rather long" in screen_text(app))
        rows = [line[:33] for line in screen_text(app).splitlines()]
        first = next(i for i, row in enumerate(rows) if "A rather long" in row)
        column = rows[first].index("A rather long")
        continued = rows[first + 1]
        assert continued[:column].strip() == "" and continued[column] != " ", rows[first : first + 3]
        assert continued.split()[0] in "A rather long thread title that wraps onto a second line here"


async def test_a_search_hits_wrapped_snippet_is_indented_under_its_first_line(
    make_app, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    core = seeded_core(settings)
    thread = core.new_thread("Sourdough")
    core.store.add_message(
        thread.id, "user", "How long does a starter take to become lively enough for baking bread?"
    )
    app: YachatApp = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+f")
        await pilot.press(*"lively")
        await wait_for(pilot, lambda: "Messages" in screen_text(app) and "become" in screen_text(app))
        rows = [line[:33] for line in screen_text(app).splitlines()]
        title = next(i for i in range(len(rows)) if rows[i].strip() == "Sourdough")
        snippet, continued = rows[title + 1], rows[title + 2]
        column = len(snippet) - len(snippet.lstrip())
        assert column == rows[title].index("Sourdough") + 2, rows[title : title + 3]
        assert continued[:column].strip() == "" and continued[column] != " ", rows[title : title + 3]


async def test_an_export_always_gets_its_extension(make_app, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app: YachatApp = make_app(core=seeded_core(settings))
    shown: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        app.notify = lambda message, **kwargs: shown.append(str(message))  # type: ignore[assignment, method-assign]
        for typed, written in (
            ("notes", "notes.md"),
            ("data.json", "data.json"),
            ("plan.txt", "plan.txt.md"),
        ):
            await pilot.press("f3")
            await wait_for(pilot, lambda: len(app.screen_stack) > 1)
            app.screen.query_one("#answer").value = str(tmp_path / typed)  # type: ignore[attr-defined]
            await pilot.press("enter")
            await wait_for(
                pilot, lambda written=written: (tmp_path / written).exists() and len(app.screen_stack) == 1
            )
    assert not (tmp_path / "notes").exists() and not (tmp_path / "plan.txt").exists()
    assert "fn f<'a>" in (tmp_path / "notes.md").read_text()
    assert json.loads((tmp_path / "data.json").read_text())["name"] == "Rust lifetimes"
    assert any(line.endswith("notes.md") and "Exported to" in line for line in shown)


async def test_an_export_under_home_is_named_from_home(
    make_app, settings: Settings, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    app: YachatApp = make_app(core=seeded_core(settings))
    shown: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        app.notify = lambda message, **kwargs: shown.append(str(message))  # type: ignore[assignment, method-assign]
        await pilot.press("f3")
        await wait_for(pilot, lambda: len(app.screen_stack) > 1)
        app.screen.query_one("#answer").value = "~/notes/rust"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: (home / "notes" / "rust.md").exists())
        await wait_for(pilot, lambda: any("Exported" in line for line in shown))
    assert "Exported to ~/notes/rust.md" in shown
