"""The quiet line above the oldest message the model was sent.

When a thread outgrows the prompt budget, its oldest messages are left out of
the prompt. The pane says so where it happens, for the thread's latest answer:
"12 earlier messages were not sent to the model". The runs record the cut, so
the line is there again when the thread is reopened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from yachat.store.models import Run

PromptCutAt = tuple[int, int]  # (id of the oldest message sent, messages left out before it)


class PromptCut(Static):
    DEFAULT_CSS = """
    PromptCut { color: $text-muted; text-align: center; width: 100%; }
    """

    def __init__(self, cut: PromptCutAt) -> None:
        super().__init__(Text(cut_text(cut[1]), style="dim italic"))
        self.cut = cut


def cut_text(omitted: int) -> str:
    noun = "message was" if omitted == 1 else "messages were"
    return f"┄┄ {omitted} earlier {noun} not sent to the model ┄┄"


def latest_cut(runs: Iterable[Run]) -> PromptCutAt | None:
    """Where the thread's latest fitted prompt began, if it left messages out."""
    fitted = [r for r in runs if r.omitted_messages is not None]
    if not fitted:
        return None
    last = max(fitted, key=lambda r: r.id)
    if not last.omitted_messages or last.first_sent_message_id is None:
        return None
    return last.first_sent_message_id, last.omitted_messages


def with_cut(widgets: Sequence[Widget], cut: PromptCutAt | None) -> list[Widget]:
    """`widgets` with the marker before the first message sent, if it is among them."""
    out = list(widgets)
    if cut is None:
        return out
    for index, widget in enumerate(out):
        message = getattr(widget, "message", None)  # a message's widget
        if message is not None and message.id == cut[0]:
            out.insert(index, PromptCut(cut))
            break
    return out
