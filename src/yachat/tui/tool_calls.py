"""A tool call in the conversation: one collapsible entry per call, above the answer.

It shows the tool and its server, the arguments (pretty JSON, growing while the
model writes them), the status (awaiting approval → running, with the time so
far → done / failed / denied / timed out) and the result's first lines. While
the call waits for the user, the entry says so and takes `a` (allow once), `A`
(allow always), `d` (deny) and `D` (deny always), by key or by click; it stays
until answered. Everything from the model or the tool is shown as text: no
markup or escape in it is interpreted.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.message import Message as TextualMessage
from textual.timer import Timer
from textual.widget import Widget

from yachat.core.events import Decision
from yachat.store.models import Message, Part, PartKind, ToolStatus
from yachat.text import strip_controls

RESULT_LINES_FOLDED = 3
RESULT_LINES_OPEN = 40
ARGUMENT_CHARS_FOLDED = 80

_GLYPH = {
    ToolStatus.STREAMING: ("…", "dim"),
    ToolStatus.AWAITING_APPROVAL: ("?", "bold yellow"),
    ToolStatus.RUNNING: ("⟳", "cyan"),
    ToolStatus.DONE: ("✓", "green"),
    ToolStatus.FAILED: ("✗", "red"),
    ToolStatus.DENIED: ("⊘", "yellow"),
    ToolStatus.TIMED_OUT: ("⏱", "red"),
    ToolStatus.CANCELLED: ("■", "dim"),
    ToolStatus.SKIPPED: ("–", "dim"),
}
_WORDS = {
    ToolStatus.STREAMING: "writing arguments",
    ToolStatus.AWAITING_APPROVAL: "awaiting approval",
    ToolStatus.RUNNING: "running",
    ToolStatus.DONE: "done",
    ToolStatus.FAILED: "failed",
    ToolStatus.DENIED: "denied",
    ToolStatus.TIMED_OUT: "timed out",
    ToolStatus.CANCELLED: "stopped",
    ToolStatus.SKIPPED: "not run",
}


@dataclass
class ToolCallState:
    """What the entry shows; kept by the run while it streams, so the entry can be
    made again when its thread is shown again."""

    message_id: int
    call_id: str
    tool: str
    server: str
    arguments: str = ""
    status: ToolStatus = ToolStatus.STREAMING
    started_at: float | None = None  # time.monotonic() when it started running
    duration_s: float | None = None
    output: str | None = None
    is_error: bool = False
    truncated_tokens: int = 0


def states_of(message: Message) -> list[ToolCallState]:
    """A stored answer's calls, with their results."""
    results = {p.call_id: p for p in message.parts if p.kind is PartKind.TOOL_RESULT}
    states = []
    for part in message.parts:
        if part.kind is not PartKind.TOOL_CALL:
            continue
        result: Part | None = results.get(part.call_id)
        states.append(
            ToolCallState(
                message_id=message.id,
                call_id=part.call_id or "",
                tool=part.tool or "",
                server=part.server or "",
                arguments=part.arguments or "",
                status=part.status or ToolStatus.DONE,
                duration_s=result.duration_s if result else None,
                output=result.text if result else None,
                is_error=result.is_error if result else False,
                truncated_tokens=result.truncated_tokens if result else 0,
            )
        )
    return states


