"""The yachat TUI: thread history, the live message pane, the composer.

Thin on purpose: everything it does goes through the chat core and the
store's methods; no SDK, gRPC or SQL here.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from rich.console import Console
from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from yachat.core.chat import ChatCore
from yachat.core.errors import UserFacingError
from yachat.core.exit_signals import GUARD, QUIT_DEADLINE_S, exit_code, on_exit_signals
from yachat.core.retrieval import EMBED_INLINE_AT_MOST
from yachat.logs import route_loop_errors
from yachat.settings import ConfigError, Settings, save_setting
from yachat.store import Store, StoreError, ThreadSnapshot
from yachat.text import one_line
from yachat.tui.actions import MessageActions
from yachat.tui.commands import YachatCommands
from yachat.tui.composer import Composer
from yachat.tui.dialogs import Ask, Confirm
from yachat.tui.footer import FittingFooter
from yachat.tui.message_pane import MessagePane
from yachat.tui.render import warm_up
from yachat.tui.runs import RunController
from yachat.tui.sidebar import PAGE, LoadMore, Sidebar, ThreadList
from yachat.tui.textual_compat import AppWithErrorHook
from yachat.tui.thread_pages import StorePages
from yachat.tui.tool_calls import ToolCallView

if TYPE_CHECKING:
    from yachat.core.tools.mcp_hub import McpHub

PURGE_EVERY_S = 600
# Below this many columns the sidebar would leave the conversation too narrow: it
# hides, and ctrl+b shows it over the conversation.
NARROW_BELOW = 100
# The sidebar search looks in message text from this many characters (titles from one).
SEARCH_MESSAGES_FROM = 2

log = logging.getLogger(__name__)
# The objects of start-up are frozen out of garbage collection once the first frames are out.
FREEZE_AFTER_START_S = 1.0


def tune_gc() -> None:
    """Keep full garbage collections out of the way of typing and painting.

    Measured here: during a long stream, generation-2 collections paused the
    loop 40-100 ms each (the spikes in keypress latency). Young generations are
    collected less often; the objects alive at start-up (Textual, Rich, gRPC,
    the SDK) never die, so once the first frame is out (`freeze_start_up`: the
    pass takes ~25 ms) they are frozen out of the collector's scans.
    """
    gc.set_threshold(20_000, 50, 100)


def freeze_start_up() -> None:
    """Collect, then freeze what is left out of the collector's later scans."""
    gc.collect()
    gc.freeze()


