"""A widget that renders a Rich renderable once per width and keeps the lines.

Textual's Static re-renders a Rich renderable whenever layout asks for its
height, so every frame of a streaming answer would re-render every message
above it (Markdown parsing and syntax highlighting included). A finished
message never changes: its lines are computed once for the pane's width and
served from this cache on every later frame, scroll and page-up. A large one
can be rendered in a worker thread first (`render_off_loop`), so typing stays
responsive while it is laid out.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
from rich.console import Console, RenderableType
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


def render_strips(console: Console, renderable: RenderableType, width: int) -> list[Strip]:
    """Unstyled lines of `renderable` at `width`; safe to call from a worker thread."""
    options = console.options.update_width(max(1, width)).update(highlight=False)
    return [Strip(line, width) for line in console.render_lines(renderable, options, pad=True)]


class RichBlock(Widget):
    DEFAULT_CSS = "RichBlock { height: auto; }"

    def __init__(self, renderable: RenderableType | Callable[[], RenderableType], **kwargs: object) -> None:
        """`renderable` may be a function that builds it: Markdown parsing then happens
        only when the lines are first needed (in a worker thread, for `render_off_loop`)."""
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._source = renderable
        self._raw: tuple[int, list[Strip]] | None = None
        self._styled: tuple[int, Style, list[Strip]] | None = None

    @property
    def renderable(self) -> RenderableType:
        if callable(self._source):
            self._source = self._source()
        return self._source

    def update(self, renderable: RenderableType) -> None:
        self._source = renderable
        self._raw = self._styled = None
        self.refresh(layout=True)

    async def render_off_loop(self, width: int) -> None:
        """Compute the lines for `width` in a worker thread (before or after mounting)."""
        console = self.app.console
        strips = await anyio.to_thread.run_sync(lambda: render_strips(console, self.renderable, width))
        self._raw, self._styled = (width, strips), None

    def _lines(self, width: int) -> list[Strip]:
        if self._raw is None or self._raw[0] != width:
            self._raw = (width, render_strips(self.app.console, self.renderable, width))
            self._styled = None
        style = self.visual_style.rich_style
        if self._styled is None or self._styled[0] != width or self._styled[1] != style:
            # The widget's colours go under the renderable's own styles.
            self._styled = (width, style, [strip.apply_style(style) for strip in self._raw[1]])
        return self._styled[2]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self._lines(width)
        return lines[y] if y < len(lines) else Strip.blank(width, self.visual_style.rich_style)