def pretty_arguments(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (json.JSONDecodeError, ValueError):
        return text  # still streaming, or not JSON: as written


def _one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ToolCallView(Widget, can_focus=True):
    """One call: a line when folded; arguments and result when open (Enter, click, `o`)."""

    class Decided(TextualMessage):
        def __init__(self, call_id: str, decision: Decision) -> None:
            super().__init__()
            self.call_id = call_id
            self.decision = decision

    BINDINGS = [
        Binding("a", "decide('allow_once')", "Allow once", id="yachat.tool_allow"),
        Binding("A", "decide('allow_always')", "Allow always", id="yachat.tool_allow_always"),
        Binding("d", "decide('deny_once')", "Deny", id="yachat.tool_deny"),
        Binding("D", "decide('deny_always')", "Deny always", id="yachat.tool_deny_always"),
        Binding("enter,o", "fold", "Open/fold", id="yachat.tool_toggle"),
    ]

    DEFAULT_CSS = """
    ToolCallView { height: auto; padding: 0 1; margin: 1 0 0 0; color: $text; }
    ToolCallView:focus { background: $boost; }
    ToolCallView.-asking { border-left: thick $warning; background: $warning 10%; }
    ToolCallView.-failed { color: $text; }
    """

    def __init__(self, state: ToolCallState) -> None:
        super().__init__(classes="tool-call")
        self.state = state
        # Failed calls open by themselves: what went wrong is what the user wants to see.
        self.expanded = state.status in (ToolStatus.FAILED, ToolStatus.TIMED_OUT)
        self._ticker: Timer | None = None

    @property
    def call_id(self) -> str:
        return self.state.call_id

    @property
    def message_id(self) -> int:
        return self.state.message_id

    def on_mount(self) -> None:
        self._sync()

    # -- updates from the run ------------------------------------------------------

    def arguments_grew(self, suffix: str) -> None:
        self.state.arguments += suffix
        self.refresh(layout=self.expanded)

    def set_status(self, status: ToolStatus, started_at: float | None = None) -> None:
        self.state.status = status
        if started_at is not None:
            self.state.started_at = started_at
        self._sync()

    def finished(
        self, status: ToolStatus, output: str, is_error: bool, duration_s: float | None, truncated_tokens: int
    ) -> None:
        state = self.state
        state.status, state.output, state.is_error = status, output, is_error
        state.duration_s, state.truncated_tokens = duration_s, truncated_tokens
        if status in (ToolStatus.FAILED, ToolStatus.TIMED_OUT):
            self.expanded = True
        self._sync()

    def _sync(self) -> None:
        asking = self.state.status is ToolStatus.AWAITING_APPROVAL
        self.set_class(asking, "-asking")
        running = self.state.status is ToolStatus.RUNNING
        if running and self._ticker is None:
            self._ticker = self.set_interval(0.5, self.refresh)
        elif not running and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self.refresh(layout=True)

    # -- the user ------------------------------------------------------------------

    def action_decide(self, decision: str) -> None:
        if self.state.status is not ToolStatus.AWAITING_APPROVAL:
            return
        self.post_message(self.Decided(self.call_id, Decision(decision)))

    def action_fold(self) -> None:
        self.expanded = not self.expanded
        self.refresh(layout=True)

    def on_click(self, event: Click) -> None:
        self.focus()
        if event.style.meta.get("decide") is None and event.style.meta.get("toggle") is None:
            self.action_fold()

    # -- drawing -------------------------------------------------------------------

    def render(self) -> Text:
        state = self.state
        glyph, style = _GLYPH.get(state.status, ("•", ""))
        name = strip_controls(f"{state.server}/{state.tool}" if state.server else state.tool)
        line = Text()
        line.append(("▾ " if self.expanded else "▸ "), style=Style(meta={"toggle": 1}, dim=True))
        line.append(f"{glyph} ", style=style)
        line.append("tool ", style="dim")
        line.append(name, style="bold")
        if not self.expanded:
            line.append("  " + _one_line(strip_controls(state.arguments), ARGUMENT_CHARS_FOLDED), style="dim")
        line.append(f"  · {self._status_words()}", style=style if state.status else "dim")
        if state.status is ToolStatus.AWAITING_APPROVAL:
            line.append("\n  ")
            for key, word, decision in (
                ("a", "allow once", "allow_once"),
                ("A", "allow always", "allow_always"),
                ("d", "deny", "deny_once"),
                ("D", "deny always", "deny_always"),
            ):
                action = Style(
                    meta={"@click": f"decide('{decision}')", "decide": decision}, bold=True, underline=True
                )
                line.append(f"[{key}] {word}", style=action)
                line.append("   ")
        if self.expanded:
            line.append("\n  arguments", style="dim")
            line.append("\n")
            line.append(_indent(strip_controls(pretty_arguments(state.arguments)) or "{}"), style="italic")
        output = state.output
        if output is not None:
            lines = strip_controls(output).splitlines() or [""]
            shown = RESULT_LINES_OPEN if self.expanded else RESULT_LINES_FOLDED
            line.append("\n  error" if state.is_error else "\n  result", style="dim")
            line.append("\n")
            line.append(_indent("\n".join(lines[:shown])), style="red" if state.is_error else "dim")
            more = len(lines) - shown
            if more > 0:
                line.append(
                    f"\n    … {more:,} more lines" + ("" if self.expanded else " (Enter opens)"), style="dim"
                )
            if state.truncated_tokens:
                line.append(
                    f"\n    (cut for the model: ~{state.truncated_tokens:,} tokens left out)", style="dim"
                )
        return line

    def _status_words(self) -> str:
        state = self.state
        words = _WORDS.get(state.status, str(state.status))
        if state.status is ToolStatus.RUNNING and state.started_at is not None:
            return f"{words} {time.monotonic() - state.started_at:.1f} s"
        if state.duration_s is not None and state.status is not ToolStatus.AWAITING_APPROVAL:
            return f"{words} in {state.duration_s:.1f} s"
        return words


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