class YachatApp(AppWithErrorHook[None], MessageActions):
    CSS_PATH = Path(__file__).with_name("styles.tcss")  # absolute: subclasses live elsewhere
    TITLE = "yachat"
    COMMANDS = App.COMMANDS | {YachatCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_BELOW, "-wide")]
    # Most used first: a narrow footer shows the first ones that fit.
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="yachat.quit", priority=True),
        Binding("ctrl+n", "new_thread", "New", id="yachat.new_thread"),
        Binding("escape", "stop_or_back", "Stop", id="yachat.stop"),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar", id="yachat.toggle_sidebar"),
        Binding("ctrl+f", "search", "Search", id="yachat.search"),
        Binding("ctrl+s", "settings", "Settings", id="yachat.settings"),
        # Function keys: the composer (a TextArea) takes most ctrl+letters, and f6/f7.
        Binding("f4", "pick_model", "Model", tooltip="Pick the model", id="yachat.pick_model"),
        Binding("f9", "knowledge", "Knowledge", show=False, id="yachat.knowledge"),
        Binding(
            "f8", "toggle_thinking", "Fold/unfold the last thinking", show=False, id="yachat.toggle_thinking"
        ),
        Binding("f1", "help", "Help", id="yachat.help"),
        Binding("ctrl+r", "retry", "Retry", id="yachat.retry"),
        Binding("ctrl+g", "regenerate", "Regenerate", id="yachat.regenerate"),
        # Not ctrl+y/e/z/k: the composer (a TextArea) uses those for redo, line end, undo, kill.
        Binding("ctrl+o", "copy_last_answer", "Copy answer", id="yachat.copy_answer"),
        Binding("ctrl+t", "copy_last_code", "Copy code", show=False, id="yachat.copy_code"),
        Binding("f3", "export", "Export", show=False, id="yachat.export"),
        Binding("ctrl+z", "undo_delete", "Undo delete", show=False, id="yachat.undo"),
        Binding("ctrl+l", "focus_composer", "Composer", show=False, id="yachat.focus_composer"),
        # A terminal garbled by another program's output: paint every cell again.
        Binding("f5", "redraw", "Redraw", show=False, id="yachat.redraw"),
    ]

    def __init__(self, core: ChatCore, thread_id: int | None = None) -> None:
        super().__init__()
        self.core = core
        self.settings: Settings = core.settings
        self.thread_id: int | None = None
        self._first_thread = thread_id
        self.runs = RunController(self)
        self._undo: ThreadSnapshot | None = None
        self._backend_label = "connecting…"
        self._signals = contextlib.ExitStack()
        self.crashed = False  # an unexpected error ended the app: its traceback is in the log
        self.mcp: McpHub | None = None  # the MCP servers, once started
        self._told_failed: set[str] = set()

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

    def on_mount(self) -> None:
        route_loop_errors()
        # SIGTERM, SIGHUP (the terminal closed) and SIGINT quit as ctrl+q does: the
        # streaming answer is kept and marked, the store closed; the exit code says which.
        self._signals.enter_context(on_exit_signals(lambda signum: self.exit(return_code=exit_code(signum))))
        tune_gc()
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))
        if self.settings.theme and self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self.watch(self, "theme", self._save_theme, init=False)
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
        """What the first frame does not show waits for it: connecting (it loads
        the SDK, ~0.3 s), the start-up collection (~25 ms), and the "new content
        below" jump, hidden until then (a Button: its CSS, the largest the first
        frame would parse, took ~7 ms)."""
        # On a layer of its own: showing it changes no one's layout.
        jump = Button("↓ new content below", id="jump", compact=True)
        jump.display = False
        self.query_one("#conversation").mount(jump)
        freeze_start_up()
        self.set_timer(FREEZE_AFTER_START_S, self._freeze_settled)
        self._connect()
        self._start_tool_servers()

    def _start_tool_servers(self) -> None:
        """The configured MCP servers, in the background: their tools are offered once ready."""
        servers = self.settings.mcp_servers
        if not any(config.enabled for config in servers.values()):
            return
        from yachat.core.tools.mcp_hub import McpHub  # ~0.1 s, and `mcp` itself off the loop

        self.mcp = McpHub(servers, on_change=self._tool_servers_changed)
        self.core.tool_providers.append(self.mcp)
        # On this loop, not in a thread: a stdio server is told to end when the thread that
        # started it ends (the launcher's parent-death signal).
        self.run_worker(self.mcp.run(), group="mcp", exit_on_error=False)

    def _tools_label(self) -> str:
        """What the MCP servers offer now: their tools, or that they are starting."""
        assert self.mcp is not None
        states = self.mcp.states()
        tools = len(self.mcp.tools())
        starting = sum(s.state == "starting" for s in states)
        failed = sum(s.state == "failed" for s in states)
        label = f"{tools} tool{'s' if tools != 1 else ''}"
        if starting:
            label += f", {starting} MCP server{'s' if starting != 1 else ''} starting"
        if failed:
            label += f", {failed} failed"
        return label

    def _tool_servers_changed(self) -> None:
        if self.mcp is None:
            return
        self.update_topbar()
        for state in self.mcp.states():
            if state.state == "failed" and state.name not in self._told_failed:
                self._told_failed.add(state.name)
                self.notify(
                    f"MCP server {state.name} failed: {state.detail}",
                    severity="warning",
                    markup=False,
                    timeout=12,
                )

    def _purge_expired(self) -> None:
        """Threads whose TTL passed while yachat runs go too, not only at start."""
        if self.core.store.purge_expired():
            if self.thread_id is not None and self.core.store.get_thread(self.thread_id) is None:
                self.open_thread(None)
            self.refresh_threads()

    @work(exit_on_error=False)
    async def _connect(self) -> None:
        def status(line: str) -> None:
            self._backend_label = line
            self.update_topbar()

        try:
            backend = await self.core.connect(on_status=status)
        except UserFacingError as exc:
            self._backend_label = "not connected"
            self.update_topbar()
            self.notify(exc.message, severity="error", markup=False, timeout=15)
            return
        self._backend_label = backend.description
        await self.core.learn_served_model()
        self.update_topbar()
        await anyio.to_thread.run_sync(warm_up)
        await self._tell_of_passages_without_vectors()

    async def _tell_of_passages_without_vectors(self) -> None:
        """Knowledge indexed by words only (offline, --words-only, or for another backend's
        embeddings) is embedded when the user says so: it can take long on the local model."""
        try:
            missing = await self.core.vectors_missing()
        except Exception as exc:  # the answers still find passages by their words
            log.warning("could not check the knowledge's vectors: %s", exc)
            return
        if missing > EMBED_INLINE_AT_MOST:
            self.notify(
                f"{missing:,} passages of your knowledge have no vectors from this backend's embeddings, "
                "so answers find them by their words only; Reindex in the knowledge screen (F9) "
                "or `yachat kb reindex` embeds them.",
                timeout=12,
                markup=False,
            )

    def update_topbar(self, width: int | None = None) -> None:
        """yachat, the backend, the assistant and its model: as many of these as fit
        whole (a narrow terminal would cut the line mid-word)."""
        text = Text("yachat", style="bold")
        pieces = [Text.assemble("  ", (one_line(self._backend_label, 60), "dim"))]
        try:
            assistant = self.core.assistant_for(self.thread_id)
            pieces.append(Text.assemble("  ·  ", one_line(assistant.name, 30)))
            pieces.append(Text(f" ({one_line(self.core.answering_model(self.thread_id), 40)})", style="dim"))
        except StoreError:
            pass
        if self.mcp is not None:
            pieces.append(Text(f"  ·  {self._tools_label()}", style="dim"))
        room = (width or self.size.width) - 2  # the bar's padding
        for piece in pieces:
            if text.cell_len + piece.cell_len > room:
                break
            text.append_text(piece)
        self.query_one("#topbar", Static).update(text)

    def _freeze_settled(self) -> None:
        """Freeze what the first frames made as well (the layout, the styles, the
        compositor's caches): ~56,000 objects, most of what a full collection would
        otherwise scan each time (measured: a pass after an answer 54-65 ms). A
        frozen object is never collected: the few that die later (the first thread's
        widgets, once another is opened) stay, a one-time cost of a few MB."""
        if not gc.isenabled():  # an answer is streaming: not in its way
            self.set_timer(FREEZE_AFTER_START_S, self._freeze_settled)
            return
        freeze_start_up()

    def on_resize(self, event: events.Resize) -> None:
        self.update_topbar(event.size.width)
        self.composer.fit_placeholder(event.size.width)

    async def on_unmount(self) -> None:
        GUARD.begin(self.return_code or 0, within=QUIT_DEADLINE_S)  # however it hangs, it ends
        # Quitting mid-stream (or on a signal, or after an unexpected error): each answer
        # is stopped and stored with what arrived, marked as stopped, before the store closes.
        await self.runs.settle()
        gc.enable()  # the run controller paused collection while answers streamed
        if self.mcp is not None:
            await self.mcp.aclose()
        await self.core.aclose()
        self._signals.close()  # only now: a hangup's second SIGHUP must not kill mid-settle

    def get_driver_class(self) -> type[Driver]:
        from yachat.tui.terminal_driver import driver_for  # safe on a terminal that goes away

        return driver_for(super().get_driver_class())

    def unhandled_error(self, error: Exception) -> None:
        # The traceback goes to the log; run_tui prints one line naming it.
        log.error("unexpected error in the TUI", exc_info=error)
        self.crashed = True

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
        store = self.core.store
        if thread_id is not None and store.get_thread(thread_id) is None:
            self.notify("That thread no longer exists.", severity="warning")
            thread_id = None
        self.thread_id = thread_id
        if thread_id is None:
            self.pane.show(None)
        else:
            self._show_thread(thread_id, message_id)
            self.runs.resume_on_screen(thread_id)
            self.sidebar.highlight(thread_id)
        self.update_topbar()

    def _show_thread(self, thread_id: int, message_id: int | None) -> None:
        """Show the thread's newest messages (around `message_id`, if given); the pane
        reads the rest from the store by position as the view reaches them."""
        store = self.core.store
        store.settle_dead_runs(thread_id)
        pages = StorePages(store, thread_id)
        self.pane.show(thread_id, pages, message_id, sources=store.thread_sources(thread_id))

    def action_new_thread(self) -> None:
        self.open_thread(None)
        self.composer.focus()

    @work(exit_on_error=False)
    async def action_rename_thread(self) -> None:
        thread_id = self.sidebar.highlighted_thread() or self.thread_id
        thread = self.core.store.get_thread(thread_id) if thread_id else None
        if thread is None:
            return
        name = await self.push_screen_wait(Ask("Rename thread", thread.name, ok="Rename"))
        if name and name.strip():
            self.core.store.rename_thread(thread.id, name.strip())
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
        if not await self.push_screen_wait(Confirm(question)):
            return
        self._undo = self.core.store.snapshot_thread(thread.id)
        self.core.store.delete_thread(thread.id)
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
            thread = self.core.store.restore_thread(snapshot)
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
            thread_id = self.core.fork_for_edit(thread_id, editing).id
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

    def _rerun(self, how: str) -> None:
        thread_id = self.thread_id
        if thread_id is None or self.runs.streaming(thread_id):
            return
        last = self.core.store.last_message(thread_id)
        if last is None:
            return
        if how == "retry" and last.role == "assistant" and last.status == "complete":
            self.notify("The last answer is complete: ctrl+g regenerates it.")
            return
        if last.role == "assistant":
            self.pane.remove_message(last.id)
        method = self.core.retry if how == "retry" else self.core.regenerate
        self.runs.start(thread_id, lambda sink, policy: method(thread_id, sink, policy))

    def action_retry(self) -> None:
        self._rerun("retry")

    def action_regenerate(self) -> None:
        self._rerun("regenerate")

    # -- search, sidebar, settings, export ------------------------------------------------

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
        return self.screen.has_class("-narrow")

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

    def action_redraw(self) -> None:
        self.screen.refresh(repaint=True)

    def action_focus_composer(self) -> None:
        self.composer.focus()

    # -- what the run controller needs (tui.runs.RunHost) ---------------------------------

    @property
    def store(self) -> Store:
        return self.core.store

    def set_streaming(self, thread_id: int, streaming: bool) -> None:
        self.sidebar.set_streaming(thread_id, streaming)

    def ask_attention(self, message: str) -> None:
        """A tool call waits for the user: the terminal's bell, and a note if they look away."""
        self.bell()
        if not self.app_focus:
            self.notify(message, title="yachat", markup=False, timeout=30)

    def return_focus(self, widget: Widget) -> None:
        if widget.has_focus:
            self.composer.focus()

    @on(ToolCallView.Decided)
    def _tool_decided(self, event: ToolCallView.Decided) -> None:
        self.runs.decide(event.call_id, event.decision)

    @on(MessagePane.NewBelow)
    def _new_below(self, event: MessagePane.NewBelow) -> None:
        self.query_one("#jump").display = event.visible

    @on(Button.Pressed, "#jump")
    def _jump(self) -> None:
        self.pane.jump_to_bottom()

    def _save_theme(self, theme: str) -> None:
        try:
            save_setting(self.settings.config_path, "theme", theme)
        except (ConfigError, OSError) as exc:
            self.notify(f"Theme not saved: {exc}", severity="warning", markup=False)


def run_tui(settings: Settings, thread_id: int | None = None) -> int:
    import sys

    from yachat.logs import setup_logging

    log_path = setup_logging()
    try:
        core = ChatCore.open_store(settings)
    except StoreError as exc:
        print(f"yachat: {exc}", file=sys.stderr)
        return 1
    app = YachatApp(core, thread_id)
    if log_path is not None:
        # Textual prints an unhandled error's traceback once the terminal is restored;
        # it is in the log already, so the terminal gets one line instead (below).
        app.error_console = Console(file=io.StringIO())
    with GUARD.guarding(core.store):
        app.run()
    if app.crashed:
        where = f"the details are in {log_path}" if log_path else "no log file could be written"
        print(f"yachat stopped on an unexpected error; your messages are saved; {where}", file=sys.stderr)
        return 70  # EX_SOFTWARE
    return app.return_code or 0
