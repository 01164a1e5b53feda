"""Scenario 1b: paint latency at a steady 100 chunks/s.

For every chunk: its arrival in the UI until the first frame that shows it.
- stream_paint_p50_ms, stream_paint_p99_ms: yachat's pane;
- stock_paint_p99_ms: a pane using stock Markdown.get_stream(), same chunks;
- paced_total_s, paced_raw_sdk_s: the whole answer through yachat, and through the
  bare SDK, at that rate (what the stream costs when chunks come as a server sends them).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from typing import Any

from _common import FrameLog, firehose_server, percentile, sdk_for, timed_app
from _yachat import SIZE, send_and_time, yachat_app, yachat_settings
from stream import raw_sdk

from yachat.server.engines.firehose import firehose_chunks

CHUNKS = 600  # six seconds at 100 chunks/s
RATE = 100


async def yachat_paint(server: Any, home: str) -> tuple[list[float], float]:
    app = yachat_app(yachat_settings(server, home))
    arrivals: list[tuple[float, int]] = []
    total = len("".join(firehose_chunks(CHUNKS)))
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.sleep(0.3)
        seconds = await send_and_time(app, pilot, "paint it", total, arrivals)
        return app.frame_log.latencies_ms(arrivals), seconds


async def stock_paint(server: Any) -> list[float]:
    from textual.app import App, ComposeResult
    from textual.widgets import Markdown

    class Pane(App[None]):
        def compose(self) -> ComposeResult:
            yield Markdown()

    class Timed(Markdown):
        applied = 0

        def append(self, markdown: str) -> Any:
            target = len(self.source) + len(markdown)
            inner = super().append(markdown)

            async def done() -> None:
                await inner
                self.applied = target

            from textual.await_complete import AwaitComplete

            return AwaitComplete(done())

    class TimedPane(Pane):
        def compose(self) -> ComposeResult:
            yield Timed()

    app = timed_app(TimedPane)()
    arrivals: list[tuple[float, int]] = []
    async with app.run_test(size=SIZE):
        widget = app.query_one(Timed)
        app.frame_log = FrameLog(lambda: widget.applied)
        stream = Markdown.get_stream(widget)
        text = ""
        async for result in sdk_for(server).models.completions("yandexgpt").run_stream("go"):
            new = result.alternatives[0].text
            suffix, text = new[len(text) :], new
            arrivals.append((time.perf_counter(), len(text)))
            await stream.write(suffix)
        await stream.stop()
        while not app.frame_log.frames or app.frame_log.frames[-1][1] < len(text):
            await asyncio.sleep(0.01)
    return app.frame_log.latencies_ms(arrivals)


async def main() -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as home,
        firehose_server(chunks=CHUNKS, rate=RATE, home=home) as server,
    ):
        ours, paced_total = await yachat_paint(server, home)
        stock = await stock_paint(server)
        paced_raw = await raw_sdk(server)
    return {
        "stream_paint_p50_ms": percentile(ours, 50),
        "stream_paint_p99_ms": percentile(ours, 99),
        "stock_paint_p99_ms": percentile(stock, 99),
        "paced_total_s": paced_total,
        "paced_raw_sdk_s": paced_raw,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
