"""The answer being generated, growing as chunks arrive.

Chunks may come far faster than a terminal can paint, so they are only
buffered on arrival and applied at most once per frame. Each top-level
Markdown block is rendered once, when it is complete; only the last one, which
may still grow, is rendered again on the next frame. Blocks that have already
scrolled above the bottom screenful are deferred: their height is estimated
until they come into view, or until the finished answer renders them in a
worker thread. When the run ends, the pane hands these parts to the finished
message widget, so nothing is rendered twice.
"""

from __future__ import annotations

import time

from rich.text import Text

from yachat.tui.block_view import BlockView, Part
from yachat.tui.growing_text import GrowingText
from yachat.tui.markdown_blocks import BlockStream
from yachat.tui.render import block_parts

# As often as Textual paints (60 Hz): at 100 chunks/s, a chunk waited on average half
# of the flush interval, then the frame timer; at 30 Hz the chunk-to-frame median was
# 31 ms and p99 55-60, at 60 Hz 18-23 and 43-45 (bench `paint`), for the same total.
FRAME_S = 1 / 60
# But flushes take at most this share of the loop: a slow one (a long code block
# rendered again as it grows) spaces out the next ones, leaving room for keys.
FLUSH_SHARE = 0.25
# Text arriving faster than a screenful every quarter second scrolls past before
# anyone can read it (a model writes about a screenful every 5-10 s). Painting such
# a stream four times a second instead of thirty shows the same blur, still moving,
# and leaves the loop to the stream: the whole answer is there sooner. Each paint of
# a firehose costs a flush and a frame, 15-25 ms on the loop the stream needs.
OUTRUN_SCREENS_PER_S = 4
OUTRUN_FRAME_S = 1 / 4


class LiveAnswer(BlockView):
    def __init__(self, message_id: int, text: str = "", **kwargs: object) -> None:
        super().__init__((), classes="message assistant live", **kwargs)
        self.message_id = message_id
        self._text = GrowingText(text)  # everything received
        self.shown_chars = 0  # how much of `text` the widget has been given (benchmarks read it)
        self._blocks = BlockStream()
        self._sealed: list[Part] = []  # parts of the complete blocks
        self._tail: list[Part] = []  # the block still growing
        self._header: Part | None = Part.of(Text("Assistant", style="bold"))
        self._status = Part.of(Text("▍ generating…", style="dim"))
        self._dirty = False
        self._last_flush = 0.0
        self._interval = FRAME_S
        self._cost = 0.0  # seconds a flush takes, a moving average

    def on_mount(self) -> None:
        self._flush()

    @property
    def text(self) -> str:
        return str(self._text)

    def feed(self, suffix: str) -> None:
        self._text.append(suffix)
        self._schedule()

    def _schedule(self) -> None:
        """Flush at once if the last flush is a frame old, else at the next frame.

        A leading edge: a chunk after a quiet spell is shown immediately, and a
        burst costs at most one flush per frame.
        """
        if self._dirty:
            return  # a flush is already due
        self._dirty = True
        wait = self._last_flush + self._interval - time.monotonic()
        if wait <= 0:
            self.call_later(self._flush)
        else:
            self.set_timer(wait, self._flush)

    def replace(self, text: str) -> None:
        """The server rewrote the answer: start over from `text`."""
        self._blocks = BlockStream()
        self._sealed, self._tail = [], []
        self._text = GrowingText(text)
        self._schedule()

    def set_status(self, text: str, style: str = "dim") -> None:
        self._status = Part.of(Text(text, style=style))
        self._assemble()

    def body_parts(self, text: str) -> list[Part] | None:
        """The finished answer's Markdown parts, if `text` is what this widget was fed."""
        if text != self.text:
            return None
        self._update_tail()
        # Exact heights for the last screenful, which the finished message shows first:
        # an estimate found wrong while painting would cost another layout.
        self._render_bottom()
        return [*self._sealed, *self._tail]

    def _flush(self) -> None:
        now = time.monotonic()
        elapsed, self._last_flush = now - self._last_flush, now
        received = len(self._text)
        if not self._dirty and self.shown_chars == received:
            return
        self._dirty = False
        self._update_tail()
        self._render_bottom()
        self._assemble()
        chars_per_s = (received - self.shown_chars) / max(elapsed, FRAME_S)
        screenful = self.content_width() * self.app.size.height
        outrun = screenful and chars_per_s > OUTRUN_SCREENS_PER_S * screenful
        # Averaged: one slow flush (a long code block sealed) is not a slow stream.
        self._cost = 0.7 * self._cost + 0.3 * (time.monotonic() - now)
        self._interval = OUTRUN_FRAME_S if outrun else max(FRAME_S, self._cost / FLUSH_SHARE)
        self.shown_chars = received
        grew = getattr(self.parent, "content_grew", None)
        if grew is not None:
            grew()

    def _update_tail(self) -> None:
        """Seal the blocks that are complete; make parts for the one still growing."""
        stream = self._blocks
        tail_before = stream.tail
        self._sealed += block_parts(stream.update(self.text), deferred=True)
        if stream.tail is not tail_before:
            self._tail = block_parts(stream.tail)

    def _render_bottom(self) -> None:
        """Render the sealed blocks that share the bottom screenful with the tail."""
        width = self.content_width()
        if width <= 0:
            return  # not laid out yet: the layout renders what it needs
        console = self.app.console
        room = self.app.size.height
        for part in (*self._tail, *reversed(self._sealed)):
            if room <= 0:
                break
            room -= len(part.render(console, width))

    def drop_header(self) -> None:
        """The model's thinking, shown above, carries the header: the answer goes on under it."""
        self._header = None
        self._assemble()

    def _assemble(self) -> None:
        header = [self._header] if self._header is not None else []
        self.set_parts([*header, *self._sealed, *self._tail, self._status])
