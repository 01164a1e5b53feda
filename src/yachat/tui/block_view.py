"""A widget whose lines come from parts, each rendered once per width.

Textual's Static re-renders its Rich renderable whenever layout asks for its
height, so every frame of a streaming answer would re-render every message
above it. Here a message is a list of parts (its header, each top-level
Markdown block, its status line); a part's lines are computed once for the
pane's width and served from a cache on every later frame, scroll and
page-up.

A part may also be *deferred*: until it is rendered, its height is estimated
from its source text. A streaming answer defers the blocks that have scrolled
past the bottom screenful, so a fast stream costs the render of what is on
screen, not of everything it sent; a deferred part is rendered when it comes
into view, or in a worker thread once the answer has finished.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

import anyio
from rich.console import Console, RenderableType
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from yachat.tui.slices import Slices
from yachat.tui.textual_compat import virtual_size_without_layout


def render_strips(console: Console, renderable: RenderableType, width: int) -> list[Strip]:
    """Unstyled lines of `renderable` at `width`; safe to call from a worker thread."""
    options = console.options.update_width(max(1, width)).update(highlight=False)
    return [Strip(line, width) for line in console.render_lines(renderable, options, pad=True)]


class Part:
    """One piece of a widget's lines: a header, a Markdown block, a status line."""

    __slots__ = ("_build", "_estimate", "_lines", "_styled", "estimate", "gap")

    def __init__(
        self,
        build: Callable[[], RenderableType],
        *,
        gap: bool = False,
        estimate: Callable[[int], int] | None = None,
    ) -> None:
        self._build = build
        self.gap = gap  # a blank line before the part
        # Set for a deferred part: its height at a width, guessed until it is rendered.
        self.estimate = estimate
        self._lines: tuple[int, list[Strip]] | None = None
        self._estimate: tuple[int, int] | None = None
        self._styled: tuple[int, Style, list[Strip]] | None = None

    @classmethod
    def of(cls, renderable: RenderableType, *, gap: bool = False) -> Part:
        return cls(lambda: renderable, gap=gap)

    def lines_at(self, width: int) -> list[Strip] | None:
        cached = self._lines
        return cached[1] if cached is not None and cached[0] == width else None

    def render(self, console: Console, width: int) -> list[Strip]:
        """The part's lines at `width`, rendered now if not yet (thread-safe)."""
        lines = self.lines_at(width)
        if lines is None:
            lines = render_strips(console, self._build(), width)
            if self.gap:
                lines.insert(0, Strip.blank(width))
            self._lines = (width, lines)
        return lines

    def render_exact(self, console: Console, width: int) -> None:
        """Render now, and drop the estimate: the height is exact from here on."""
        self.render(console, width)
        self.estimate = None

    def height(self, console: Console, width: int) -> int:
        lines = self.lines_at(width)
        if lines is not None:
            return len(lines)
        if self.estimate is not None:
            if self._estimate is None or self._estimate[0] != width:
                self._estimate = (width, self.estimate(width) + self.gap)
            return self._estimate[1]
        return len(self.render(console, width))

    def styled(self, console: Console, width: int, style: Style) -> list[Strip]:
        lines = self.render(console, width)
        cached = self._styled
        if cached is None or cached[0] != width or cached[1] != style or len(cached[2]) != len(lines):
            # The widget's colours go under the renderable's own styles.
            cached = (width, style, [strip.apply_style(style) for strip in lines])
            self._styled = cached
        return cached[2]


