"""Scenario 1: a ~30 KB Markdown answer in 2,000 chunks through the whole stack.

Figures (seconds from request to a frame showing the whole answer):
- stream_raw_sdk_s: the SDK consuming the stream and doing nothing with it;
- stream_log_s: Textual's Log widget fed the same chunks (plain-text lower bound);
- stream_stock_markdown_s: a pane using stock Markdown.get_stream();
- stream_total_s: yachat: server -> SDK -> core -> TUI, until a frame shows the
  finished message widget (the median of PAIRS runs, each paired with a raw SDK run;
  stream_total_x_raw is the median of the pairs' ratios);
- keypress_p99_ms: keys typed into the composer during a yachat stream, until a frame shows them.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from typing import Any

from _common import FrameLog, firehose_server, percentile, sdk_for, timed_app
from _yachat import SIZE, paired_runs, yachat_app, yachat_settings
from textual import events


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
    shown = 0
    async with app.run_test(size=SIZE):
        widget = app.query_one(Log if kind == "log" else Markdown)
        app.frame_log = FrameLog(lambda: shown)
        model = sdk_for(server).models.completions("yandexgpt")
        stream = Markdown.get_stream(widget) if kind == "markdown" else None
        started = time.perf_counter()
        text = ""
        async for result in model.run_stream("go"):
            new = result.alternatives[0].text
            suffix, text = new[len(text) :], new
            if stream is None:
                widget.write(suffix)
                shown = len(text)
            else:
                await stream.write(suffix)
        if stream is not None:
            await stream.stop()
            shown = len(text)
        app.refresh()
        while not app.frame_log.frames or app.frame_log.frames[-1][1] < len(text):
            await asyncio.sleep(0.005)
        return app.frame_log.frames[-1][0] - started


async def keypresses(server: Any, home: str) -> list[float]:
    """Keys posted while an answer streams, each timed to the first frame showing it."""
    app = yachat_app(yachat_settings(server, home))
    latencies: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        app.composer.insert("stream it")
        await pilot.press("enter")
        while app.pane.live() is None:
            await pilot.pause(0.001)
        app.frame_log = FrameLog(lambda: len(app.composer.text))
        while app.runs.streaming(app.thread_id) and len(latencies) < 100:
            before = len(app.composer.text)
            sent = time.perf_counter()
            app.composer.post_message(events.Key("x", "x"))
            while not any(t >= sent and n > before for t, n in app.frame_log.frames):
                await asyncio.sleep(0.0005)
            shown = next(t for t, n in app.frame_log.frames if t >= sent and n > before)
            latencies.append((shown - sent) * 1000)
            await asyncio.sleep(0.03)
    return latencies


async def main() -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as home, firehose_server(home=home) as server:
        raw, total, ratio = await paired_runs(lambda: raw_sdk(server), server, home)
        figures.update(stream_raw_sdk_s=raw, stream_total_s=total, stream_total_x_raw=ratio)
        figures["stream_log_s"] = await widget_stream(server, "log")
        figures["stream_stock_markdown_s"] = await widget_stream(server, "markdown")
    with tempfile.TemporaryDirectory() as home, firehose_server(rate=400, home=home) as server:
        figures["keypress_p99_ms"] = percentile(await keypresses(server, home), 99)
    return figures


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
