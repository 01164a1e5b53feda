"""Every binding, in one place (F1)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from yachat.tui.composer import Composer
from yachat.tui.dialogs import AnsweredOnce
from yachat.tui.message_pane import MessageWidget
from yachat.tui.sidebar import ThreadList
from yachat.tui.textual_compat import keymap_of

EXTRA = [
    ("enter", "Send the message", "composer"),
    ("up", "Recall the last message (empty composer)", "composer"),
    ("ctrl+p", "Command palette: every action", "anywhere"),
]


class HelpScreen(AnsweredOnce[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 110; height: 85%; border: thick $primary; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, app: App[None]) -> None:
        super().__init__()
        self._source = app

    def compose(self) -> ComposeResult:
        title = Text("yachat keys — remap any of them by id under [keymap] in the config file")
        table = Table(title=title, expand=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("does")
        table.add_column("where", style="dim")
        table.add_column("id", style="dim", no_wrap=True)
        keymap = keymap_of(self._source)
        for where, bindings in (
            ("anywhere", self._source.BINDINGS),
            ("thread list", ThreadList.BINDINGS),
            ("a focused message", MessageWidget.BINDINGS),
            ("composer", Composer.BINDINGS),
        ):
            for binding in bindings:
                if not isinstance(binding, Binding):
                    continue
                keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
                table.add_row(
                    Text(keys), Text(binding.description or binding.action), where, binding.id or ""
                )
        for keys, does, where in EXTRA:
            table.add_row(keys, does, where, "")
        with VerticalScroll():
            yield Static(table)
