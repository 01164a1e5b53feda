"""Scenario 3: a store with 10,000 threads and 100,000 messages.

- sidebar_open_s: the app starting on that store until a frame shows the sidebar;
- search_median_ms: a query typed into the search field until a frame shows its results.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import FrameLog, timed_app
from _data import big_store

from yachat.core.chat import ChatCore
from yachat.settings import Settings
from yachat.tui.app import YachatApp

SIZE = (120, 40)
CACHE = Path(__file__).resolve().parents[1] / ".cache" / "big.db"
QUERIES = [
    "stream",
    "kazan",
    "yeast bread",
    "python render",
    "socket buf",
    "museum",
    "lifetime borrow",
    "cache",
]


async def main() -> dict[str, float]:
    CACHE.parent.mkdir(exist_ok=True)
    big_store(CACHE).close()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(backend="local", local_address="127.0.0.1:9", local_token="x",
                            store_path=CACHE, config_path=Path(home) / "config.toml")  # fmt: skip
        started = time.perf_counter()
        app: Any = timed_app(YachatApp)(ChatCore.open_store(settings))
        app.frame_log = FrameLog(lambda: len(app.sidebar.threads) if app.is_mounted(app.screen) else 0)
        async with app.run_test(size=SIZE):
            while not any(n for _, n in app.frame_log.frames):
                await asyncio.sleep(0.001)
            open_s = next(t for t, n in app.frame_log.frames if n) - started

            shown = {"query": ""}
            original = app.sidebar.show_results

            def record(titles: Any, hits: Any) -> None:
                original(titles, hits)
                shown["query"] = app.query_one("#search").value

            app.sidebar.show_results = record
            search = app.query_one("#search")
            latencies = []
            for query in QUERIES * 3:
                app.frame_log = FrameLog(lambda: 1 if shown["query"] == search.value else 0)
                sent = time.perf_counter()
                search.value = query
                while not any(n and t >= sent for t, n in app.frame_log.frames):
                    await asyncio.sleep(0.0005)
                latencies.append((next(t for t, n in app.frame_log.frames if n and t >= sent) - sent) * 1000)
                await asyncio.sleep(0.05)
    return {"sidebar_open_s": open_s, "search_median_ms": statistics.median(latencies)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
