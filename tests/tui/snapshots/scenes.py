"""The screens the README shows, built the same way every time.

Each scene is the real TUI on a real scripted local server under Pilot, at a fixed
size, from fixed data, so the same picture comes out on every run: the snapshot
tests compare it with the stored one, and scripts/screenshots.py turns it into the
README's PNGs. What would change between runs is pinned:

- the wall clock yachat's store and views read starts at `START` (`stage_clock`),
  in UTC, so a message sent during the scene says 10:00 and every thread is
  today's (the process's own clock stays true: gRPC's deadlines are wall-clock);
- the server listens on `PORT`, because the top bar shows its address;
- the user's home is the stage's, so paths show as a user sees them (`~/notes/…`);
- a stream that is still going is held by a stall after a fixed number of chunks;
- timings measured during the scene (first chunk, tokens per second, a tool's
  time) are set to fixed figures in the store before the finished thread is shown.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import types
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from yachat import mcp_config
from yachat.core.chat import ChatCore
from yachat.core.knowledge.indexer import add_paths
from yachat.server.engines.firehose import firehose_text
from yachat.server.process import ServerProcess, start_server_process
from yachat.settings import Settings
from yachat.store import Store
from yachat.store.models import RunStatus
from yachat.tui.app import YachatApp
from yachat.tui.model_picker import ModelPicker
from yachat.tui.textual_compat import screen_lines
from yachat.tui.thinking import LiveThinking
from yachat.tui.tool_calls import ToolCallView

ROOT = Path(__file__).resolve().parents[3]
SIZE = (120, 36)
NARROW = (80, 24)  # the smallest common terminal
# Fixed, as the top bar shows the server's address; below Linux's ephemeral ports
# (32768 and up), so no server started on port 0 elsewhere can hold it.
PORT = 27183
START = datetime(2026, 5, 4, 10, 0, tzinfo=ZoneInfo("UTC"))

STREAMED = """Here is a small **binary search** in Python, with notes:

```python
def bisect(items: list[int], target: int) -> int:
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo
```

1. The loop keeps `items[:lo] < target <= items[hi:]`.
2. Each step halves the range, so it runs in *O(log n)*.
3. It returns the insertion point when `target` is absent.

