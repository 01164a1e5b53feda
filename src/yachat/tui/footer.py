"""Textual's footer, showing only the keys that fit whole.

Textual's footer cuts the last key that does not fit mid-word ("^g Regener"). This
one leaves out the keys past the width instead (the bindings are listed most used
first), and the command palette key keeps its place at the right.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer


def key_width(widget: Widget) -> int:
    """A footer key's columns: " ^q Quit " and the gap after it, as Textual's footer
    lays it out (its key widget is not public: read by its attributes); 0 for others."""
    display, description = getattr(widget, "key_display", None), getattr(widget, "description", None)
    if not isinstance(display, str) or not isinstance(description, str):
        return 0
    return len(display) + len(description) + 3


class FittingFooter(Footer):
    def compose(self) -> ComposeResult:
        widgets: list[Widget] = list(super().compose())
        room = self.app.size.width
        palette = [w for w in widgets if w.has_class("-command-palette")]
        room -= sum(key_width(w) for w in palette)
        kept: list[Widget] = []
        for widget in widgets:
            if widget in palette:
                continue
            width = key_width(widget)
            if width > room:
                break
            room -= width
            kept.append(widget)
        yield from kept + palette

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.recompose)
