"""The chat screen: the layout (top bar, sidebar, messages, composer, footer), the
thread actions and the search. The app keeps the lifecycle: the backend's
connection, the MCP servers, the exit.

The open thread, the backend's label and the tools' label are reactives: setting
one updates the top bar (and, for the thread, the sidebar's highlight); no caller
refreshes them by hand."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from yachat.core.errors import UserFacingError
from yachat.core.threads import LastAnswerComplete, NoSuchThread, Rerun
from yachat.store import StoreError, ThreadSnapshot
from yachat.text import one_line
from yachat.tui.composer import Composer
from yachat.tui.dialogs import Ask, Confirm
from yachat.tui.footer import FittingFooter
from yachat.tui.message_pane import MessagePane
from yachat.tui.sidebar import PAGE, LoadMore, Sidebar, ThreadList
from yachat.tui.thread_pages import StorePages
from yachat.tui.tool_calls import ToolCallView

if TYPE_CHECKING:
    from yachat.core.chat import ChatCore
    from yachat.tui.runs import RunController

PURGE_EVERY_S = 600
# The sidebar search looks in message text from this many characters (titles from one).
SEARCH_MESSAGES_FROM = 2

log = logging.getLogger(__name__)


class ChatScreen(Screen[None]):
    # always_update: opening the open thread again (after a search, a reorder) highlights it again.
    thread_id: reactive[int | None] = reactive(None, always_update=True, init=False)
    backend_label: reactive[str] = reactive("connecting…", init=False)
    tools_label: reactive[str] = reactive("", init=False)  # the MCP servers' tools; "" without servers

    def __init__(self, core: ChatCore, runs: RunController, first_thread: int | None = None) -> None:
        super().__init__()
        self.core = core
        self.runs = runs
        self._first_thread = first_thread
        self._undo: ThreadSnapshot | None = None

    # -- layout ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="topbar")
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            with Vertical(id="chat"):
                with Vertical(id="conversation"):
                    yield MessagePane(id="pane")
                yield Composer(id="composer")
        yield FittingFooter()

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    @property
    def pane(self) -> MessagePane:
        return self.query_one(MessagePane)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    def on_mount(self) -> None:
        # The search runs as the field's value changes, within the keystroke, and no debounce
        # (over 100,000 messages it takes ~10 ms). Run on Input.Changed instead, it came after
        # the screen had drawn the typed letter, and Textual's frame timer then held the
        # results' frame 17-33 ms more.
        self.watch(self.query_one("#search", Input), "value", self.run_search, init=False)
        self.refresh_threads()
        first = self._first_thread or (self.sidebar.threads[0].id if self.sidebar.threads else None)
        self.open_thread(first)
        self.composer.focus()
        self.call_after_refresh(self._after_first_frame)
        self.set_interval(PURGE_EVERY_S, self._purge_expired)

    def _after_first_frame(self) -> None:
        """The "new content below" jump, hidden until then: a Button, its CSS the largest
        the first frame would parse (~7 ms). On a layer of its own: showing it changes no
        one's layout."""
        jump = Button("↓ new content below", id="jump", compact=True)
        jump.display = False
        self.query_one("#conversation").mount(jump)

    def _purge_expired(self) -> None:
        """Threads whose TTL passed while yachat runs go too, not only at start."""
        purged, open_one_gone = self.core.threads.purge_expired(self.thread_id)
        if open_one_gone:
            self.open_thread(None)
        if purged:
            self.refresh_threads()

    # -- the top bar ---------------------------------------------------------------

    def watch_thread_id(self, thread_id: int | None) -> None:
        if thread_id is not None:
            self.sidebar.highlight(thread_id)
        self.update_topbar()

    def watch_backend_label(self) -> None:
        self.update_topbar()

    def watch_tools_label(self) -> None:
        self.update_topbar()

    def update_topbar(self, width: int | None = None) -> None:
        """yachat, the backend, the assistant and its model: as many of these as fit
        whole (a narrow terminal would cut the line mid-word)."""
        if not self.is_mounted:
            return  # composed later, and filled in then
        text = Text("yachat", style="bold")
        pieces = [Text.assemble("  ", (one_line(self.backend_label, 60), "dim"))]
        try:
            assistant = self.core.assistant_for(self.thread_id)
            pieces.append(Text.assemble("  ·  ", one_line(assistant.name, 30)))
            pieces.append(Text(f" ({one_line(self.core.answering_model(self.thread_id), 40)})", style="dim"))
        except StoreError:
            pass
        if self.tools_label:
            pieces.append(Text(f"  ·  {self.tools_label}", style="dim"))
        room = (width or self.app.size.width) - 2  # the bar's padding
        for piece in pieces:
            if text.cell_len + piece.cell_len > room:
                break
            text.append_text(piece)
        try:
            bar = self.query_one("#topbar", Static)
        except NoMatches:
            return  # an MCP server's news arriving while the app tears the screen down
        bar.update(text)

    def on_resize(self, event: events.Resize) -> None:
        self.update_topbar(event.size.width)
        self.composer.fit_placeholder(event.size.width)

    # -- threads -----------------------------------------------------------------

    def refresh_threads(self) -> None:
        sidebar = self.sidebar
        if sidebar.searching:
            return
        loaded = max(PAGE, len(sidebar.threads))
        sidebar.show_threads(self.core.store.list_threads(limit=loaded), self.core.store.count_threads())

    @on(LoadMore)
    def _load_more(self) -> None:
        sidebar = self.sidebar
        sidebar.append_threads(self.core.store.list_threads(limit=PAGE, offset=len(sidebar.threads)))

    @on(ThreadList.Opened)
    def _opened(self, event: ThreadList.Opened) -> None:
        if self.narrow:
            self.show_sidebar(False)
        self.open_thread(event.thread_id, event.message_id)
        if event.message_id is None:
            self.composer.focus()

    def open_thread(self, thread_id: int | None, message_id: int | None = None) -> None:
        """Show the thread's newest messages (around `message_id`, if given); the pane
        reads the rest from the store by position as the view reaches them."""
        thread = None
        if thread_id is not None:
            try:
                thread = self.core.threads.settled(thread_id)
            except NoSuchThread:
                self.notify("That thread no longer exists.", severity="warning")
        if thread is None:
            self.pane.show(None)
            self.thread_id = None
            return
        thread_id = thread.id
        store = self.core.store
        self.pane.show(
            thread_id, StorePages(store, thread_id), message_id, sources=store.thread_sources(thread_id)
        )
        self.runs.resume_on_screen(thread_id)
        self.thread_id = thread_id  # its watcher: the sidebar's highlight and the top bar

    def action_new_thread(self) -> None:
        self.open_thread(None)
        self.composer.focus()

    @work(exit_on_error=False)
    async def action_rename_thread(self) -> None:
        thread_id = self.sidebar.highlighted_thread() or self.thread_id
        thread = self.core.store.get_thread(thread_id) if thread_id else None
        if thread is None:
            return
        name = await self.app.push_screen_wait(Ask("Rename thread", thread.name, ok="Rename"))
        if name and name.strip():
            with contextlib.suppress(NoSuchThread):  # deleted while the dialog was open
                self.core.threads.rename(thread.id, name)
            self.refresh_threads()

    @work(exit_on_error=False)
    async def action_delete_thread(self) -> None:
        thread_id = self.sidebar.highlighted_thread() or self.thread_id
        thread = self.core.store.get_thread(thread_id) if thread_id else None
        if thread is None:
            return
        if self.runs.streaming(thread.id):
            self.notify("Stop the answer first (Esc), then delete.", severity="warning")
            return
        question = f"Delete “{one_line(thread.name, 50)}” and its messages?"
        if not await self.app.push_screen_wait(Confirm(question)):
            return
        try:
            self._undo = self.core.threads.delete(thread.id)
        except NoSuchThread:  # gone while the question was open (its TTL, another process)
            self.refresh_threads()
            return
        if self.thread_id == thread.id:
            self.open_thread(None)
        self.refresh_threads()
        self.notify("Thread deleted — ctrl+z to undo.", markup=False)

    def action_undo_delete(self) -> None:
        if self._undo is None:
            self.notify("Nothing to undo.")
            return
        snapshot, self._undo = self._undo, None
        try:
            thread = self.core.threads.undo_delete(snapshot)
        except StoreError as exc:
            # E.g. a thread created since took the deleted one's id (found by the random walk).
            log.info("undo delete failed: %s", exc)
            self.notify("The deleted thread could not be restored (details in the log).", severity="error")
            return
        self.refresh_threads()
        self.open_thread(thread.id)
        self.notify("Thread restored.", markup=False)

    # -- sending -------------------------------------------------------------------

    @on(Composer.Submitted)
    def _submitted(self, event: Composer.Submitted) -> None:
        text = event.text
        if not text.strip():
            self.notify("Nothing to send: type a message first.", severity="warning")
            return
        composer = self.composer
        editing = composer.editing_message_id
        thread_id = self.thread_id
        if editing is not None and thread_id is not None:
            thread_id = self.core.threads.fork_for_edit(thread_id, editing).id
            composer.editing_message_id = None
            self.notify("Edited message sent to a new thread; the original is kept.", markup=False)
        elif self.runs.streaming(thread_id):
            self.notify(
                "An answer is still streaming here: Esc stops it. Your message stays in the composer.",
                severity="warning",
                markup=False,
            )
            return
        if thread_id is None:
            thread_id = self.core.new_thread().id
        if thread_id != self.thread_id:
            self.open_thread(thread_id)
        composer.remember(text)
        composer.clear()
        self.runs.start(thread_id, lambda sink, policy: self.core.send(thread_id, text, sink, policy))

    def action_stop_or_back(self) -> None:
        if self.runs.stop(self.thread_id):
            return
        if self.narrow and self.sidebar_shown():
            self.show_sidebar(False)
            return
        if self.composer.editing_message_id is not None:
            self.composer.editing_message_id = None
            self.composer.clear()
            self.notify("Edit cancelled.")
            return
        search = self.query_one("#search", Input)
        if search.has_focus or search.value:
            search.value = ""  # its watcher (run_search) shows the threads again
        self.composer.focus()

    def _rerun(self, how: Rerun) -> None:
        thread_id = self.thread_id
        if thread_id is None or self.runs.streaming(thread_id):
            return
        try:
            replaced = self.core.threads.rerun_target(thread_id, how)
        except LastAnswerComplete:
            self.notify("The last answer is complete: ctrl+g regenerates it.")
            return
        except UserFacingError:  # no message to answer again
            return
        if replaced is not None:
            self.pane.remove_message(replaced.id)
        method = self.core.retry if how == "retry" else self.core.regenerate
        self.runs.start(thread_id, lambda sink, policy: method(thread_id, sink, policy))

    def action_retry(self) -> None:
        self._rerun("retry")

    def action_regenerate(self) -> None:
        self._rerun("regenerate")

    # -- search, sidebar -------------------------------------------------------------

    def action_search(self) -> None:
        self.show_sidebar(True)
        self.query_one("#search", Input).focus()

    def run_search(self, query: str) -> None:
        if not query.strip():
            self.sidebar.searching = False
            self.refresh_threads()
            return
        store = self.core.store
        # One letter is a prefix of most of the index: over 100,000 messages its search took
        # 50-110 ms, in the keystroke. Titles match from one letter, messages from two (4-7 ms).
        hits = store.search(query, 30) if len(query.strip()) >= SEARCH_MESSAGES_FROM else None
        self.sidebar.show_results(store.search_threads_by_name(query, 20), hits)

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self.sidebar.option_list.focus()

    @property
    def narrow(self) -> bool:
        return self.has_class("-narrow")

    def sidebar_shown(self) -> bool:
        sidebar = self.sidebar
        return sidebar.has_class("-shown") if self.narrow else not sidebar.has_class("-hidden")

    def show_sidebar(self, shown: bool) -> None:
        """Wide, the sidebar sits beside the conversation; narrow, over it."""
        sidebar = self.sidebar
        if self.narrow:
            sidebar.set_class(shown, "-shown")
            if shown:
                sidebar.option_list.focus()
        else:
            sidebar.set_class(not shown, "-hidden")
        if not shown and sidebar.has_focus_within:
            self.composer.focus()  # keys must not go on to a list no one sees

    def action_toggle_sidebar(self) -> None:
        self.show_sidebar(not self.sidebar_shown())

    def action_focus_composer(self) -> None:
        self.composer.focus()

    # -- the pane's messages ---------------------------------------------------------

    @on(ToolCallView.Decided)
    def _tool_decided(self, event: ToolCallView.Decided) -> None:
        self.runs.decide(event.call_id, event.decision)

    @on(MessagePane.NewBelow)
    def _new_below(self, event: MessagePane.NewBelow) -> None:
        self.query_one("#jump").display = event.visible

    @on(Button.Pressed, "#jump")
    def _jump(self) -> None:
        self.pane.jump_to_bottom()