| input | result |
|---|---|
| `[1, 3, 5]`, 3 | 1 |
| `[1, 3, 5]`, 4 | 2 |
"""
STREAM_CHUNK = 6
STREAM_HELD_AFTER = 55  # chunks: the answer stops growing mid-list, as in a stream caught mid-way
THOUGHT = (
    "The user wants the 1-based position of the first element >= target. "
    "Binary search halves the range each step: O(log n). Check the edge cases: "
    "an empty list, a target above every element, duplicates. Then explain lo/hi."
)
NOTES = {
    "travel/kazan.md": "# Travel notes\n\n## Kazan\n\nThe Kremlin opens at 8:00; the Kul Sharif mosque "
    "closes for visitors at 19:30 on Fridays.\n\nBauman street is best in the evening.\n",
    "travel/packing.md": "# Packing\n\n## Autumn\n\nTake a rain jacket: October in Kazan averages "
    "12 days of rain.\n",
}
SCRIPT = {
    "rules": [
        {
            "match": "binary search",
            "answer": STREAMED,
            "chunk_chars": STREAM_CHUNK,
            "fault": {"kind": "stall", "after_chunks": STREAM_HELD_AFTER},
        },
        {
            # The whole thought, then the answer held: the thinking shows, still going.
            "match": "think",
            "reasoning": THOUGHT,
            "answer": "Use `bisect_left`: it returns the insertion point.",
            "chunk_chars": 4,
            "fault": {"kind": "stall", "after_chunks": 0},
        },
        {
            "match": "Kremlin",
            "answer": "It opens at 8:00 [1]; take a rain jacket in October [2].",
            "chunk_chars": 6,
        },
    ]
}
# What a finished run shows as measured: the same on every run.
FIRST_CHUNK_S = 0.21
TOKENS_PER_S = 54.0
TOOL_S = 0.2


@dataclass
class Stage:
    """A scripted server on `PORT` and a home with notes in it, for every scene."""

    home: Path
    server: ServerProcess

    def settings(self, store_dir: Path, tools: bool = False) -> Settings:
        servers = {}
        if tools:
            demo = [str(ROOT / "scripts" / "demo_mcp_server.py")]
            servers = {
                "weather": mcp_config.parse_server("weather", {"command": sys.executable, "args": demo})
            }
        return Settings(
            backend="local",
            local_address=self.server.address,
            local_http_url=self.server.http_url,
            local_token=self.server.token,
            store_path=store_dir / "yachat.db",
            config_path=self.home / ".config" / "yachat" / "config.toml",
            mcp_servers=servers,
        )


@contextmanager
def stage(root: Path) -> Iterator[Stage]:
    """The server and the home under `root`; the caller points $HOME at `Stage.home`."""
    home = root / "home"
    for name, text in NOTES.items():
        (home / "notes" / name).parent.mkdir(parents=True, exist_ok=True)
        (home / "notes" / name).write_text(text, encoding="utf-8")
    script = root / "script.json"
    script.write_text(json.dumps(SCRIPT), encoding="utf-8")
    args = ["--script", str(script), "--port", str(PORT)]
    with start_server_process("scripted", args=args, env={"YACHAT_HOME": str(root / "server")}) as server:
        yield Stage(home, server)


def seed(store: Store) -> None:
    """A few threads, and a long one of Markdown and code, as an earlier session left them."""
    assistant = store.default_assistant().id
    for name in (
        "Kitchen chemistry: why bread rises",
        "Rust lifetimes, explained",
        "Plan a weekend in Kazan",
        "SQL window functions",
        "Regex for ISO dates",
    ):
        thread = store.create_thread(name, assistant)
        store.add_message(thread.id, "user", f"Tell me about {name.lower()}.")
        store.add_message(thread.id, "assistant", f"Sure — a short note on *{name}*.")
    long = store.create_thread("Markdown and code showcase", assistant)
    for i, section in enumerate(firehose_text().split("\n## ")[1:8]):
        store.add_message(long.id, "user", f"Show me section {i + 1}")
        answered(store, long.id, "## " + section)


def answered(store: Store, thread_id: int, text: str) -> None:
    run = store.create_run(thread_id, None, "yandexgpt/latest")
    store.add_message(thread_id, "assistant", text, run_id=run.id)
    store.finish_run(
        run.id, RunStatus.COMPLETED, input_tokens=120, completion_tokens=380, total_tokens=500,
        model_version="24.11.2026", first_chunk_s=FIRST_CHUNK_S, tokens_per_s=TOKENS_PER_S,
    )  # fmt: skip


def fix_figures(store: Store) -> None:
    """The timings measured during the scene, set to fixed figures."""
    with store._db.write() as conn:
        conn.execute(
            "UPDATE runs SET first_chunk_s = ?, tokens_per_s = ? WHERE first_chunk_s IS NOT NULL",
            (FIRST_CHUNK_S, TOKENS_PER_S),
        )
        conn.execute("UPDATE message_parts SET duration_s = ? WHERE duration_s IS NOT NULL", (TOOL_S,))


# The modules whose wall clock shows on screen: the store's timestamps, the sidebar's days.
CLOCKED = (
    "yachat.store.store",
    "yachat.store.runs",
    "yachat.store.assistants",
    "yachat.store.knowledge",
    "yachat.tui.render",
)


class StageTime(types.ModuleType):
    """The `time` module with its wall clock started at START; the rest is the real one."""

    def __init__(self) -> None:
        super().__init__("time")
        self.began = time.time()

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)

    def time(self) -> float:
        return START.timestamp() + time.time() - self.began


@contextmanager
def stage_clock() -> Iterator[None]:
    modules = [importlib.import_module(name) for name in CLOCKED]
    saved = [(module, module.time) for module in modules]
    zone = os.environ.get("TZ")
    clock = StageTime()
    for module in modules:
        module.time = clock  # type: ignore[attr-defined]
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        for module, original in saved:
            module.time = original  # type: ignore[attr-defined]
        if zone is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = zone
        time.tzset()


# -- waiting ------------------------------------------------------------------------


async def until(pilot: Pilot[None], condition: Callable[[], object], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the scene did not reach its state in time")
        await pilot.pause(0.02)


def top_bar(app: YachatApp) -> str:
    return screen_lines(app.screen)[0]


async def connected(pilot: Pilot[None], app: YachatApp) -> None:
    await until(pilot, lambda: "local · server" in top_bar(app) and "(scripted)" in top_bar(app))


async def send(pilot: Pilot[None], app: YachatApp, text: str) -> None:
    app.composer.focus()
    app.composer.insert(text)
    await pilot.press("enter")


async def settled(pilot: Pilot[None], app: YachatApp) -> None:
    """Nothing left to move: no blinking cursor, no toast, no animation, painted."""
    app.clear_notifications()
    for widget in app.screen.query("Input, TextArea"):
        assert isinstance(widget, Input | TextArea)
        widget.cursor_blink = False
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.1)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def reopened(pilot: Pilot[None], app: YachatApp) -> None:
    """The finished thread shown again from the store, with the fixed figures."""
    fix_figures(app.core.store)
    app.open_thread(app.thread_id)
    await pilot.pause(0.2)


# -- the scenes ---------------------------------------------------------------------


async def long_thread(pilot: Pilot[None], app: YachatApp) -> None:
    await until(pilot, lambda: bool(app.pane.message_widgets()))


async def streaming(pilot: Pilot[None], app: YachatApp) -> None:
    await pilot.press("ctrl+n")
    await send(pilot, app, "Write a binary search in Python and explain it")
    held = STREAM_CHUNK * STREAM_HELD_AFTER
    await until(pilot, lambda: (live := app.pane.live()) is not None and live.shown_chars == held)


async def search(pilot: Pilot[None], app: YachatApp) -> None:
    await pilot.press("ctrl+f")
    await pilot.press(*"rises")
    await until(pilot, lambda: app.sidebar.searching and app.query_one("#search", Input).value == "rises")
    await pilot.pause(0.3)  # the search runs after a pause in typing


async def settings(pilot: Pilot[None], app: YachatApp) -> None:
    await pilot.press("ctrl+s")
    await until(pilot, lambda: len(app.screen_stack) > 1)


def thinker_thread(app: YachatApp) -> int:
    store = app.core.store
    thinker = store.create_assistant(
        "Thinker", "qwen3-235b-a22b-fp8", "You are a careful engineer.", reasoning_mode="high"
    )
    return store.create_thread("Reasoning over the chat API", thinker.id).id


async def model_picker(pilot: Pilot[None], app: YachatApp) -> None:
    app.open_thread(thinker_thread(app))
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.backend_models is not None)


async def thinking(pilot: Pilot[None], app: YachatApp) -> None:
    app.open_thread(thinker_thread(app))
    await send(pilot, app, "think: where would 4 go in [1, 3, 5]?")
    await until(pilot, lambda: any(w.text == THOUGHT for w in app.pane.query(LiveThinking)))


async def sources(pilot: Pilot[None], app: YachatApp) -> None:
    store = app.core.store
    notes = store.create_assistant("Travel notes", "yandexgpt/latest", "Answer from the notes.")
    add_paths(store, notes.id, [os.path.expanduser("~/notes")])
    app.open_thread(store.create_thread("Knowledge: Kazan trip", notes.id).id)
    await send(pilot, app, "When does the Kremlin open, and how rainy is October?")
    await until(pilot, lambda: not app.runs.active and bool(app.pane.query("SourceLine")))
    await reopened(pilot, app)
    await until(pilot, lambda: bool(app.pane.query("SourceLine")))


async def knowledge(pilot: Pilot[None], app: YachatApp) -> None:
    await sources(pilot, app)
    await pilot.press("f9")
    await until(pilot, lambda: len(app.screen_stack) > 1 and "~/notes" in "\n".join(screen_lines(app.screen)))


async def narrow(pilot: Pilot[None], app: YachatApp) -> None:
    await until(pilot, lambda: bool(app.pane.message_widgets()))


async def tool_approval(pilot: Pilot[None], app: YachatApp) -> None:
    await until(pilot, lambda: app.mcp is not None and bool(app.mcp.tools()), 60)
    await until(pilot, lambda: "1 tool" in top_bar(app))
    store = app.core.store
    app.open_thread(store.create_thread("Weekend weather", store.default_assistant().id).id)
    await send(pilot, app, "What is the forecast for Kazan?")
    await until(
        pilot, lambda: any(v.state.status == "awaiting_approval" for v in app.pane.query(ToolCallView))
    )


async def tool_call(pilot: Pilot[None], app: YachatApp) -> None:
    await tool_approval(pilot, app)
    await pilot.press("a")
    await until(pilot, lambda: not app.runs.active and app.pane.live() is None)
    await reopened(pilot, app)
    await until(pilot, lambda: bool(app.pane.query(ToolCallView)))
    app.pane.query(ToolCallView).first().action_fold()


def narrow_store(store: Store) -> None:
    """The binary-search thread, finished, newest (so it opens)."""
    thread = store.create_thread(
        "Write a binary search in Python and explain it", store.default_assistant().id
    )
    store.add_message(thread.id, "user", "Write a binary search in Python and explain it")
    answered(store, thread.id, STREAMED)


@dataclass(frozen=True)
class Scene:
    build: Callable[[Pilot[None], YachatApp], Awaitable[None]]
    size: tuple[int, int] = SIZE
    tools: bool = False  # the demo MCP server is configured
    extra: Callable[[Store], None] | None = None  # more data before the app starts


SCENES = {
    "long-thread": Scene(long_thread),
    "streaming": Scene(streaming),
    "search": Scene(search),
    "settings": Scene(settings),
    "model-picker": Scene(model_picker),
    "thinking": Scene(thinking),
    "sources": Scene(sources),
    "knowledge": Scene(knowledge),
    "narrow-80x24": Scene(narrow, size=NARROW, extra=narrow_store),
    "tool-approval": Scene(tool_approval, tools=True),
    "tool-call": Scene(tool_call, tools=True),
}


async def shoot(where: Stage, name: str, store_dir: Path) -> str:
    """The scene's screen as SVG (Textual's own screenshot). $HOME must be `where.home`."""
    scene = SCENES[name]
    assert os.path.expanduser("~") == str(where.home), "point $HOME at the stage's home first"
    with stage_clock():
        core = ChatCore.open_store(where.settings(store_dir, tools=scene.tools))
        seed(core.store)
        if scene.extra is not None:
            scene.extra(core.store)
        app = YachatApp(core)
        async with app.run_test(size=scene.size) as pilot:
            await connected(pilot, app)
            await scene.build(pilot, app)
            await settled(pilot, app)
            svg = app.export_screenshot(title="yachat")
            if app.runs.active:  # a held stream: stop it, so the app ends at once
                await pilot.press("escape")
        return svg
