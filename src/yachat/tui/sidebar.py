"""The thread history: every thread, most recently active first, grouped by
day, with a search field over titles and message text.

An OptionList (one widget for all rows) keeps thousands of threads instant;
threads load a page at a time as the highlight nears the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content, Span
from textual.css.styles import RulesMap
from textual.message import Message as TextualMessage
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from yachat.store.models import SearchHit, Thread
from yachat.text import one_line, strip_controls
from yachat.tui.render import day_label

PAGE = 300
MORE_ID = "more"


# Prompts are Textual Content (styled spans over plain text, never markup): the list
# would convert Rich Text into it for every option shown, ~1.5 ms of a search's 50.
_BOLD = Style(bold=True)
_HEADING = Style(bold=True, dim=True)
_DIM = Style(dim=True)
_MATCH = Style(bold=True, reverse=True)


def _styled(text: str, style: Style) -> Content:
    return Content(text, [Span(0, len(text), style)])


class Hanging(Visual):
    """Paragraphs, each after its marker (a bullet, or blanks), its wrapped lines
    indented under its first, as a list item's are."""

    def __init__(self, *paragraphs: tuple[Content, Content]) -> None:
        self.paragraphs = paragraphs

    @property
    def content(self) -> Content:
        """All of it as one Content, a line per paragraph (as it reads unwrapped)."""
        return Content("\n").join(marker + text for marker, text in self.paragraphs)

    def __str__(self) -> str:
        return self.content.plain

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return max(
            marker.cell_length + text.get_optimal_width(rules, container_width - marker.cell_length)
            for marker, text in self.paragraphs
        )

    def get_height(self, rules: RulesMap, width: int) -> int:
        return sum(
            text.get_height(rules, max(1, width - marker.cell_length)) for marker, text in self.paragraphs
        )

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        out: list[Strip] = []
        for marker, text in self.paragraphs:
            indent = marker.cell_length
            if width - indent <= 0:
                continue
            lines = text.render_strips(width - indent, None, style, options)
            if not indent:
                out += lines
                continue
            first = marker.render_strips(indent, 1, style, options)
            blank = Strip.blank(indent, style.rich_style)
            heads = ([first[0] if first else blank] + [blank] * (len(lines) - 1))[: len(lines)]
            out += [Strip.join([head, line]) for head, line in zip(heads, lines, strict=True)]
        return out if height is None else out[:height]


def _thread_prompt(thread: Thread, streaming: bool) -> Hanging:
    """The title after two cells that show ● while the thread's answer streams."""
    title = one_line(thread.name, 200) or "(untitled)"
    if streaming:
        return Hanging((_styled("● ", _BOLD), _styled(title, _BOLD)))
    return Hanging((Content("  "), Content(title)))


def _hit_prompt(hit: SearchHit) -> Hanging:
    """The thread's title (bold), then under it the matching snippet (dim) with the
    match emphasised, its wrapped lines indented under its first."""
    text, spans = "", []
    # The markers are control characters too: split on them before cleaning.
    for i, piece in enumerate(hit.snippet.replace("\x03", "\x02").split("\x02")):
        piece = strip_controls(piece).replace("\n", " ")
        if piece:
            spans.append(Span(len(text), len(text) + len(piece), _MATCH if i % 2 else _DIM))
            text += piece
    return Hanging(
        (Content(""), _styled(one_line(hit.thread_name, 60), _BOLD)),
        (Content("  "), Content(text, [Span(0, len(text), _BOLD), *spans])),
    )


class ThreadList(OptionList):
    BINDINGS = [
        Binding("delete,d", "app.delete_thread", "Delete", id="yachat.delete_thread"),
        Binding("f2,r", "app.rename_thread", "Rename", id="yachat.rename_thread"),
    ]

    class Opened(TextualMessage):
        def __init__(self, thread_id: int, message_id: int | None = None) -> None:
            super().__init__()
            self.thread_id = thread_id
            self.message_id = message_id

    # Textual's OptionList computes its lines only while it has a region on screen;
    # paging it before its first layout, or while hidden, raises KeyError (Textual 8.2).
    def action_page_up(self) -> None:
        if self.scrollable_content_region:
            super().action_page_up()

    def action_page_down(self) -> None:
        if self.scrollable_content_region:
            super().action_page_down()


