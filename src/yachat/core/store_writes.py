"""Store writes off the event loop, in order, on one writer thread.

A write waits for SQLite's write lock when another process holds it (up to the
store's busy timeout, 5 s): on the UI's event loop that froze every key. Writes
from the async paths go to this thread instead; reads stay where they are (in
WAL mode a read never waits for a writer).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import anyio

T = TypeVar("T")

# One thread: the writes of one answer land in the order they were made.
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yachat-store-writer")


def write_later(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Queue a write and return at once."""
    return _WRITER.submit(functools.partial(fn, *args, **kwargs))


async def write(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Queue a write after those already queued; wait for it without blocking the loop."""
    future = write_later(fn, *args, **kwargs)
    return await anyio.to_thread.run_sync(future.result)
