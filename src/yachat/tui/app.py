"""The yachat TUI's app: its lifecycle (the backend's connection, the MCP servers,
the exit, the terminal), the keys and the actions that open dialogs. The chat
screen (`chat_screen.py`) holds the layout, the threads and the search.

Thin on purpose: everything it does goes through the chat core; no SDK, gRPC or
SQL here.
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
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.driver import Driver
from textual.widget import Widget

from yachat.core.chat import ChatCore
from yachat.core.errors import UserFacingError
from yachat.core.exit_signals import GUARD, QUIT_DEADLINE_S, exit_code, on_exit_signals
from yachat.core.retrieval import EMBED_INLINE_AT_MOST
from yachat.logs import route_loop_errors
from yachat.settings import ConfigError, Settings, save_setting
from yachat.store import Store, StoreError
from yachat.tui.actions import MessageActions
from yachat.tui.chat_screen import ChatScreen
from yachat.tui.commands import YachatCommands
from yachat.tui.render import warm_up
from yachat.tui.runs import RunController
from yachat.tui.sidebar import Sidebar
from yachat.tui.textual_compat import AppWithErrorHook

if TYPE_CHECKING:
    from yachat.core.tools.mcp_hub import McpHub

# Below this many columns the sidebar would leave the conversation too narrow: it
# hides, and ctrl+b shows it over the conversation.
NARROW_BELOW = 100
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
        Binding("ctrl+n", "screen.new_thread", "New", id="yachat.new_thread"),
        Binding("escape", "screen.stop_or_back", "Stop", id="yachat.stop"),
        Binding("ctrl+b", "screen.toggle_sidebar", "Sidebar", id="yachat.toggle_sidebar"),
        Binding("ctrl+f", "screen.search", "Search", id="yachat.search"),
        Binding("ctrl+s", "settings", "Settings", id="yachat.settings"),
        # Function keys: the composer (a TextArea) takes most ctrl+letters, and f6/f7.
        Binding("f4", "pick_model", "Model", tooltip="Pick the model", id="yachat.pick_model"),
        Binding("f9", "knowledge", "Knowledge", show=False, id="yachat.knowledge"),
        Binding(
            "f8", "toggle_thinking", "Fold/unfold the last thinking", show=False, id="yachat.toggle_thinking"
        ),
        Binding("f1", "help", "Help", id="yachat.help"),
        Binding("ctrl+r", "screen.retry", "Retry", id="yachat.retry"),
        Binding("ctrl+g", "screen.regenerate", "Regenerate", id="yachat.regenerate"),
        # Not ctrl+y/e/z/k: the composer (a TextArea) uses those for redo, line end, undo, kill.
        Binding("ctrl+o", "copy_last_answer", "Copy answer", id="yachat.copy_answer"),
        Binding("ctrl+t", "copy_last_code", "Copy code", show=False, id="yachat.copy_code"),
        Binding("f3", "export", "Export", show=False, id="yachat.export"),
        Binding("ctrl+z", "screen.undo_delete", "Undo delete", show=False, id="yachat.undo"),
        Binding("ctrl+l", "screen.focus_composer", "Composer", show=False, id="yachat.focus_composer"),
        # A terminal garbled by another program's output: paint every cell again.
        Binding("f5", "redraw", "Redraw", show=False, id="yachat.redraw"),
    ]

    def __init__(self, core: ChatCore, thread_id: int | None = None) -> None:
        super().__init__()
        self.core = core
        self.settings: Settings = core.settings
        self.runs = RunController(self)
        self.chat = ChatScreen(core, self.runs, thread_id)
        self._signals = contextlib.ExitStack()
        self.crashed = False  # an unexpected error ended the app: its traceback is in the log
        self.mcp: McpHub | None = None  # the MCP servers, once started
        self._told_failed: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------

    def get_default_screen(self) -> ChatScreen:
        return self.chat

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
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        """What the first frame does not show waits for it: connecting (it loads
        the SDK, ~0.3 s) and the start-up collection (~25 ms)."""
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
        self.chat.tools_label = self._tools_label()
        for state in self.mcp.states():
            if state.state == "failed" and state.name not in self._told_failed:
                self._told_failed.add(state.name)
                self.notify(
                    f"MCP server {state.name} failed: {state.detail}",
                    severity="warning",
                    markup=False,
                    timeout=12,
                )

    @work(exit_on_error=False)
    async def _connect(self) -> None:
        def status(line: str) -> None:
            self.chat.backend_label = line

        try:
            backend = await self.core.connect(on_status=status)
        except UserFacingError as exc:
            self.chat.backend_label = "not connected"
            self.notify(exc.message, severity="error", markup=False, timeout=15)
            return
        await self.core.learn_served_model()  # the top bar names the model that answers
        self.chat.backend_label = backend.description
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

    def action_redraw(self) -> None:
        self.screen.refresh(repaint=True)

    # -- the chat screen's state, as the run controller, the actions and the tests read it --

    @property
    def thread_id(self) -> int | None:
        return self.chat.thread_id

    @property
    def sidebar(self) -> Sidebar:
        return self.chat.sidebar

    @property
    def narrow(self) -> bool:
        return self.chat.narrow

    def open_thread(self, thread_id: int | None, message_id: int | None = None) -> None:
        self.chat.open_thread(thread_id, message_id)

    def refresh_threads(self) -> None:
        self.chat.refresh_threads()

    def update_topbar(self) -> None:
        """The assistant or its model changed (settings, the model picker)."""
        self.chat.update_topbar()

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
