"""Small modal questions: confirm, and ask for one line of text."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, ScreenResultType
from textual.widgets import Button, Input, Label, OptionList

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 64; height: auto; border: thick $primary; background: $surface; padding: 1 2; }}
{name} Horizontal {{ height: auto; align-horizontal: right; margin-top: 1; }}
{name} Button {{ margin-left: 1; }}
"""


class AnsweredOnce(ModalScreen[ScreenResultType]):
    """A modal screen that takes its first answer only: a key and a click (or two
    keys) handled in one frame would dismiss it twice, and the second dismiss would
    pop the screen under it (found by the random walk)."""

    def dismiss(self, result: ScreenResultType | None = None) -> AwaitComplete:
        if not self.is_current:
            return AwaitComplete()
        return super().dismiss(result)


class Confirm(AnsweredOnce[bool]):
    DEFAULT_CSS = DIALOG_CSS.format(name="Confirm")
    BINDINGS = [Binding("escape,n", "dismiss(False)", "No"), Binding("y", "dismiss(True)", "Yes")]

    def __init__(self, question: str, yes: str = "Delete") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.question))
            with Horizontal():
                yield Button("Cancel", id="no")
                yield Button(self.yes, id="yes", variant="error")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class Ask(AnsweredOnce[str | None]):
    DEFAULT_CSS = DIALOG_CSS.format(name="Ask")
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, question: str, value: str = "", ok: str = "OK") -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.ok = ok

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.question))
            yield Input(value=self.value, id="answer")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self.ok, id="ok", variant="primary")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one(Input).value if event.button.id == "ok" else None)


def guard_paging(option_list: OptionList) -> None:
    """PageUp/PageDown in an option list that has no region yet (a Select's list in
    the frame between Enter opening it and its first layout) raise KeyError inside
    Textual 8.2's OptionList, ending the app. Until it is laid out, paging does nothing."""
    for name in ("action_page_up", "action_page_down"):
        action = getattr(option_list, name)

        def guarded(action=action) -> None:
            if option_list.scrollable_content_region:
                action()

        setattr(option_list, name, guarded)
