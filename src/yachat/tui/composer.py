"""Where the user writes: Enter sends, Shift+Enter or ctrl+j breaks the line,
Up in an empty composer recalls the last message."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message as TextualMessage
from textual.widgets import TextArea


class Composer(TextArea):
    DEFAULT_CSS = """
    Composer { height: auto; min-height: 3; max-height: 12; border: tall $primary 40%; }
    Composer:focus { border: tall $primary; }
    """
    BINDINGS = [
        Binding("ctrl+j,shift+enter", "newline", "Newline", show=False, id="yachat.newline"),
        # The composer is a line or two: paging belongs to the conversation above it.
        Binding("pageup", "app.scroll_messages(-1)", "Scroll up", show=False, id="yachat.scroll_up"),
        Binding("pagedown", "app.scroll_messages(1)", "Scroll down", show=False, id="yachat.scroll_down"),
    ]

    class Submitted(TextualMessage):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            placeholder="Message yachat — Enter sends, Shift+Enter or ctrl+j for a new line",
            **kwargs,  # type: ignore[arg-type]
        )
        self.sent: list[str] = []  # what was sent, for Up to recall
        self.editing_message_id: int | None = None  # set when resending an edited message

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self.text))
            return
        if event.key == "up" and not self.text and self.sent:
            event.stop()
            event.prevent_default()
            self.load_text(self.sent[-1])
            self.move_cursor(self.document.end)
            return
        await super()._on_key(event)

    def action_newline(self) -> None:
        self.insert("\n")

    def remember(self, text: str) -> None:
        if text.strip() and (not self.sent or self.sent[-1] != text):
            self.sent.append(text)