class BlockView(Widget):
    DEFAULT_CSS = "BlockView { height: auto; }"

    # Textual lays a widget out again whenever its virtual size changes, so every
    # frame in which a message grew took two layout passes. A BlockView does not
    # scroll and its lines do not depend on that size: the pass that sized it is enough.
    virtual_size = virtual_size_without_layout(repaint=False)

    def __init__(self, parts: Sequence[Part] | Callable[[], Sequence[Part]] = (), **kwargs: object) -> None:
        """`parts` may be a function that builds them: Markdown parsing then happens
        only when the lines are first needed (in a worker thread, for `render_off_loop`)."""
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._source = parts
        self._offsets: tuple[int, list[int]] | None = None  # (width, start line of each part + total)

    @property
    def parts(self) -> list[Part]:
        if not isinstance(self._source, list):
            self._source = list(self._source() if callable(self._source) else self._source)
        return self._source

    def content_width(self) -> int:
        """The width the lines are rendered at, as of the last layout.

        Not `size` or `content_region`: those ask the compositor, and for a widget
        off screen (a live answer below a paged-up view) that rebuilds its map of
        every widget between a layout and the next repaint; called from a timer, the
        repaint after it then missed rows that moved (the composer drawn twice).
        """
        return max(0, self.outer_size.width - self.styles.gutter.width)

    def set_parts(self, parts: Sequence[Part]) -> None:
        before = self.parts, self._offsets
        self._source = list(parts)
        self.relayout(before)

    def relayout(self, before: tuple[list[Part], tuple[int, list[int]] | None] | None = None) -> None:
        """The parts or their heights changed (`before`: the parts and offsets they replace)."""
        old_parts, old_offsets = before if before is not None else (self.parts, self._offsets)
        self._offsets = None
        self.refresh(layout=True)
        if old_offsets is not None and old_offsets[0] == self.content_width():
            self._keep_reader_still(old_parts, old_offsets[1])

    def _keep_reader_still(self, old_parts: list[Part], old_starts: list[int]) -> None:
        """Tell a scrolled container how far the lines at the top of its view moved.

        An estimated part that gets rendered changes height; if it is above the
        view, everything the reader is looking at would jump. The first part that
        starts at or below the top of the view is the reference: the container
        scrolls by as much as that part moved.
        """
        keep_still = getattr(self.parent, "keep_still", None)
        child_top = getattr(self.parent, "child_top", None)
        container = self.parent
        if keep_still is None or child_top is None or not isinstance(container, Widget):
            return
        y = child_top(self)
        if y is None:
            return
        top = round(container.scroll_y) - (y + self.styles.gutter.top)
        if top <= 0:
            return  # the widget starts in view: nothing above the view changed
        new_starts = self._starts(self.content_width())
        index = bisect_left(old_starts, top)
        index = min(index, len(old_starts) - 1)  # below the widget's end: the end is the reference
        parts = self.parts
        if len(parts) < index or any(a is not b for a, b in zip(old_parts[:index], parts, strict=False)):
            return  # the parts above the reference were replaced: no common line to keep
        moved = new_starts[index] - old_starts[index]
        if moved:
            keep_still(moved)

    def lines(self, width: int) -> list[Strip]:
        """Every line at `width`, deferred parts rendered too."""
        console = self.app.console
        return [line for part in self.parts for line in part.render(console, width)]

    async def render_off_loop(self, width: int) -> None:
        """Render every part for `width` in a worker thread (before or after mounting)."""
        console = self.app.console

        def render_all() -> None:
            for part in self.parts:
                part.render_exact(console, width)

        before = self.parts, self._offsets
        await anyio.to_thread.run_sync(render_all)
        self._rendered(before)

    async def render_in_slices(self, width: int, slices: Slices) -> None:
        """Render every part for `width` on the loop, pausing between parts as `slices` says."""
        console = self.app.console
        before = self.parts, self._offsets
        for part in self.parts:
            await slices.pause_if_due()
            part.render_exact(console, width)
        self._rendered(before)

    def _rendered(self, before: tuple[list[Part], tuple[int, list[int]] | None]) -> None:
        """Every part was rendered: heights are exact now."""
        self._offsets = None
        if self.is_attached:
            self.relayout(before)

    def _starts(self, width: int) -> list[int]:
        if self._offsets is None or self._offsets[0] != width:
            console = self.app.console
            starts, y = [], 0
            for part in self.parts:
                starts.append(y)
                y += part.height(console, width)
            starts.append(y)
            self._offsets = (width, starts)
        return self._offsets[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._starts(width)[-1]

    def render_line(self, y: int) -> Strip:
        width = self.content_width()
        starts = self._starts(width)
        style = self.visual_style.rich_style
        index = bisect_right(starts, y) - 1
        parts = self.parts
        if not 0 <= index < len(parts):
            return Strip.blank(width, style)
        part = parts[index]
        if part.lines_at(width) is None:
            # A deferred part came into view: render it, and fix the layout if the estimate was off.
            estimated = starts[index + 1] - starts[index]
            if len(part.render(self.app.console, width)) != estimated:
                # Not now: in the middle of a paint, a layout and a scroll would leave
                # this frame half old, half new. This frame shows the estimate's rows.
                self.call_later(self.relayout, (parts, (width, starts)))
        lines = part.styled(self.app.console, width, style)
        row = y - starts[index]
        return lines[row] if row < len(lines) else Strip.blank(width, style)
