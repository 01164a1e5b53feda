"""A seeded random walk over the keyboard: every binding the app and its widgets and
screens declare, plus typing, Enter, Esc, paging, ctrl+n and thread switches, in
random order at random short intervals, while answers stream from the scripted
server. Any exception, crash or exit fails it, naming the seed and the keys.

`YACHAT_WALK_SEED=<n>` replays one walk; the slow group runs new seeds."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from pathlib import Path

import pytest
from textual import events
from textual.binding import Binding
from textual.command import CommandPalette
from textual.widget import Widget

from yachat.tui.app import YachatApp
from yachat.tui.dialogs import Ask, Confirm
from yachat.tui.help_screen import HelpScreen
from yachat.tui.knowledge_screen import KnowledgeScreen
from yachat.tui.model_picker import ModelPicker
from yachat.tui.settings_screen import SettingsScreen

from ..support import Script
from .conftest import SIZE
from .test_history import core_with_thread

pytestmark = pytest.mark.anyio

STEPS = 1000
FIXED_SEED = 20261125
# Quitting ends the walk, it is no failure: ctrl+q is left out (the quit path has its own tests).
EXCLUDED = {"ctrl+q"}
TYPED = "abc xyz 12?"
EXTRA = ["enter", "escape", "pageup", "pagedown", "ctrl+n", "tab", "shift+tab", "up", "down", "home", "end"]
# Screens the app pushes: their keys are part of the walk too.
SCREENS = [SettingsScreen, HelpScreen, Ask, Confirm, ModelPicker, KnowledgeScreen]


def binding_keys(*classes: type) -> set[str]:
    """Every key a binding names, over the classes and their bases."""
    keys: set[str] = set()
    for cls in classes:
        for klass in cls.__mro__:
            for item in vars(klass).get("BINDINGS", []):
                binding = item if isinstance(item, Binding) else Binding(*item)
                keys.update(key.strip() for key in binding.key.split(","))
    return keys - EXCLUDED


def all_binding_keys(app: YachatApp) -> list[str]:
    classes: set[type] = {type(app), type(app.screen), *SCREENS}
    classes.update(type(node) for node in app.query(Widget))
    return sorted(binding_keys(*classes))


NAMED_CHARS = {"space": " ", "enter": "\r", "tab": "\t", "escape": "\x1b", "question_mark": "?"}


def key_event(key: str) -> events.Key:
    if len(key) == 1:
        name = {" ": "space", "?": "question_mark"}.get(key, key)
        return events.Key(name, key)
    return events.Key(key, NAMED_CHARS.get(key))


def scripted_answers(script: Script) -> None:
    markdown = "## Title\n\nSome **bold** text and `code`.\n\n```python\nprint('hi')\n```\n\n" + " ".join(
        f"word{i}" for i in range(120)
    )
    script.set(
        {"match": "1", "answer": "short", "chunk_chars": 2, "delay_ms": 5},
        {
            "match": "?",
            "answer": "failing",
            "fault": {"kind": "status", "code": "INTERNAL", "after_chunks": 1},
        },
        answer=markdown,
        chunk_chars=12,
        delay_ms=4,
    )


async def walk(app: YachatApp, seed: int, steps: int) -> list[str]:
    rng = random.Random(seed)
    done: list[str] = []
    failure: BaseException | None = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            keys = all_binding_keys(app)
            try:
                for _ in range(steps):
                    if not app.is_running:
                        raise AssertionError("the app stopped")
                    step = next_step(rng, app, keys)
                    done.append(step)
                    if step == "switch":
                        threads = app.sidebar.threads
                        if threads and app.screen is app.screen_stack[0]:
                            app.open_thread(rng.choice(threads).id)
                    else:
                        # As a terminal sends them: no waiting for the app to be idle in between.
                        app.post_message(key_event(step))
                    if step == "ctrl+p":
                        await pilot.pause()  # the palette is up before the next key is chosen
                    else:
                        await asyncio.sleep(rng.choice([0, 0, 0, 0.001, 0.005, 0.02]))
                await pilot.pause()
                for _ in range(6):  # leave any dialog, stop any answer
                    await pilot.press("escape")
                await pilot.pause()
                if not app.is_running:
                    raise AssertionError("the app stopped")
            except Exception as exc:
                failure = exc
    except Exception as exc:  # Pilot re-raises the app's own exception on leaving
        failure = exc
    if failure is not None:
        raise AssertionError(
            f"random walk failed: seed={seed} after {len(done)} steps: {failure!r}\nsteps: {done}"
        ) from failure
    return done


def next_step(rng: random.Random, app: YachatApp, keys: list[str]) -> str:
    if isinstance(app.screen, CommandPalette):
        # Its Enter could run "Quit" (or save a screenshot): type, move, leave.
        return rng.choice([*TYPED, "down", "escape"])
    choice = rng.random()
    if choice < 0.45:
        return rng.choice(keys)
    if choice < 0.75:
        return rng.choice(TYPED)
    if choice < 0.95:
        return rng.choice(EXTRA)
    return "switch"


def check_log(caplog: pytest.LogCaptureFixture, seed: int, done: list[str]) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("yachat")]
    assert not errors, f"seed={seed}: {[r.getMessage() for r in errors]} after {done}"


async def run_walk(
    make_app, script: Script, seed: int, caplog, tmp_path: Path, monkeypatch, core=None
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # an export's default file lands here
    scripted_answers(script)
    caplog.set_level(logging.WARNING)
    app = make_app(core=core) if core is not None else make_app()
    started = time.monotonic()
    done = await walk(app, seed, STEPS)
    check_log(caplog, seed, done)
    print(f"random walk seed={seed}: {STEPS} steps in {time.monotonic() - started:.1f} s")


async def test_random_walk_fixed_seed(make_app, script: Script, caplog, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seed = int(os.environ.get("YACHAT_WALK_SEED", FIXED_SEED))
    await run_walk(make_app, script, seed, caplog, tmp_path, monkeypatch)


async def test_random_walk_on_a_5000_message_thread(
    make_app, settings, script: Script, caplog, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The same walk with the app open on a thread of 5,000 messages: paging, Home and
    End run over the virtual list while answers stream into it."""
    core = core_with_thread(settings, "Very long", 5000)
    seed = int(os.environ.get("YACHAT_WALK_SEED", FIXED_SEED))
    await run_walk(make_app, script, seed, caplog, tmp_path, monkeypatch, core=core)


# Seeds that once found a crash, replayed every run (1124160110: Esc on the model picker
# before it was mounted).
FOUND_SEEDS = [1124160110]
# Fresh seeds find new crashes, but a gate that fails on a new seed would fail by luck:
# `YACHAT_WALK_NEW_SEEDS=N` adds N fresh ones (a failure prints the seed to add above).
NEW_SEEDS = int(os.environ.get("YACHAT_WALK_NEW_SEEDS", "0"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "seed", FOUND_SEEDS + [random.SystemRandom().randrange(2**32) for _ in range(NEW_SEEDS)]
)
async def test_random_walk_more_seeds(
    make_app, script: Script, caplog, tmp_path, monkeypatch, seed: int
) -> None:  # type: ignore[no-untyped-def]
    print(f"random walk seed={seed}")
    await run_walk(make_app, script, seed, caplog, tmp_path, monkeypatch)


def test_the_walk_covers_every_app_binding() -> None:
    keys = binding_keys(YachatApp)
    for binding in YachatApp.BINDINGS:
        assert isinstance(binding, Binding)
        assert set(binding.key.split(",")) - EXCLUDED <= keys
    assert "ctrl+n" in keys and "f1" in keys and "ctrl+q" not in keys
