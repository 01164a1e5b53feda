"""The thread's messages, as a virtual list, and the live answer at the end.

Only the messages near the view are mounted, plus a margin of a screen or two;
the rest of the thread is two spacers, above and below, as tall as the messages
they stand for (their heights measured once laid out, estimated before:
pane_heights). The scrollbar, Home/End and paging therefore cover the whole
thread, and a thread of any length costs the layout of a few dozen widgets. As
the view moves, messages are read from the store by position (thread_pages),
rendered a few milliseconds at a time and mounted at the edge it approaches;
those far from it are removed. Mounting above the view takes their rows from
the spacer, so what the reader looks at does not move. A jump (Home, End, the
scrollbar, a search hit) mounts the messages at the new place instead.

The live answer, its thinking and its tool calls come after the lower spacer:
the end of the thread. The pane follows the bottom while an answer streams,
unless the user has scrolled up: then it stays put and shows a "new content
below" jump.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
from rich.console import RenderableType
from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.events import Click
from textual.geometry import Size
from textual.message import Message as TextualMessage
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from yachat.store.knowledge import Passage
from yachat.store.models import Message, Run
from yachat.tui.block_view import BlockView, Part
from yachat.tui.collector import collect_removed, widgets_removed
from yachat.tui.live_answer import LiveAnswer
from yachat.tui.pane_heights import Heights
from yachat.tui.prompt_cut import PromptCut, PromptCutAt, latest_cut
from yachat.tui.render import code_blocks, message_parts
from yachat.tui.slices import Slices
from yachat.tui.sources_view import SourcesList
from yachat.tui.textual_compat import anchor_released, clear_style_caches, virtual_size_without_layout
from yachat.tui.thinking import LiveThinking, thinking_parts
from yachat.tui.thread_pages import ThreadPages
from yachat.tui.tool_calls import ToolCallState, ToolCallView, states_of

log = logging.getLogger(__name__)

# The blank row above each message (`.message { margin-top: 1 }` in styles.tcss).
MESSAGE_GAP = 1
# Mounted rows wanted beyond each edge of the view, in screens: fewer, and more are
# mounted; more than KEEP_SCREENS away, they are removed.
MARGIN_SCREENS = 1.5
KEEP_SCREENS = 4.0
# Mounted at a time when the view nears an edge: about this many screens of rows.
STEP_SCREENS = 2.0
STEP_MAX = 12  # messages
# A spacer is at most this many rows. Textual files every widget's region in a grid of
# 20-row squares at each layout: a spacer for 50,000 messages (1.5 million rows) cost
# 75,000 squares, tens of milliseconds a frame. Past this, a spacer's rows stand for its
# messages in proportion (the scrollbar is exact near the view and proportional beyond).
SPACER_MAX_ROWS = 10_000
TRIMMED_PER_COLLECTION = 400
# After widgets are removed, the full garbage collection that frees them waits this long.
COLLECT_AFTER_REMOVAL_S = 0.5
WELCOME = Text.assemble(
    ("A new conversation.\n\n", "bold"),
    "Type below and press Enter; Shift+Enter or ctrl+j starts a new line.\n",
    "Esc stops an answer · ctrl+f searches every thread · ctrl+s sets the model and instruction\n",
    "ctrl+p lists every action · F1 lists every key",
    style="dim",
)


class MessageWidget(BlockView, can_focus=True):
    """One finished message, rendered once; its own keys act on it."""

    class EditRequested(TextualMessage):
        """Edit and resend this message (the app owns the composer)."""

        def __init__(self, message: Message) -> None:
            super().__init__()
            self.message = message

    BINDINGS = [
        Binding("c", "copy", "Copy", id="yachat.copy_message"),
        Binding("k", "copy_code", "Copy code", id="yachat.copy_message_code"),
        Binding("e", "edit", "Edit & resend", id="yachat.edit_message"),
        Binding("t", "toggle_thinking", "Thinking", id="yachat.toggle_message_thinking"),
    ]

    def __init__(
        self, message: Message, run: Run | None, body: list[Part] | None = None, thinking: bool = False
    ) -> None:
        """`body`: the Markdown parts, when a live answer already made them;
        `thinking`: the model's thinking is shown unfolded."""
        super().__init__(
            lambda: message_parts(message, run, body, thinking),
            classes=f"message {message.role} status-{message.status}",
        )
        self.message = message
        self.run = run
        self.thinking = thinking

    def action_copy(self) -> None:
        copy_text(self.app, self.message.text, "message")

    def action_copy_code(self) -> None:
        blocks = code_blocks(self.message.text)
        copy_text(self.app, "\n".join(blocks) if blocks else None, "code")

    def action_edit(self) -> None:
        if self.message.role != "user":
            self.app.notify("Focus one of your messages (click it) to edit and resend it.")
            return
        self.post_message(self.EditRequested(self.message))

    def action_toggle_thinking(self) -> None:
        if not self.toggle_thinking():
            self.app.notify("This message has no thinking to show.")

    def toggle_thinking(self) -> bool:
        """Fold or unfold the thinking; False if the message has none."""
        reasoning = self.message.reasoning
        if not reasoning:
            return False
        parts = self.parts
        old = len(thinking_parts(reasoning, self.thinking, self.message.id))
        self.thinking = not self.thinking
        # The header stays first; the Markdown parts after the thinking are kept as rendered.
        new = thinking_parts(reasoning, self.thinking, self.message.id)
        self.set_parts([parts[0], *new, *parts[1 + old :]])
        return True

    def rows(self, width: int) -> int:
        """Its height with the blank row above it, once rendered at `width`."""
        return MESSAGE_GAP + self.get_content_height(Size(0, 0), Size(0, 0), width)

    def on_click(self, event: Click) -> None:
        self.focus()  # c, k and e then act on this message


