"""Shared by the benchmark scenarios: a firehose server, frame timing, RSS."""

from __future__ import annotations

import os
import resource
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
warnings.filterwarnings("ignore")

from yachat.server.process import start_server_process  # noqa: E402


@contextmanager
def firehose_server(chunks: int = 2000, rate: float = 0.0, home: str | None = None) -> Any:
    env = {"YACHAT_FIREHOSE_CHUNKS": str(chunks), "YACHAT_FIREHOSE_RATE": str(rate)}
    if home:
        env["YACHAT_HOME"] = home
    with start_server_process("firehose", env=env) as server:
        yield server


def sdk_for(server: Any) -> Any:
    """The bare SDK on the server: gRPC at its address, the chat API at its HTTP port."""
    from yandex_ai_studio_sdk.auth import APIKeyAuth
    from yandex_cloud_ml_sdk import AsyncYCloudML

    extra = {"service_map": {"http_completions": server.http_url}} if server.http_url else {}
    return AsyncYCloudML(
        **extra, folder_id="bench", auth=APIKeyAuth(server.token), endpoint=server.address, verify=False
    )


def rss_mb() -> float:
    """Current resident set size, from /proc (peak would hide what was freed)."""
    with open(f"/proc/{os.getpid()}/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


class FrameLog:
    """Frames an app wrote, each with how much of the answer it showed."""

    def __init__(self, shown: Callable[[], int]) -> None:
        self.shown = shown
        self.frames: list[tuple[float, int]] = []

    def on_frame(self) -> None:
        self.frames.append((time.perf_counter(), self.shown()))

    def latencies_ms(self, arrivals: list[tuple[float, int]]) -> list[float]:
        """For each chunk (arrival time, cumulative length): time to the first frame showing it."""
        out, f = [], 0
        for t, length in arrivals:
            while f < len(self.frames) and (self.frames[f][0] < t or self.frames[f][1] < length):
                f += 1
            if f == len(self.frames):
                break
            out.append((self.frames[f][0] - t) * 1000)
        return out


def timed_app(app_cls: type) -> type:
    """`app_cls` with a hook on every frame the compositor produces.

    Headless apps do not write to a terminal, but each rendered update still reaches
    the hook: that is the moment a real terminal would paint.
    """

    from yachat.tui.textual_compat import AppWithFrameHook  # here: only the TUI scenarios load Textual

    class Timed(AppWithFrameHook, app_cls):  # type: ignore[misc, valid-type]
        frame_log: FrameLog | None = None

        def frame_painted(self) -> None:
            if self.frame_log is not None:
                self.frame_log.on_frame()

    return Timed


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))
    return ordered[index]
