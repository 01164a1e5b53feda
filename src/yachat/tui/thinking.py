"""A reasoning model's thinking: a dimmed section above its answer.

While an answer streams, the thinking is a small widget of its own beside the
live answer (the live answer's frame-paced rendering is left alone): it grows
while the model thinks and folds to one line once the answer starts. A finished
answer shows the same line as a part of its message widget. A click on the line
or a key (t on a focused message, F8 for the last answer) unfolds it.
The text is shown literally: no markup, no terminal escapes.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.events import Click
from textual.widget import Widget

from yachat.text import strip_controls
from yachat.tui.block_view import Part

THINKING_STYLE = "dim italic"


def _literal(reasoning: str) -> Text:
    """The model's words as they are: no markup, no terminal escapes."""
    return Text(strip_controls(reasoning.strip()), style=THINKING_STYLE)


def thinking_line(reasoning: str, expanded: bool, live: bool = False, action: str = "") -> Text:
    """The section's title line; clicking it runs `action` (if given)."""
    words = len(strip_controls(reasoning).split())
    if live:
        label = "▾ Thinking…"
    elif expanded:
        label = "▾ Thinking"
    else:
        label = f"▸ Thinking ({words:,} word{'s' if words != 1 else ''})"
    style = Style(dim=True, bold=True)
    if action:
        style += Style.from_meta({"@click": action})
    line = Text(label, style=style)
    if not live:
        line.append("  click to " + ("fold" if expanded else "unfold"), style="dim")
    return line


def thinking_parts(reasoning: str, expanded: bool, message_id: int) -> list[Part]:
    """The section as parts of a finished message's widget: none without reasoning."""
    if not reasoning:
        return []
    parts = [Part.of(thinking_line(reasoning, expanded, action=f"app.toggle_thinking_of({message_id})"))]
    if expanded:
        parts.append(Part.of(_literal(reasoning)))
    return parts


class LiveThinking(Widget):
    """The thinking of the answer being generated, as it streams."""

    DEFAULT_CSS = "LiveThinking { height: auto; }"

    def __init__(self, message_id: int, text: str = "", answering: bool = False) -> None:
        super().__init__(classes="message assistant thinking")
        self.message_id = message_id
        self.text = text
        self.answering = answering  # the answer has started: the model is done thinking
        self.expanded = not answering

    def feed(self, suffix: str) -> None:
        self.text += suffix
        if self.expanded:
            self.refresh(layout=True)  # painted once a frame, however many chunks arrive

    def answer_started(self) -> None:
        """Fold once the answer starts: the answer is what the user waits for."""
        if not self.answering:
            self.answering = True
            self.expanded = False
            self.refresh(layout=True)

    def toggle(self) -> None:
        self.expanded = not self.expanded
        self.refresh(layout=True)

    def render(self) -> Text:
        # The header of the answer below: the thinking comes first, as in a finished message.
        lines = [
            Text("Assistant", style="bold"),
            thinking_line(self.text, self.expanded, live=not self.answering),
        ]
        if self.expanded:
            lines.append(_literal(self.text))
        return Text("\n").join(lines)

    def on_click(self, event: Click) -> None:
        event.stop()
        self.toggle()