class Sidebar(Vertical):
    DEFAULT_CSS = """
    Sidebar { width: 34; height: 1fr; border-right: vkey $foreground 15%; }
    Sidebar > Input { margin: 0 0 1 0; }
    Sidebar > ThreadList { height: 1fr; border: none; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.threads: list[Thread] = []
        self.total = 0
        self.streaming: set[int] = set()
        self.active: int | None = None
        self.searching = False

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Search threads and messages", id="search")
        yield ThreadList(id="threads")

    @property
    def option_list(self) -> ThreadList:
        return self.query_one(ThreadList)

    # -- threads ---------------------------------------------------------------

    def show_threads(self, threads: Sequence[Thread], total: int) -> None:
        self.threads = list(threads)
        self.total = total
        self.searching = False
        self._render_threads()

    def append_threads(self, threads: Sequence[Thread]) -> None:
        self.threads += threads
        self._render_threads(keep_highlight=True)

    def _render_threads(self, keep_highlight: bool = False) -> None:
        ol = self.option_list
        highlighted = ol.highlighted
        options: list[Option | None] = []
        current_day = None
        for thread in self.threads:
            day = day_label(thread.updated_at)
            if day != current_day:
                current_day = day
                options.append(Option(_styled(day, _HEADING), disabled=True))
            options.append(Option(_thread_prompt(thread, thread.id in self.streaming), id=f"t{thread.id}"))
        if len(self.threads) < self.total:
            more = self.total - len(self.threads)
            options.append(Option(_styled(f"… {more} more", _DIM), id=MORE_ID))
        with self.app.batch_update():
            ol.clear_options()
            ol.add_options(options)
            if keep_highlight and highlighted is not None:
                ol.highlighted = min(highlighted, ol.option_count - 1)
            elif self.active is not None:
                self.highlight(self.active)

    def highlight(self, thread_id: int) -> None:
        self.active = thread_id
        ol = self.option_list
        with contextlib.suppress(Exception):
            ol.highlighted = ol.get_option_index(f"t{thread_id}")

    def set_streaming(self, thread_id: int, streaming: bool) -> None:
        if streaming:
            self.streaming.add(thread_id)
        else:
            self.streaming.discard(thread_id)
        thread = next((t for t in self.threads if t.id == thread_id), None)
        if thread is not None and not self.searching:
            with contextlib.suppress(Exception):
                self.option_list.replace_option_prompt(f"t{thread_id}", _thread_prompt(thread, streaming))

    # -- search ----------------------------------------------------------------

    def show_results(self, titles: Sequence[Thread], hits: Sequence[SearchHit] | None) -> None:
        """`hits` is None when the messages were not searched (the query is too short)."""
        self.searching = True
        options: list[Option | None] = []
        if titles:
            options.append(Option(_styled("Threads", _HEADING), disabled=True))
            options += [Option(_thread_prompt(t, t.id in self.streaming), id=f"t{t.id}") for t in titles]
        if hits:
            options.append(Option(_styled("Messages", _HEADING), disabled=True))
            options += [Option(_hit_prompt(h), id=f"h{h.thread_id}:{h.message_id}") for h in hits]
        if hits is None:
            options.append(Option(_styled("Messages: type one more letter", _DIM), disabled=True))
        elif not options:
            options.append(Option(_styled("No matches", _DIM), disabled=True))
        ol = self.option_list
        with self.app.batch_update():
            ol.clear_options()
            ol.add_options(options)

    @on(OptionList.OptionSelected, "#threads")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id == MORE_ID:
            self.post_message(LoadMore())
        elif option_id.startswith("t"):
            self.post_message(ThreadList.Opened(int(option_id[1:])))
        elif option_id.startswith("h"):
            thread_id, message_id = option_id[1:].split(":")
            self.post_message(ThreadList.Opened(int(thread_id), int(message_id)))

    @on(OptionList.OptionHighlighted, "#threads")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id == MORE_ID:
            self.post_message(LoadMore())

    def highlighted_thread(self) -> int | None:
        ol = self.option_list
        if ol.highlighted is None:
            return None
        option_id = ol.get_option_at_index(ol.highlighted).id or ""
        if option_id.startswith("t"):
            return int(option_id[1:])
        if option_id.startswith("h"):
            return int(option_id[1:].split(":")[0])
        return None


class LoadMore(TextualMessage):
    """The user reached the end of the loaded threads."""
