"""Scenario 2: open a 500-message thread (~450 KB, half answers with code); history_5k: 5,000.

- history_open_s: selecting it in the sidebar until the first frame shows it;
- history_rss_mb: the process's resident memory once it is shown;
- history_pageup_p99_ms: PageUp pressed in the pane until a frame shows the move.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import FrameLog, percentile, rss_mb, timed_app
from _data import long_thread_store
from textual import events

from yachat.core.chat import ChatCore
from yachat.settings import Settings
from yachat.tui.app import YachatApp
from yachat.tui.sidebar import ThreadList

SIZE = (120, 40)


async def main(messages: int = 500, prefix: str = "history", end_home: bool = False) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "yachat.db"
        store, long_id, short_id = long_thread_store(path, messages)
        store.close()
        settings = Settings(backend="local", local_address="127.0.0.1:9", local_token="x",
                            store_path=path, config_path=Path(home) / "config.toml")  # fmt: skip
        app: Any = timed_app(YachatApp)(ChatCore.open_store(settings), short_id)
        async with app.run_test(size=SIZE):
            await asyncio.sleep(0.5)
            shown = {"open": 0}
            app.frame_log = FrameLog(lambda: shown["open"])
            started = time.perf_counter()
            # As a click in the sidebar does: the message bubbles from the list to the screen.
            app.query_one(ThreadList).post_message(ThreadList.Opened(long_id))
            while app.thread_id != long_id:
                await asyncio.sleep(0.001)
            shown["open"] = 1
            while not any(n for _, n in app.frame_log.frames):
                await asyncio.sleep(0.001)
            open_s = next(t for t, n in app.frame_log.frames if n) - started
            await asyncio.sleep(0.3)
            rss = rss_mb()

            pane = app.pane
            pane.focus()
            await asyncio.sleep(0.2)  # the focus repaint is not part of a key's latency
            app.frame_log = FrameLog(lambda: int(pane.scroll_y))
            latencies = []
            cpu_started = time.process_time()
            for _ in range(40):
                before = int(pane.scroll_y)
                sent = time.perf_counter()
                app.post_message(events.Key("pageup", None))
                deadline = sent + 2
                while time.perf_counter() < deadline and not any(
                    t >= sent and n != before for t, n in app.frame_log.frames
                ):
                    await asyncio.sleep(0.0005)
                hit = next((t for t, n in app.frame_log.frames if t >= sent and n != before), None)
                if hit is not None:
                    latencies.append((hit - sent) * 1000)
                await asyncio.sleep(0.05)
            # The process's own CPU time per PageUp (its pauses excluded): on a shared,
            # busy machine the latencies wait on other processes, this does not.
            figures = {f"{prefix}_pageup_cpu_ms": (time.process_time() - cpu_started) * 1000 / 40}
            if os.environ.get("YACHAT_BENCH_VERBOSE"):
                print("pageup ms:", [round(x) for x in latencies], file=sys.stderr)
            if end_home:
                figures[f"{prefix}_end_home_s"] = await end_to_home(app, pane)
    return {
        **figures,
        f"{prefix}_open_s": open_s,
        f"{prefix}_rss_mb": rss,
        f"{prefix}_pageup_p99_ms": percentile(latencies, 99),
        f"{prefix}_pageups_timed": float(len(latencies)),
    }


async def end_to_home(app: Any, pane: Any) -> float:
    """End, then Home: the time from Home until a frame shows the thread's first message."""
    app.post_message(events.Key("end", None))
    while pane.scroll_y < pane.max_scroll_y - 1 or not pane.message_widgets():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)

    def first_shown() -> int:
        widgets = pane.message_widgets()
        return int(bool(widgets) and pane.scroll_y == 0 and "Question 0:" in widgets[0].message.text)

    app.frame_log = FrameLog(first_shown)
    sent = time.perf_counter()
    app.post_message(events.Key("home", None))
    deadline = sent + 10
    while time.perf_counter() < deadline and not any(t >= sent and n for t, n in app.frame_log.frames):
        await asyncio.sleep(0.001)
    hit = next((t for t, n in app.frame_log.frames if t >= sent and n), None)
    return (hit - sent) if hit is not None else float("nan")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
