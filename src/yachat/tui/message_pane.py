"""The thread's messages: history mounted lazily, the live answer at the end.

A long thread opens with only its last page of messages mounted; older ones
are mounted a page at a time as the user scrolls to the top. A very long one
is not even read whole: the pane holds its newest messages and reads older
ones from the store, a page at a time, as they are about to be mounted. The pane follows
the bottom while an answer streams, unless the user has scrolled up: then it
stays put and shows a "new content below" jump.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence

import anyio
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.events import Click
from textual.message import Message as TextualMessage
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from yachat.store.knowledge import Passage
from yachat.store.models import Message, Run
from yachat.tui.block_view import BlockView, Part
from yachat.tui.collector import collect_removed, widgets_removed
from yachat.tui.live_answer import LiveAnswer
from yachat.tui.prompt_cut import PromptCut, PromptCutAt, latest_cut, with_cut
from yachat.tui.render import message_parts
from yachat.tui.slices import Slices
from yachat.tui.sources_view import with_sources
from yachat.tui.textual_compat import anchor_released, clear_style_caches, virtual_size_without_layout
from yachat.tui.thinking import LiveThinking, thinking_parts
from yachat.tui.tool_calls import ToolCallState, ToolCallView, states_of

PAGE = 20
# After widgets are removed, the full garbage collection that frees them waits this long.
COLLECT_AFTER_REMOVAL_S = 0.5
# Reads the `count` messages before message `before_id` from the store, and their runs.
OlderReader = Callable[[int, int], tuple[list[Message], list[Run]]]
WELCOME = Text.assemble(
    ("A new conversation.\n\n", "bold"),
    "Type below and press Enter; Shift+Enter or ctrl+j starts a new line.\n",
    "Esc stops an answer · ctrl+f searches every thread · ctrl+s sets the model and instruction\n",
    "ctrl+p lists every action · F1 lists every key",
    style="dim",
)


class MessageWidget(BlockView, can_focus=True):
    """One finished message, rendered once."""

    BINDINGS = [
        Binding("c", "app.copy_message", "Copy", id="yachat.copy_message"),
        Binding("k", "app.copy_message_code", "Copy code", id="yachat.copy_message_code"),
        Binding("e", "app.edit_message", "Edit & resend", id="yachat.edit_message"),
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

    def on_click(self, event: Click) -> None:
        self.focus()  # c, k and e then act on this message


class OlderMarker(Static):
    pass


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
    MessagePane OlderMarker { color: $text-muted; text-align: center; width: 100%; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.thread_id: int | None = None
        self._messages: list[Message] = []
        self._runs: dict[int, Run] = {}
        self._first_mounted = 0  # index in _messages of the oldest mounted message
        self._unread = 0  # messages older than _messages[0], still in the store only
        self._read_older: OlderReader | None = None
        self._jump_shown = False
        self._loading = False
        self._cut: PromptCutAt | None = None  # where the latest prompt left messages out
        # Children on their way out: Textual removes a widget a few messages after
        # `remove()`, so until then the pane's own lookups skip them. (No pane child
        # has a DOM id either: the next thread's widgets share this parent while the
        # last one's are still in it.)
        self._leaving: weakref.WeakSet[Widget] = weakref.WeakSet()
        self._collect_timer: Timer | None = None

    @property
    def follow(self) -> bool:
        """Whether the pane sticks to the bottom (Textual's anchor, released by a user scroll)."""
        return self.is_anchored and not anchor_released(self)

    # -- showing a thread ------------------------------------------------------

    def show(
        self,
        thread_id: int | None,
        messages: Sequence[Message],
        runs: Sequence[Run],
        focus_message: int | None = None,
        unread: int = 0,
        read_older: OlderReader | None = None,
        sources: Mapping[int, Sequence[Passage]] | None = None,
    ) -> None:
        """`messages`: the thread's newest (or all); `unread` older ones are read with `read_older`."""
        self.thread_id = thread_id
        self._messages = list(messages)
        self._unread = unread if read_older is not None else 0
        self._read_older = read_older
        self._runs = {r.id: r for r in runs}
        self._sources = dict(sources or {})  # run id -> the passages its answer was given
        self._cut = latest_cut(runs)
        start = max(0, len(self._messages) - PAGE)
        if focus_message is not None:
            index = next((i for i, m in enumerate(self._messages) if m.id == focus_message), None)
            if index is not None:
                start = min(start, max(0, index - 2))
        self._first_mounted = start
        with self.app.batch_update():
            self._remove(*self.children)
            widgets: list[Widget] = []
            if start > 0 or self._unread:
                widgets.append(self._older_marker())
            shown = self._widgets_of([m for m in self._messages[start:] if not self._is_live(m)])
            widgets += with_cut(with_sources(shown, self._messages, self._sources), self._cut)
            if thread_id is None:
                widgets.append(Static(WELCOME, classes="welcome"))
            self.mount_all(widgets)
        self._hide_jump()
        if focus_message is not None:
            self.call_after_refresh(self._reveal, focus_message)
        else:
            self.anchor()

    def _remove(self, *widgets: Widget) -> None:
        self._leaving.update(widgets)
        self.remove_children(widgets)
        # Textual's StylesCache.get_inner_outer is an lru_cache on a method: it keeps
        # the style caches of the last 1,024 widgets, every line they painted included,
        # alive after the widgets are gone (measured: the bulk of a long session's
        # growth). Its entries are two Styles each, cheap to make again.
        clear_style_caches()
        messages = sum(isinstance(w, BlockView) for w in widgets)
        if messages:  # the heavy ones: a marker or a prompt-cut line is not worth a full pass
            widgets_removed(messages)
            # A full pass frees them; not in the frame of the change, nor between keys of a burst.
            if self._collect_timer is not None:
                self._collect_timer.stop()
            self._collect_timer = self.set_timer(COLLECT_AFTER_REMOVAL_S, collect_removed)

    def shown(self) -> list[Widget]:
        """The pane's children, less those being removed."""
        leaving = self._leaving
        return [child for child in self.children if child not in leaving]

    def _message_widget(self, message_id: int) -> MessageWidget | None:
        return next(
            (w for w in self.shown() if isinstance(w, MessageWidget) and w.message.id == message_id), None
        )

    def _is_live(self, message: Message) -> bool:
        return message.status == "streaming"

    def _widget(self, message: Message) -> MessageWidget:
        run = self._runs.get(message.run_id) if message.run_id else None
        return MessageWidget(message, run)

    def _widgets_of(self, messages: Sequence[Message]) -> list[Widget]:
        """Each message's widget; an answer that called tools has its calls' entries above it."""
        out: list[Widget] = []
        for message in messages:
            if message.parts:
                out += [ToolCallView(state) for state in states_of(message)]
            out.append(self._widget(message))
        return out

    def _older_marker(self) -> OlderMarker:
        older = self._first_mounted + self._unread
        return OlderMarker(Text(f"↑ {older} older messages — scroll up to load", style="dim"))

    def _reveal(self, message_id: int) -> None:
        widget = self._message_widget(message_id)
        if widget is None:
            return
        self.scroll_to_widget(widget, animate=False, top=True)
        widget.focus()

    # -- lazy history --------------------------------------------------------

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._maybe_load_older()
        if self.follow:
            self._hide_jump()

    def _maybe_load_older(self) -> None:
        # Prefetch older messages while the user is still two screens away from the top.
        more = self._first_mounted > 0 or self._unread > 0
        if more and not self._loading and self.scroll_y <= 2 * self.size.height:
            self._loading = True
            self.run_worker(self.load_older(), group="older", exit_on_error=False)

    async def load_older(self) -> None:
        """Mount the previous page of messages above, rendered first, between keys."""
        handed_over = False  # once keep_place is scheduled, it clears _loading
        try:
            if self._first_mounted == 0 and not await self._read_page():
                return
            start = max(0, self._first_mounted - PAGE)
            batch = self._widgets_of(self._messages[start : self._first_mounted])
            first = next((c for c in self.shown() if isinstance(c, MessageWidget)), None)
            width = first.content_width() if first is not None else 0
            if width > 0:
                slices = Slices()  # on the loop: in a thread the render held the GIL against keys
                for widget in batch:
                    if isinstance(widget, MessageWidget):
                        await widget.render_in_slices(width, slices)
            # Mounting a page holds painting for 15-25 ms; starting right after a frame
            # keeps that out of the way of the next key (paging keys come every 50+ ms).
            painted = anyio.Event()
            self.call_after_refresh(painted.set)
            await painted.wait()
            if not self.is_attached or (first is not None and first in self._leaving):
                return  # another thread is shown now
            self._first_mounted = start
            height_before = self.virtual_size.height
            with self.app.batch_update():
                self._remove(*[c for c in self.shown() if isinstance(c, OlderMarker)])
                page = with_cut(with_sources(batch, self._messages, self._sources), self._cut)
                # Above the first message, and above the prompt-cut line if that is its.
                top = next((c for c in self.shown() if isinstance(c, MessageWidget | PromptCut)), first)
                if top is not None:
                    await self.mount_all(page, before=top)
                else:
                    await self.mount_all(page)
                if start > 0 or self._unread:
                    await self.mount(self._older_marker(), before=page[0])

            def keep_place() -> None:
                # Anchored to the bottom: the anchor keeps the view there. Otherwise
                # keep the messages the user is reading where they were, moved by any
                # key pressed since the page was mounted.
                if not self.follow:
                    grown = self.virtual_size.height - height_before
                    self.scroll_to(y=self.scroll_y + grown, animate=False)
                self._loading = False
                self._maybe_load_older()  # still near the top: keep going

            self.call_after_refresh(keep_place)
            handed_over = True
        finally:
            if not handed_over:
                self._loading = False

    async def _read_page(self) -> bool:
        """Read the page before the oldest message held from the store, off the loop."""
        read, thread_id = self._read_older, self.thread_id
        if read is None or not self._unread or not self._messages:
            return False
        count = min(self._unread, PAGE * 5)
        messages, runs = await anyio.to_thread.run_sync(read, self._messages[0].id, count)
        if self.thread_id != thread_id or self._read_older is not read or not messages:
            return False  # another thread is shown now
        self._messages[:0] = messages
        self._runs.update((r.id, r) for r in runs)
        self._first_mounted += len(messages)
        self._unread = max(0, self._unread - len(messages)) if len(messages) == count else 0
        return True

    # -- streaming -----------------------------------------------------------

    def live(self) -> LiveAnswer | None:
        return next((c for c in reversed(self.shown()) if isinstance(c, LiveAnswer)), None)

    def add_message(self, message: Message, run: Run | None = None) -> None:
        self._messages.append(message)
        if run is not None:
            self._runs[run.id] = run
        self._remove(*[c for c in self.shown() if c.has_class("welcome")])
        self.mount(MessageWidget(message, run))
        self.anchor()  # sending a message brings the view back to the bottom

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
            self._remove(*stale)
        shown = any(isinstance(c, PromptCut) and c.cut == cut for c in self.shown())
        target = self._message_widget(cut[0]) if cut is not None else None
        if cut is not None and target is not None and not shown:
            self.mount(PromptCut(cut), before=target)

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
        self._messages = [m for m in self._messages if m.id != message.id] + [message]
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
        if width > 0 and rendered:
            self.call_after_refresh(self._fill_in, final, width)

    def _fill_in(self, widget: MessageWidget, width: int) -> None:
        """Render the parts a stream deferred, once the finished answer is on screen."""
        self.run_worker(widget.render_off_loop(width), group="fill-in", exit_on_error=False)

    def remove_message(self, message_id: int) -> None:
        self._messages = [m for m in self._messages if m.id != message_id]
        widget = self._message_widget(message_id)
        calls = [c for c in self.shown() if isinstance(c, ToolCallView) and c.message_id == message_id]
        if widget is not None or calls:
            self._remove(*calls, *([widget] if widget is not None else []))

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
        self.anchor()

    def message_widgets(self) -> list[MessageWidget]:
        return [w for w in self.shown() if isinstance(w, MessageWidget)]
