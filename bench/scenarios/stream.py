"""Scenario 1: a ~30 KB Markdown answer in 2,000 chunks through the whole stack.

Figures (seconds from request to the last chunk shown):
- stream_raw_sdk_s: the SDK consuming the stream and doing nothing with it;
- stream_log_s: Textual's Log widget fed the same chunks (plain-text lower bound);
- stream_stock_markdown_s: a pane using stock Markdown.get_stream();
- stream_total_s: yachat: server -> SDK -> core -> TUI, until the answer is rendered;
- keypress_p99_ms: keys typed during the yachat stream until the composer shows them.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from typing import Any

from _common import FrameLog, firehose_server, sdk_for, timed_app

SIZE = (120, 40)


async def raw_sdk(server: Any) -> float:
    model = sdk_for(server).models.completions("yandexgpt")
    started = time.perf_counter()
    async for _ in model.run_stream("go"):
        pass
    return time.perf_counter() - started


async def widget_stream(server: Any, kind: str) -> float:
    """Feed the SDK's stream into a stock widget; time until a frame shows all of it."""
    from textual.app import App, ComposeResult
    from textual.widgets import Log, Markdown

    class Pane(App[None]):
        def compose(self) -> ComposeResult:
            yield Log() if kind == "log" else Markdown()

    app = timed_app(Pane)()
    written = 0
    async with app.run_test(size=SIZE) as pilot:
        widget = app.query_one(Log if kind == "log" else Markdown)
        app.frame_log = FrameLog(lambda: written)
        model = sdk_for(server).models.completions("yandexgpt")
        stream = Markdown.get_stream(widget) if kind == "markdown" else None
        started = time.perf_counter()
        text = ""
        async for result in model.run_stream("go"):
            new = result.alternatives[0].text
            suffix, text = new[len(text) :], new
            if kind == "log":
                widget.write(suffix)
                written = len(text)
            else:
                await stream.write(suffix)
        if stream is not None:
            await stream.stop()
            written = len(text)
        app.refresh()
        while not app.frame_log.frames or app.frame_log.frames[-1][1] < len(text):
            await pilot.pause(0.01)
        return app.frame_log.frames[-1][0] - started


async def main() -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as home, firehose_server(home=home) as server:
        await raw_sdk(server)  # warm the channel and the server's first-request costs
        figures["stream_raw_sdk_s"] = await raw_sdk(server)
        figures["stream_log_s"] = await widget_stream(server, "log")
        figures["stream_stock_markdown_s"] = await widget_stream(server, "markdown")
        try:
            from yachat_stream import yachat_stream  # the yachat TUI part, once it exists

            figures.update(await yachat_stream(server, home))
        except ImportError:
            pass
    return figures


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
