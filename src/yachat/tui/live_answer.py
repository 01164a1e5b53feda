"""The answer being generated, growing as chunks arrive.

Chunks may come far faster than a terminal can paint, so they are only
buffered on arrival and applied at most once per frame. Only the growing tail
is re-rendered: once the tail passes a few KB, everything up to the last
block boundary outside a code fence is sealed into a static segment that is
never rendered again. When the run ends, the pane replaces this widget with
the stored answer rendered once in full.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from yachat.tui.render import markdown
from yachat.tui.rich_block import RichBlock

SEAL_AFTER_CHARS = 800
FRAME_S = 1 / 30


def seal_point(text: str) -> int:
    """The last blank-line boundary in `text` that is not inside a code fence, or 0."""
    best, in_fence, pos = 0, False, 0
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        pos += len(line)
        if not in_fence and not line.strip() and pos < len(text):
            best = pos
    return best


class LiveAnswer(Vertical):
    DEFAULT_CSS = """
    LiveAnswer { height: auto; }
    LiveAnswer > Static, LiveAnswer > RichBlock { height: auto; }
    LiveAnswer > .live-status { color: $text-muted; }
    """

    def __init__(self, message_id: int, text: str = "", **kwargs: object) -> None:
        super().__init__(classes="message assistant live", **kwargs)  # type: ignore[arg-type]
        self.message_id = message_id
        self.text = text  # everything received
        self.shown_chars = 0  # how much of `text` the widgets have been given (benchmarks read it)
        self._sealed_chars = 0
        self._tail = RichBlock("", classes="tail")
        self._status = Static(Text("▍ generating…", style="dim"), classes="live-status")
        self._dirty = False
        self._last_flush = 0.0

    def compose(self) -> ComposeResult:
        yield Static(Text("Assistant", style="bold"))
        yield self._tail
        yield self._status

    def on_mount(self) -> None:
        self._flush()

    def feed(self, suffix: str) -> None:
        self.text += suffix
        self._schedule()

    def _schedule(self) -> None:
        """Flush at once if the last flush is a frame old, else at the next frame.

        A leading edge: a chunk after a quiet spell is shown immediately, and a
        burst costs at most one flush per frame.
        """
        if self._dirty:
            return  # a flush is already due
        self._dirty = True
        wait = self._last_flush + FRAME_S - time.monotonic()
        if wait <= 0:
            self.call_later(self._flush)
        else:
            self.set_timer(wait, self._flush)

    def replace(self, text: str) -> None:
        """The server rewrote the answer: start over from `text`."""
        for segment in self.query(".sealed"):
            segment.remove()
        self._sealed_chars = 0
        self.text = text
        self._schedule()

    def set_status(self, text: str, style: str = "dim") -> None:
        self._status.update(Text(text, style=style))

    def _flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._dirty and self.shown_chars == len(self.text):
            return
        self._dirty = False
        tail = self.text[self._sealed_chars :]
        if len(tail) > SEAL_AFTER_CHARS:
            cut = seal_point(tail)
            if cut:
                self.mount(RichBlock(markdown(tail[:cut]), classes="sealed"), before=self._tail)
                self._sealed_chars += cut
                tail = tail[cut:]
        self._tail.update(markdown(tail))
        self.shown_chars = len(self.text)
        grew = getattr(self.parent, "content_grew", None)
        if grew is not None:
            grew()
