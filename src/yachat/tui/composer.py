"""Where the user writes: Enter sends, Shift+Enter or ctrl+j breaks the line,
Up in an empty composer recalls the last message."""

from __future__ import annotations

import logging

from textual import events
from textual.binding import Binding
from textual.message import Message as TextualMessage
from textual.widgets import TextArea

log = logging.getLogger(__name__)

PLACEHOLDER = "Message yachat — Enter sends, Shift+Enter or ctrl+j for a new line"
SHORT_PLACEHOLDER = "Message yachat — Enter sends"


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
            placeholder=PLACEHOLDER,
            **kwargs,  # type: ignore[arg-type]
        )
        self.sent: list[str] = []  # what was sent, for Up to recall
        self.editing_message_id: int | None = None  # set when resending an edited message

    def on_key(self, event: events.Key) -> None:
        # Runs before TextArea's own key handling; prevent_default keeps that from running.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self.text))
            return
        if event.key == "up" and not self.text and self.sent:
            event.stop()
            event.prevent_default()
            self.set_text(self.sent[-1])

    def fit_placeholder(self, terminal_width: int) -> None:
        """The long hint is cut mid-word in a narrow terminal: the short one fits."""
        self.placeholder = PLACEHOLDER if terminal_width >= 100 else SHORT_PLACEHOLDER

    def set_text(self, text: str) -> None:
        """Replace the text, the cursor at its end. (`load_text` keeps the old cursor:
        on a shorter text it points past the end, and the next cursor key raised
        ValueError - found by the random walk, seed 2632621033.)"""
        self.load_text(text)
        self.move_cursor(self.document.end)

    # Textual 8.2's TextArea can be left with an undo batch that points past the
    # document's end (random walk seed 2632621033; cause not pinned down): undoing it
    # raised ValueError and ended the app. Such a history is dropped instead.
    def action_undo(self) -> None:
        try:
            super().action_undo()
        except ValueError:
            log.info("composer: undo history out of step with the text; dropped", exc_info=True)
            self.history.clear()
            self.move_cursor(self.document.end)

    def action_redo(self) -> None:
        try:
            super().action_redo()
        except ValueError:
            log.info("composer: redo history out of step with the text; dropped", exc_info=True)
            self.history.clear()
            self.move_cursor(self.document.end)

    def action_newline(self) -> None:
        self.insert("\n")

    def remember(self, text: str) -> None:
        if text.strip() and (not self.sent or self.sent[-1] != text):
            self.sent.append(text)
