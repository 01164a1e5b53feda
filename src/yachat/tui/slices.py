"""Work on the event loop a few milliseconds at a time.

Rendering a page of older messages in a worker thread held the GIL against the
loop: every key and frame waited for it (PageUp p99 70-130 ms, paging fast). On
the loop, in slices with a pause after each, a key waits for one slice at most.
"""

from __future__ import annotations

import time

import anyio

SLICE_S = 0.004


class Slices:
    def __init__(self, slice_s: float = SLICE_S) -> None:
        self.slice_s = slice_s
        self.due = time.perf_counter() + slice_s

    async def pause_if_due(self) -> None:
        """Pause once a slice's time is used up. Not a bare yield: a key takes several
        hops (app, screen, widget) and a frame waits for its timer; the pause lets
        them through."""
        if time.perf_counter() >= self.due:
            await anyio.sleep(self.slice_s)
            self.due = time.perf_counter() + self.slice_s
