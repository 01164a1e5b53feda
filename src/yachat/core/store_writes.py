"""Store writes off the event loop, in order, on one writer thread.

A write waits for SQLite's write lock when another process holds it (up to the
store's busy timeout, 5 s): on the UI's event loop that froze every key. Writes
from the async paths go to this thread instead; reads stay where they are (in
WAL mode a read never waits for a writer).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import anyio

T = TypeVar("T")
log = logging.getLogger(__name__)

# One thread: the writes of one answer land in the order they were made.
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yachat-store-writer")


def write_later(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Queue a write and return at once."""
    return _WRITER.submit(functools.partial(fn, *args, **kwargs))


def write_soon(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Queue a write nobody waits for; a failure is logged (the writes after it, such as
    the answer's final one, still report theirs)."""
    write_later(fn, *args, **kwargs).add_done_callback(_log_failure)


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        log.warning("a queued store write failed: %r", exc)


async def write(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Queue a write after those already queued; wait for it without blocking the loop.

    The writer thread wakes the loop itself as the write completes. Waiting through a
    worker thread (anyio.to_thread) took one more thread switch, and with the loop busy
    streaming each switch waits out the GIL's interval: 5-20 ms a write, measured.
    Like a worker thread, the wait is not cancelled halfway: the caller learns what
    was written.
    """
    future = write_later(fn, *args, **kwargs)
    with anyio.CancelScope(shield=True):
        result = await asyncio.wrap_future(future)
    return result


def drain(timeout: float) -> bool:
    """Wait up to `timeout` s for the writes queued so far; whether they all landed."""
    try:
        write_later(lambda: None).result(timeout)
    except (TimeoutError, RuntimeError):  # RuntimeError: the writer was shut down (the process exits)
        return False
    return True
