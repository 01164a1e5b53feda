"""The yachat TUI as the benchmarks drive it: headless, frames hooked."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from _common import FrameLog, timed_app

from yachat.core.chat import ChatCore
from yachat.settings import Settings
from yachat.tui.app import YachatApp

SIZE = (120, 40)


def yachat_settings(server: Any, home: str, store: Path | None = None) -> Settings:
    return Settings(
        backend="local",
        local_address=server.address,
        local_token=server.token,
        store_path=store or Path(home) / "yachat.db",
        config_path=Path(home) / "config.toml",
    )


def yachat_app(settings: Settings) -> Any:
    return timed_app(YachatApp)(ChatCore.open_store(settings))


class AnswerProgress:
    """How much of the streaming answer the pane shows, for the frame log."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.final_chars: int | None = None

    def __call__(self) -> int:
        if self.final_chars is not None and self.app.pane.live() is None:
            return self.final_chars
        live = self.app.pane.live()
        return live.shown_chars if live is not None else 0


async def send_and_time(
    app: Any, pilot: Any, text: str, expected_chars: int, arrivals: list[tuple[float, int]] | None = None
) -> float:
    """Send `text`; seconds until a frame shows the whole answer rendered from the store."""
    progress = AnswerProgress(app)
    app.frame_log = FrameLog(progress)
    if arrivals is not None:
        # Wrap the run controller's sink to timestamp each chunk's arrival.
        original = app.runs._apply

        def record(run: Any, update: Any) -> None:
            original(run, update)
            if update.kind == "append":
                arrivals.append((time.perf_counter(), len(run.text)))

        app.runs._apply = record
    started = time.perf_counter()
    app.composer.insert(text)
    await pilot.press("enter")
    while app.thread_id is None or app.runs.streaming(app.thread_id) or app.pane.live() is not None:
        await asyncio.sleep(0.005)
    progress.final_chars = expected_chars
    app.refresh()
    while not app.frame_log.frames or app.frame_log.frames[-1][1] < expected_chars:
        await asyncio.sleep(0.005)
    return app.frame_log.frames[-1][0] - started
