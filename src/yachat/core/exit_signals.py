"""SIGTERM, SIGHUP and SIGINT end yachat the way its own quit does.

The streaming answer is cancelled (so the run stores what arrived, marked
cancelled), the store is closed, a server yachat started is stopped, and the
process exits with 128 + the signal's number, as a shell expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

import anyio

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def exit_code(signum: int) -> int:
    return 128 + signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@contextlib.contextmanager
def on_exit_signals(callback: Callable[[int], None]) -> Iterator[None]:
    """Call `callback(signum)` on the running loop when an exit signal arrives."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in EXIT_SIGNALS:
        try:
            loop.add_signal_handler(signum, callback, signum)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
            continue
        installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


class SignalStop:
    """Cancels a scope on the first exit signal and remembers which one it was."""

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope
        self.signum: int | None = None

    def __call__(self, signum: int) -> None:
        if self.signum is None:
            self.signum = signum
        self.scope.cancel()
