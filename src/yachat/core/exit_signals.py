"""SIGTERM, SIGHUP and SIGINT end yachat the way its own quit does.

The streaming answer is cancelled (so the run stores what arrived, marked
cancelled), the store is closed, a server yachat started is stopped, and the
process exits with 128 + the signal's number, as a shell expects.

And it ends in time whatever hangs on the way out (a terminal library blocked
on a terminal that is gone, a thread that never returns): once a signal has
come, a watchdog ends the process EXIT_DEADLINE_S later, after closing the
store, and the same signal sent again a moment later ends it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Protocol

import anyio

from yachat.core import store_writes

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
# From the signal to the watchdog's os._exit; its last words take at most
# LAST_WORDS_S more: within the 5 s yachat promises.
EXIT_DEADLINE_S = 4.0
LAST_WORDS_S = 0.5
# A quit (no signal) ends as surely, given time for a slow server to stop first.
QUIT_DEADLINE_S = 10.0
# A signal repeated sooner is the same event told twice (a hangup reaches yachat
# from the kernel and from the shell or tmux), not someone insisting.
REPEAT_AFTER_S = 1.0

log = logging.getLogger(__name__)


def exit_code(signum: int) -> int:
    return 128 + signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Closable(Protocol):
    def close(self) -> None: ...


class ExitGuard:
    """The last resort that ends the process once its exit has begun.

    Off but while a front end runs in `guarding`; tests that run an app inside
    pytest do not, so nothing there can end pytest.

    `begin` runs on the main thread, often in a signal handler, which can
    interrupt that thread anywhere, even inside `begin`: so it takes no lock and
    starts no thread. It sets plain fields and wakes the watchdog, started
    beforehand, through a pipe."""

    def __init__(self) -> None:
        self.enabled = False
        self._store: Closable | None = None
        self._began_at: float | None = None
        self._code = 0
        self._deadline = 0.0
        self._wake: int | None = None  # the watchdog's pipe, written to wake it
        self._generation = 0  # which `guarding` the watchdog serves
        self._reason = f"the exit did not finish within {EXIT_DEADLINE_S:g} s"

    @contextlib.contextmanager
    def guarding(self, store: Closable | None = None) -> Iterator[None]:
        """While a front end runs, an exit that hangs is ended; the writes queued for
        `store` land and it closes first, in a thread of their own and LAST_WORDS_S
        at most (an answer cut there is kept as far as it was written, shown
        interrupted). An exit begun stays guarded to the process's end."""
        read, write = os.pipe()  # the watchdog's, closed by it when it stands down
        self._generation += 1
        self._store, self._wake, self.enabled = store, write, True
        watch = threading.Thread(
            target=self._watch, args=(read, write, self._generation), name="yachat-exit-guard", daemon=True
        )
        watch.start()
        try:
            yield
        finally:
            if not self.began:
                self.enabled = False
                self._poke()
                self._wake = None

    @property
    def began(self) -> bool:
        return self._began_at is not None

    def begin(self, code: int, within: float = EXIT_DEADLINE_S) -> None:
        """The process is exiting with `code`: it ends by `within` seconds from now.
        A second call may only bring the deadline closer; the first code stays."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self._began_at is None:
            self._code, self._deadline, self._began_at = code, now + within, now
        else:
            self._deadline = min(self._deadline, now + within)
        self._poke()

    def signalled(self, signum: int) -> None:
        """An exit signal came (called from the signal handler, in the main thread)."""
        if not self.enabled:
            return
        if self._began_at is not None and time.monotonic() - self._began_at >= REPEAT_AFTER_S:
            self._reason = "the exit signal came again"
            self.begin(exit_code(signum), within=0)  # the watchdog ends it now
        else:
            self.begin(exit_code(signum))

    def _poke(self) -> None:
        wake = self._wake
        if wake is not None:
            with contextlib.suppress(OSError):
                os.write(wake, b".")

    def _watch(self, read: int, write: int, generation: int) -> None:
        while True:
            if self._began_at is None:
                if not self.enabled or generation != self._generation:  # finished without an exit
                    os.close(read)
                    os.close(write)
                    return
                left: float | None = None
            else:
                left = self._deadline - time.monotonic()
                if left <= 0:
                    self._finish()
            if select.select([read], [], [], left)[0]:
                os.read(read, 512)

    def _finish(self) -> None:
        # Whatever holds the main thread may hold a lock the last words need (the
        # store's, logging's): they get a bounded time in a thread of their own.
        def last_words() -> None:
            if self._store is not None:
                store_writes.drain(LAST_WORDS_S)
                self._store.close()
            log.warning("yachat ends at once: %s; where its threads were:\n%s", self._reason, _stacks())

        words = threading.Thread(target=last_words, name="yachat-last-words", daemon=True)
        words.start()
        words.join(LAST_WORDS_S)
        os._exit(self._code)


def _stacks() -> str:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "\n".join(
        f"{names.get(ident, ident)}:\n{''.join(traceback.format_stack(frame))}"
        for ident, frame in sys._current_frames().items()
    )


GUARD = ExitGuard()


@contextlib.contextmanager
def on_exit_signals(callback: Callable[[int], None]) -> Iterator[None]:
    """Call `callback(signum)` on the running loop when an exit signal arrives.

    The handler is a Python-level one, not the loop's: it runs in the main thread
    even while the loop is blocked (a lock's wait is interrupted for it), so the
    guard starts, and a repeated signal ends the process, whatever the loop does.
    Signals ignored when yachat started (nohup, a background job) are handled too,
    as they always were."""
    loop = asyncio.get_running_loop()

    def handler(signum: int, frame: FrameType | None) -> None:
        GUARD.signalled(signum)
        with contextlib.suppress(RuntimeError):  # the loop has closed: the guard ends it
            loop.call_soon_threadsafe(callback, signum)

    previous: dict[int, signal._HANDLER] = {}
    for signum in EXIT_SIGNALS:
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread
            continue
    try:
        yield
    finally:
        for sig, before in previous.items():
            # None: a handler installed from C; the default is the closest Python can restore.
            signal.signal(sig, signal.SIG_DFL if before is None else before)


class SignalStop:
    """Cancels a scope on the first exit signal and remembers which one it was."""

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope
        self.signum: int | None = None

    def __call__(self, signum: int) -> None:
        if self.signum is None:
            self.signum = signum
        self.scope.cancel()