def copy_text(app: App[Any], text: str | None, what: str) -> None:
    if not text:
        app.notify(f"No {what} to copy.")
        return
    app.copy_to_clipboard(text)
    app.notify(f"Copied {what} ({len(text)} characters).", markup=False)


class Spacer(Widget):
    """Blank rows standing for the messages that are not mounted."""

    DEFAULT_CSS = "Spacer { height: 0; }"

    def __init__(self) -> None:
        super().__init__()
        self.rows = 0

    def set_rows(self, rows: int) -> None:
        rows = max(0, min(rows, SPACER_MAX_ROWS))
        if rows != self.rows:
            self.rows = rows
            self.styles.height = rows

    def render(self) -> RenderableType:
        return ""


class Group:
    """The widgets of one message: its tool calls, itself, its sources (and a prompt-cut line)."""

    __slots__ = ("message", "widgets")

    def __init__(self, message: Message, widgets: list[Widget]) -> None:
        self.message = message
        self.widgets = widgets

    def widget(self) -> MessageWidget | None:
        return next((w for w in self.widgets if isinstance(w, MessageWidget)), None)


class MessagePane(VerticalScroll):
    class NewBelow(TextualMessage):
        """Whether to offer the "new content below" jump."""

        def __init__(self, visible: bool) -> None:
            super().__init__()
            self.visible = visible

    # As for BlockView: a growing answer changes the pane's virtual size every
    # frame, and Textual would lay the pane out a second time for it; the pass that
    # measured the new size has already placed everything and moved the scrollbar.
    virtual_size = virtual_size_without_layout()

    DEFAULT_CSS = """
    MessagePane { height: 1fr; padding: 0 1; scrollbar-gutter: stable; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.thread_id: int | None = None
        self._pages: ThreadPages | None = None
        self._heights = Heights()
        self._width = 0  # the width the heights were measured at
        self._lo = 0  # position of the first mounted message
        self._groups: list[Group] = []  # the mounted messages, from position _lo on
        self._last_id = 0  # the thread's newest message known here
        self._top = Spacer()
        self._bottom = Spacer()
        self._runs: dict[int, Run] = {}
        self._sources: dict[int, list[Passage]] = {}
        self._cut: PromptCutAt | None = None  # where the latest prompt left messages out
        self._generation = 0  # bumped whenever the mounted window is replaced
        self._busy = False  # a window extension is under way
        self._sync_due = False
        self._jump_shown = False
        # Children on their way out: Textual removes a widget a few messages after
        # `remove()`, so until then the pane's own lookups skip them. (No pane child
        # has a DOM id either: the next thread's widgets share this parent while the
        # last one's are still in it.)
        self._leaving: weakref.WeakSet[Widget] = weakref.WeakSet()
        self._collect_timer: Timer | None = None
        self._trimmed = 0  # messages trimmed since the last full collection was asked for

    def compose(self) -> object:  # type: ignore[override]
        yield self._top
        yield self._bottom

    @property
    def follow(self) -> bool:
        """Whether the pane sticks to the bottom (Textual's anchor, released by a user scroll)."""
        return self.is_anchored and not anchor_released(self)

    # -- showing a thread ------------------------------------------------------

    def show(
        self,
        thread_id: int | None,
        pages: ThreadPages | None = None,
        focus_message: int | None = None,
        sources: Mapping[int, Sequence[Passage]] | None = None,
    ) -> None:
        """Show the thread's newest messages, or those around `focus_message`."""
        self.thread_id = thread_id
        self._pages = pages if thread_id is not None else None
        self._sources = {k: list(v) for k, v in (sources or {}).items()}
        self._runs = {}
        count = self._pages.count() if self._pages is not None else 0
        self._heights = Heights(count, self._heights.guess)
        self._last_id = self._pages.last_id() if self._pages is not None else 0
        self._cut = latest_cut(self._pages.latest_runs()) if self._pages is not None else None
        focus = self._pages.position(focus_message) if self._pages and focus_message is not None else None
        with self.app.batch_update():
            self._remove(*self.shown())
            self._groups = []
            if focus is not None:
                self._rebuild_at(max(0, focus - 2))
            else:
                self._rebuild_at_end()
            if thread_id is None:
                self.mount(Static(WELCOME, classes="welcome"))
        self._hide_jump()
        if focus is not None and focus_message is not None:
            # Not at the bottom: the anchor, or the old offset, would move the view away
            # from the messages just mounted, and the window after it.
            self.anchor(False)
            self.scroll_to(y=self._top.rows, animate=False, immediate=True)
            self.call_after_refresh(self._reveal, focus_message)
        else:
            self.anchor()

    def _remove(self, *widgets: Widget, collect: bool = True) -> None:
        """`collect`: a full collection follows once the removal is painted; a trim of
        the window asks for one only every TRIMMED_PER_COLLECTION messages (a full pass
        takes 30-80 ms: between two PageUps it was the slowest of them)."""
        if not widgets:
            return
        self._leaving.update(widgets)
        self.remove_children(widgets)
        # Textual's StylesCache.get_inner_outer is an lru_cache on a method: it keeps
        # the style caches of the last 1,024 widgets, every line they painted included,
        # alive after the widgets are gone (measured: the bulk of a long session's
        # growth). Its entries are two Styles each, cheap to make again.
        clear_style_caches()
        messages = sum(isinstance(w, BlockView) for w in widgets)
        if messages and not collect:
            widgets_removed(messages)
            self._trimmed += messages
            if self._trimmed < TRIMMED_PER_COLLECTION:
                return
        if messages:  # the heavy ones: a prompt-cut line is not worth a full pass
            self._trimmed = 0
            widgets_removed(messages)
            # A full pass frees them; not in the frame of the change, nor between keys of a burst.
            if self._collect_timer is not None:
                self._collect_timer.stop()
            self._collect_timer = self.set_timer(COLLECT_AFTER_REMOVAL_S, collect_removed)

    def shown(self) -> list[Widget]:
        """The pane's children, less those being removed and the spacers."""
        leaving = self._leaving
        return [c for c in self.children if c not in leaving and not isinstance(c, Spacer)]

    def _message_widget(self, message_id: int) -> MessageWidget | None:
        return next(
            (w for w in self.shown() if isinstance(w, MessageWidget) and w.message.id == message_id), None
        )

    def _group(self, message: Message) -> Group:
        """The widgets of a stored message; none for an answer still streaming (its live
        widget, after the lower spacer, shows it)."""
        self._last_id = max(self._last_id, message.id)
        if message.status == "streaming":
            return Group(message, [])
        widgets: list[Widget] = []
        if self._cut is not None and self._cut[0] == message.id:
            widgets.append(PromptCut(self._cut))
        if message.parts:  # an answer that called tools has its calls' entries above it
            widgets += [ToolCallView(state) for state in states_of(message)]
        run = self._runs.get(message.run_id) if message.run_id else None
        widgets.append(MessageWidget(message, run))
        passages = (
            self._sources.get(message.run_id) if message.run_id and message.role == "assistant" else None
        )
        if passages:
            widgets.append(SourcesList(message.id, passages))
        return Group(message, widgets)

    def _reveal(self, message_id: int) -> None:
        widget = self._message_widget(message_id)
        if widget is None:
            return
        self.scroll_to_widget(widget, animate=False, top=True)
        widget.focus()

    # -- the window ------------------------------------------------------------

    @property
    def _hi(self) -> int:
        return self._lo + len(self._groups)

    def _screen_rows(self) -> int:
        return max(1, self.size.height or self.app.size.height)

    def _read(self, start: int, stop: int) -> list[Message]:
        if self._pages is None or stop <= start:
            return []
        messages, runs = self._pages.read(start, stop - start)
        self._runs.update((r.id, r) for r in runs)
        return messages

    def _rebuild_at(self, index: int) -> None:
        """Mount the messages from position `index` down, a screenful or two."""
        heights = self._heights
        count = len(heights)
        index = max(0, min(index, count))
        stop, rows = index, 0
        while stop < count and rows < 2 * self._screen_rows():
            rows += heights[stop]
            stop += 1
        self._replace_window(index, stop)

    def _rebuild_at_end(self) -> None:
        """Mount the thread's last messages, a screenful or two."""
        heights = self._heights
        start, rows = len(heights), 0
        while start > 0 and rows < 2 * self._screen_rows():
            start -= 1
            rows += heights[start]
        self._replace_window(start, len(heights), from_end=True)

    def _replace_window(self, start: int, stop: int, from_end: bool = False) -> None:
        """Mount positions `start` to `stop`, less those a screenful does not need (counted
        from the far end): the rest of the margin is mounted after the first frame."""
        self._generation += 1
        self._remove(*[w for g in self._groups for w in g.widgets])
        messages = self._read(start, stop)
        width = max(1, (self._width or self.app.size.width) - 4)
        if messages and not self._heights.any_measured():
            # Before anything is measured, the thread's messages are guessed like these.
            self._heights.set_guess(sum(estimate_rows(m.text, width) for m in messages) // len(messages))
        want, rows, keep = self._screen_rows() * 1.25, 0, 0
        for message in reversed(messages) if from_end else messages:
            keep += 1
            rows += estimate_rows(message.text, width)
            if rows >= want:
                break
        if from_end:
            start += len(messages) - keep
            messages = messages[len(messages) - keep :]
        else:
            messages = messages[:keep]
        groups = [self._group(m) for m in messages]
        self._lo, self._groups = start, groups
        self._top.set_rows(self._heights.total(0, start))
        self._bottom.set_rows(self._heights.total(start + len(groups)))
        widgets = [w for g in groups for w in g.widgets]
        if widgets:
            self.mount_all(widgets, before=self._bottom)
        self._schedule_sync()

    def _schedule_sync(self) -> None:
        if not self._sync_due:
            self._sync_due = True
            self.call_after_refresh(self._sync)

    def _measure(self) -> int | None:
        """Record the laid-out height of every mounted message; the row where the lower
        spacer starts (None before the first layout)."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return None
        heights = self._heights
        if width != self._width:
            if self._width:
                heights.forget()
            self._width = width
        firsts = {id(g.widgets[0]): i for i, g in enumerate(self._groups) if g.widgets}
        tops: dict[int, int] = {}
        y = 0
        bottom: int | None = None
        end: int | None = None
        for child in self.children:
            if not child.display:
                continue
            # A message's rows start where the widget before it ends: the blank row
            # above it (the margins between them, collapsed) is its own.
            index = firsts.get(id(child))
            if index is not None:
                if not child.outer_size.height and isinstance(child, BlockView):
                    return None  # mounted, not yet laid out
                tops[index] = y
            margin = child.styles.margin
            y += margin.top if bottom is None else max(bottom, margin.top)
            if child is self._bottom:
                end = y
                break
            y += child.outer_size.height
            bottom = margin.bottom
        if end is None:
            return None
        starts = sorted(tops.items())
        for (index, top), following in zip(starts, [*starts[1:], (len(self._groups), end)], strict=False):
            heights.measure(self._lo + index, following[1] - top)
        for index, group in enumerate(self._groups):
            if not group.widgets:
                heights.measure(self._lo + index, 0)
        heights.guess_again()
        return end

    def _sync(self) -> None:
        """Mount what the view is about to reach; remove what it has left far behind."""
        self._sync_due = False
        if self._pages is None or self._busy or not self.is_attached:
            return
        end = self._measure()
        if end is None:
            self._schedule_sync()
            return
        screen = self._screen_rows()
        view_top = round(self.scroll_y)
        view_bottom = view_top + screen
        top = self._top.rows
        tail = end + self._bottom.rows  # where the live answer (and what follows it) starts
        count = len(self._heights)
        far_above = view_bottom < top - screen
        far_below = view_top > end + screen and view_bottom < tail
        if count and (not self._groups or far_above or far_below):
            self._jump(view_top, end)
            return
        if self._bottom.rows and view_bottom >= tail and view_top > end + screen:
            self._jump(view_top, end)  # in the live answer, past the unmounted end of the thread
            return
        margin = round(MARGIN_SCREENS * screen)
        if self._lo > 0 and view_top - self._top.rows < margin:
            self._extend(up=True)
        elif self._hi < count and end - view_bottom < margin:
            self._extend(up=False)
        else:
            self._trim_around(view_top)

    def _trim_around(self, view_top: int) -> None:
        screen = self._screen_rows()
        keep = round(KEEP_SCREENS * screen)
        self._trim(view_top - keep, view_top + screen + keep)

    def _jump(self, view_top: int, end: int) -> None:
        """The view landed far from what is mounted: mount the messages there instead."""
        tail = end + self._bottom.rows
        if view_top + self._screen_rows() >= tail:
            # At the end of the thread: its last messages, the view kept where it was
            # against the live answer (or the end).
            into_tail = view_top - tail
            self._rebuild_at_end()
            if self.follow:
                self.scroll_end(animate=False, immediate=True)
            else:
                heights = self._heights
                y = self._top.rows + heights.total(self._lo) + into_tail
                self.scroll_to(y=y, animate=False, immediate=True, release_anchor=False)
        else:
            index = self._position_at(view_top, end)
            self._rebuild_at(index)
            self.scroll_to(y=self._top.rows, animate=False, immediate=True, release_anchor=False)

    def _position_at(self, y: int, end: int) -> int:
        """The message at row `y` of a spacer: by the heights where the spacer is as tall
        as its messages, else in proportion."""
        heights = self._heights
        if y < self._top.rows:
            above = heights.total(0, self._lo)
            if above == self._top.rows:
                return heights.index_at(y)
            return self._lo * y // max(1, self._top.rows)
        below = len(heights) - self._hi
        into = max(0, y - end)
        if heights.total(self._hi) == self._bottom.rows:
            return heights.index_at(heights.total(0, self._hi) + into)
        return min(len(heights) - 1, self._hi + below * into // max(1, self._bottom.rows))

    def _trim(self, keep_from: int, keep_to: int) -> None:
        """Remove the messages wholly outside rows `keep_from` to `keep_to`; the spacers
        take their rows, so nothing in view moves."""
        heights = self._heights
        y = self._top.rows
        drop_front = 0
        for index in range(len(self._groups)):
            rows = heights[self._lo + index]
            if y + rows >= keep_from:
                break
            y += rows
            drop_front += 1
        y = self._top.rows + heights.total(self._lo, self._hi)
        drop_back = 0
        for index in range(len(self._groups) - 1, drop_front - 1, -1):
            rows = heights[self._lo + index]
            if y - rows <= keep_to:
                break
            y -= rows
            drop_back += 1
        if not drop_front and not drop_back:
            return
        front = self._groups[:drop_front]
        back = self._groups[len(self._groups) - drop_back :] if drop_back else []
        self._groups = self._groups[drop_front : len(self._groups) - drop_back]
        grown = self._top.rows + heights.total(self._lo, self._lo + drop_front)
        self._top.set_rows(grown)
        self._shift(self._top.rows - grown)  # at its cap, the spacer grew less than what left
        self._bottom.set_rows(self._bottom.rows + heights.total(self._hi, self._hi + drop_back))
        self._lo += drop_front
        self._remove(*[w for g in (*front, *back) for w in g.widgets], collect=False)

    def _extend(self, up: bool) -> None:
        self._busy = True
        self.run_worker(self._grow(up), group="window", exit_on_error=False)

    async def _grow(self, up: bool) -> None:
        """Read, render (a few milliseconds at a time) and mount about a screenful of
        messages at the upper or lower edge of the window."""
        generation = self._generation
        try:
            heights = self._heights
            want, rows, count = STEP_SCREENS * self._screen_rows(), 0, 0
            while rows < want and count < STEP_MAX:
                index = self._lo - 1 - count if up else self._hi + count
                if not 0 <= index < len(heights):
                    break
                rows += heights[index]
                count += 1
            start = self._lo - count if up else self._hi
            if count == 0 or self._pages is None:
                return
            messages, runs = await anyio.to_thread.run_sync(self._pages.read, start, count)
            if self._moved(generation, up, start, count):
                return
            self._runs.update((r.id, r) for r in runs)
            groups = [self._group(m) for m in messages]
            # A message's own width (the pane's, less its border and padding): rendered at
            # another, it would be rendered again by the layout, in the frame.
            width = next((w.content_width() for w in self.message_widgets() if w.content_width()), 0)
            slices = Slices()  # on the loop: in a thread the render held the GIL against keys
            assumed = 0
            for group in groups:
                for widget in group.widgets:
                    if isinstance(widget, MessageWidget) and width > 0:
                        await widget.render_in_slices(width, slices)
                        assumed += widget.rows(width)
            if self._moved(generation, up, start, count) or not self.is_attached:
                return
            widgets = [w for g in groups for w in g.widgets]
            # From here to the end, nothing awaits: a thread opened (or a jump) in an await
            # would find its window overwritten by this one's spacers.
            with self.app.batch_update():
                if up:
                    if widgets:
                        self.mount_all(widgets, after=self._top)
                    self._groups[:0] = groups
                    self._lo = start
                    # The spacer gives up the rows the new messages take: nothing below moves.
                    left = self._top.rows - assumed
                    if start == 0 or left < 0:
                        self._top.set_rows(heights.total(0, start))
                        self._shift(self._top.rows - left)
                    else:
                        self._top.set_rows(left)
                else:
                    if widgets:
                        self.mount_all(widgets, before=self._bottom)
                    self._groups += groups
                    rest = self._bottom.rows - assumed
                    if self._hi >= len(heights):
                        rest = 0
                    elif rest <= 0:  # the estimate fell short: below the view, nothing moves
                        rest = heights.total(self._hi)
                    self._bottom.set_rows(rest)
                # In the same layout as the mount: one layout a step, not two.
                self._trim_around(round(self.scroll_y))
        finally:
            self._busy = False
            self._schedule_sync()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The pane's workers run unawaited: a failed swap would leave an answer shown as
        # streaming, with nothing in the log to say why.
        if event.state == WorkerState.ERROR:
            log.error("message pane: %s failed", event.worker.name, exc_info=event.worker.error)

    def _moved(self, generation: int, up: bool, start: int, count: int) -> bool:
        """Whether the window changed under a step: another thread or a jump replaced it,
        or a finished answer joined it at the end (the step would mount that one twice)."""
        edge = self._lo == start + count if up else self._hi == start
        return generation != self._generation or not edge

    def _shift(self, rows: int) -> None:
        """Everything below the top spacer moved by `rows`: keep the view on it."""
        if rows and not self.follow:
            self.scroll_to(y=self.scroll_y + rows, animate=False, immediate=True, release_anchor=False)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._schedule_sync()
        if self.follow:
            self._hide_jump()

    def on_resize(self) -> None:
        self._schedule_sync()

    def action_scroll_home(self) -> None:
        self.scroll_to_start()

    def action_scroll_end(self) -> None:
        self.scroll_to_end()

    def scroll_to_start(self) -> None:
        """The thread's first message, at once (not an animation through every message)."""
        if self._lo > 0:
            self._rebuild_at(0)
        self.scroll_to(y=0, animate=False, immediate=True)

    def scroll_to_end(self) -> None:
        if self._hi < len(self._heights):
            self._rebuild_at_end()
        self.scroll_end(animate=False)

    # -- streaming -----------------------------------------------------------

    def live(self) -> LiveAnswer | None:
        return next((c for c in reversed(self.shown()) if isinstance(c, LiveAnswer)), None)

    def _at_end(self) -> bool:
        return self._hi >= len(self._heights)

    def _known(self, message: Message) -> bool:
        """Whether the message already has a position here (else it is new at the end)."""
        return message.id <= self._last_id

    def add_message(self, message: Message, run: Run | None = None) -> None:
        if run is not None:
            self._runs[run.id] = run
        self._remove(*[c for c in self.shown() if c.has_class("welcome")])
        at_end = self._at_end()
        if not self._known(message):
            self._heights.append()
            self._last_id = message.id
        if not at_end:
            self._rebuild_at_end()  # sending a message brings the view back to the bottom
        elif not any(g.message.id == message.id for g in self._groups):
            group = self._group(message)
            self._groups.append(group)
            self.mount_all(group.widgets, before=self._bottom)
        self.anchor()

    def start_live(self, message_id: int, text: str = "") -> LiveAnswer:
        existing = self.live()
        if existing is not None and existing.message_id == message_id:
            return existing
        widget = LiveAnswer(message_id, text)
        self.mount(widget)
        return widget

    def start_thinking(self, message_id: int, text: str = "", answering: bool = False) -> LiveThinking | None:
        """The live answer's thinking, shown above it (None if that answer is not on screen)."""
        live = self.live()
        if live is None or live.message_id != message_id:
            return None
        existing = self.thinking_of(message_id)
        if existing is not None:
            return existing
        widget = LiveThinking(message_id, text, answering)
        live.add_class("-thought")  # no gap between the thinking and its answer
        live.drop_header()
        self.mount(widget, before=live)
        return widget

    def start_tool_call(self, state: ToolCallState) -> ToolCallView | None:
        """An entry for a call of the live answer, above its text (None if that answer
        is not on screen)."""
        live = self.live()
        if live is None or live.message_id != state.message_id:
            return None
        existing = self.tool_call(state.call_id)
        if existing is not None:
            return existing
        view = ToolCallView(state)
        self.mount(view, before=live)
        return view

    def tool_call(self, call_id: str) -> ToolCallView | None:
        return next((c for c in self.shown() if isinstance(c, ToolCallView) and c.call_id == call_id), None)

    def thinking_of(self, message_id: int) -> LiveThinking | None:
        return next(
            (c for c in self.shown() if isinstance(c, LiveThinking) and c.message_id == message_id), None
        )

    def set_prompt_cut(self, cut: PromptCutAt | None) -> None:
        """The answer being generated was sent the messages from `cut` on."""
        self._cut = cut
        stale = [c for c in self.shown() if isinstance(c, PromptCut) and c.cut != cut]
        if stale:
            for group in self._groups:
                group.widgets = [w for w in group.widgets if w not in stale]
            self._remove(*stale)
        shown = any(isinstance(c, PromptCut) and c.cut == cut for c in self.shown())
        target = next((g for g in self._groups if cut is not None and g.message.id == cut[0]), None)
        if cut is not None and target is not None and target.widgets and not shown:
            marker = PromptCut(cut)
            self.mount(marker, before=target.widgets[0])
            target.widgets.insert(0, marker)

    def child_top(self, widget: Widget) -> int | None:
        """Where `widget` starts in the scrolled content, as of the last layout: the
        heights and margins of the children above it, added up as the vertical
        layout does (margins between neighbours collapse to the larger)."""
        y = 0
        bottom: int | None = None
        for child in self.children:
            if not child.display:
                continue
            margin = child.styles.margin
            y += margin.top if bottom is None else max(bottom, margin.top)
            if child is widget:
                return y
            y += child.outer_size.height
            bottom = margin.bottom
        return None

    def keep_still(self, moved: int) -> None:
        """Lines above the view changed height by `moved`: scroll with them, so what
        the reader looks at stays put (following the bottom, the anchor does that)."""
        if self.follow:
            return
        target = self.scroll_y + moved
        # At once, so no frame shows the jump; the height it is checked against is
        # the one before this layout, so a move past its end is finished after it.
        self.scroll_to(y=target, animate=False, immediate=True)
        if self.scroll_y != target:
            self.scroll_to(y=target, animate=False)

    def content_grew(self) -> None:
        """After the live answer grew: the anchor follows it; if released, offer to jump down."""
        if not self.follow:
            self._show_jump()

    def finish_live(self, message: Message, run: Run | None) -> None:
        """Replace the live widget with the finished message.

        The live widget's Markdown parts carry over, so the blocks it rendered
        are not rendered again; those it deferred are rendered in a worker
        thread afterwards. If the stored text differs from what streamed in,
        the message is rendered afresh, off the loop, while the live answer
        stays on screen.
        """
        if run is not None:
            self._runs[run.id] = run
        if not self._known(message):
            self._heights.append()
            self._last_id = message.id
        live = next(
            (w for w in self.shown() if isinstance(w, LiveAnswer) and w.message_id == message.id), None
        )
        body = live.body_parts(message.text) if live is not None else None
        thinking = self.thinking_of(message.id)
        final = MessageWidget(message, run, body, thinking=thinking is not None and thinking.expanded)
        self.run_worker(
            self._swap_in(live, final, rendered=body is not None, thinking=thinking),
            group="finish",
            exit_on_error=False,
        )

    async def _swap_in(
        self,
        live: LiveAnswer | None,
        final: MessageWidget,
        rendered: bool,
        thinking: LiveThinking | None = None,
    ) -> None:
        width = live.content_width() if live is not None else self.size.width - 2
        if width > 0 and not rendered:
            await final.render_off_loop(width)
        if not self.is_attached or (live is not None and live in self._leaving):
            return  # another thread is shown now: it will show this answer from the store
        # One frame shows the swap: the batch holds painting until the new widget is
        # mounted (unawaited, a frame would first show neither change, one more frame later).
        with self.app.batch_update():
            if live is not None and live.is_attached:
                await self.mount(final, after=live)
                self._leaving.add(live)
                await live.remove()
            else:
                await self.mount(final)
            if thinking is not None and thinking.is_attached:  # the final message shows it now
                self._leaving.add(thinking)
                await thinking.remove()
            if final in self._leaving or not final.is_attached:
                return  # a thread was shown meanwhile (this one again, too): it has the answer
            self._adopt_tail(final.message)
        if width > 0 and rendered:
            self.call_after_refresh(self._fill_in, final, width)

    def _adopt_tail(self, message: Message) -> None:
        """The finished answer's widgets, after the lower spacer, join the window as its
        last message; if the window has moved away from the end, they go."""
        bottom = self._bottom
        children = list(self.children)
        tail = [
            c
            for c in children[children.index(bottom) + 1 :]
            if c not in self._leaving and _message_id_of(c) == message.id
        ]
        position = len(self._heights) - 1
        last = self._groups[-1] if self._groups else None
        if last is not None and last.message.id == message.id:
            # A step may have read it from the store meanwhile: the swapped-in widgets stay.
            self._remove(*[w for w in last.widgets if w not in tail])
            last.message, last.widgets = message, tail
        elif self._hi == position:
            self._groups.append(Group(message, tail))
        else:
            self._remove(*tail)  # read from the store again when scrolled to
            return
        self.move_child(bottom, after=children[-1])

    async def replace_widget(self, old: Widget, new: Widget) -> None:
        """Show `new` where `old` is, in its message's place in the window."""
        await self.mount(new, after=old)
        for group in self._groups:
            group.widgets = [new if w is old else w for w in group.widgets]
        self._leaving.add(old)
        await old.remove()

    def _fill_in(self, widget: MessageWidget, width: int) -> None:
        """Render the parts a stream deferred, once the finished answer is on screen."""
        self.run_worker(widget.render_off_loop(width), group="fill-in", exit_on_error=False)

    def remove_message(self, message_id: int) -> None:
        index = next((i for i, g in enumerate(self._groups) if g.message.id == message_id), None)
        calls = [c for c in self.shown() if isinstance(c, ToolCallView) and c.message_id == message_id]
        widgets: list[Widget] = [*calls]
        if index is not None:
            widgets += self._groups.pop(index).widgets
            self._heights.delete(self._lo + index)
        if message_id == self._last_id:  # a retry may store its answer under the same id
            self._last_id = message_id - 1
        widget = self._message_widget(message_id)
        if widget is not None and widget not in widgets:
            widgets.append(widget)
        self._remove(*dict.fromkeys(widgets))

    # -- the jump ------------------------------------------------------------

    def _show_jump(self) -> None:
        if not self._jump_shown:
            self._jump_shown = True
            self.post_message(self.NewBelow(True))

    def _hide_jump(self) -> None:
        if self._jump_shown:
            self._jump_shown = False
            self.post_message(self.NewBelow(False))

    def jump_to_bottom(self) -> None:
        self._hide_jump()
        if not self._at_end():
            self._rebuild_at_end()
        self.anchor()

    def message_widgets(self) -> list[MessageWidget]:
        return [w for w in self.shown() if isinstance(w, MessageWidget)]

    def mounted_positions(self) -> range:
        """The positions in the thread of the mounted messages (0 is the oldest)."""
        return range(self._lo, self._hi)

    def thread_length(self) -> int:
        return len(self._heights)


def estimate_rows(text: str, width: int) -> int:
    """Roughly the rows a message takes at `width`, from its text: its lines, wrapped,
    and a header and a blank row."""
    lines = text.split("\n")
    return 3 + sum(len(line) // width for line in lines) + len(lines)


def _message_id_of(widget: Widget) -> int | None:
    if isinstance(widget, LiveAnswer | LiveThinking):
        return widget.message_id
    if isinstance(widget, ToolCallView | SourcesList):
        return widget.message_id
    message = getattr(widget, "message", None)
    return message.id if isinstance(message, Message) else None
