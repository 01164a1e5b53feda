"""The yachat TUI as the benchmarks drive it: headless, frames hooked."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _common import FrameLog, timed_app

from yachat.core.chat import ChatCore
from yachat.core.events import TextDelta
from yachat.server.engines.firehose import firehose_text
from yachat.settings import Settings
from yachat.tui.app import YachatApp

SIZE = (120, 40)


def yachat_settings(server: Any, home: str, store: Path | None = None) -> Settings:
    return Settings(
        backend="local",
        local_address=server.address,
        local_token=server.token,
        local_http_url=server.http_url or None,
        store_path=store or Path(home) / "yachat.db",
        config_path=Path(home) / "config.toml",
    )


def yachat_app(settings: Settings) -> Any:
    return timed_app(YachatApp)(ChatCore.open_store(settings))


class AnswerProgress:
    """How much of the streaming answer the pane shows, for the frame log.

    While the answer streams, what the live widget was given; once the finished
    message widget has replaced it, the whole answer.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.before = {id(w) for w in app.pane.message_widgets()}
        self.finished_frame_at: float | None = None  # the first frame with the finished widget

    def __call__(self) -> int:
        """Called as each frame is written."""
        live = self.app.pane.live()
        if live is not None:
            return live.shown_chars
        widgets = self.app.pane.message_widgets()
        last = widgets[-1] if widgets else None
        if last is None or id(last) in self.before or last.message.role != "assistant":
            return 0
        if self.finished_frame_at is None:
            self.finished_frame_at = time.perf_counter()
        return len(last.message.text)


async def send_and_time(
    app: Any, pilot: Any, text: str, expected_chars: int, arrivals: list[tuple[float, int]] | None = None
) -> float:
    """Send `text`; seconds until a frame shows the whole answer in the finished message widget."""
    progress = AnswerProgress(app)
    app.frame_log = FrameLog(progress)
    if arrivals is not None:
        # Wrap the run controller's sink to timestamp each chunk's arrival.
        original = app.runs._apply

        def record(run: Any, update: Any) -> None:
            original(run, update)
            if isinstance(update, TextDelta):
                arrivals.append((time.perf_counter(), len(run.answer)))

        app.runs._apply = record
    started = time.perf_counter()
    app.composer.insert(text)
    await pilot.press("enter")
    while progress.finished_frame_at is None:
        await asyncio.sleep(0.005)
    assert app.frame_log.frames[-1][1] == expected_chars, "the finished answer is not the whole text"
    return progress.finished_frame_at - started


# yachat and a bare client take turns this many times in one process, so that each
# pair sees the same machine; the ratio is taken per pair.
PAIRS = 5


async def yachat_total(server: Any, home: str, run: int, transport: str | None = None) -> float:
    """yachat streaming the firehose answer: seconds until a frame shows it finished.

    A store of its own per run: a thread holding earlier runs' answers would send them
    all as history, a bigger request than the bare client's one message.
    """
    app = yachat_app(yachat_settings(server, home, store=Path(home) / f"run{run}.db"))
    if transport is not None:
        store = app.core.store
        store.update_assistant(store.default_assistant().id, transport=transport)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        return await send_and_time(app, pilot, "stream it", len(firehose_text()))


async def paired_runs(
    raw: Callable[[], Awaitable[float]], server: Any, home: str, transport: str | None = None
) -> tuple[float, float, float]:
    """The medians of the bare client's time, yachat's, and their ratio per pair."""
    await raw()  # warm the connection and the server's first-request costs
    raws, totals = [], []
    for run in range(PAIRS):
        raws.append(await raw())
        totals.append(await yachat_total(server, home, run, transport))
    ratio = statistics.median(t / r for t, r in zip(totals, raws, strict=True))
    return statistics.median(raws), statistics.median(totals), ratio
