"""Reference for scenario 2: the same 500-message thread as one Markdown widget
per message in a VerticalScroll (what a straightforward Textual app does).

- history_stock_open_s, history_stock_rss_mb
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from _common import FrameLog, rss_mb, timed_app
from _data import long_thread_store
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown

SIZE = (120, 40)


class StockPane(App[None]):
    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="pane")


async def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        store, long_id, _ = long_thread_store(Path(home) / "yachat.db")
        messages = store.list_messages(long_id)
        app = timed_app(StockPane)()
        async with app.run_test(size=SIZE):
            pane = app.query_one("#pane", VerticalScroll)
            mounted = {"done": 0}
            app.frame_log = FrameLog(lambda: mounted["done"])
            started = time.perf_counter()
            await pane.mount_all([Markdown(m.text) for m in messages])
            pane.scroll_end(animate=False)
            mounted["done"] = 1
            app.refresh()
            while not any(n for _, n in app.frame_log.frames):
                await asyncio.sleep(0.01)
            open_s = next(t for t, n in app.frame_log.frames if n) - started
            rss = rss_mb()
    return {"history_stock_open_s": open_s, "history_stock_rss_mb": rss}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
