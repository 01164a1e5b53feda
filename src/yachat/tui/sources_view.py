"""The sources under an answer: one compact line per passage the model was given,
`[1] notes/kazan.md:7-9 — Travel notes › Kazan`. Click or `c` copies `path:line`;
`o` or Enter opens the file at that line in $VISUAL / $EDITOR (else $PAGER, less)."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Click
from textual.widget import Widget
from textual.widgets import Static

from yachat.core.knowledge.sources import shown_path, source_line
from yachat.store.knowledge import Passage
from yachat.store.models import Message
from yachat.tui.live_answer import LiveAnswer

# Editors and pagers that take `+LINE` before the file to open it there.
_PLUS_LINE = {"vi", "vim", "nvim", "view", "nano", "emacs", "emacsclient", "micro", "kak", "less", "more"}


def open_command(passage: Passage, env: Mapping[str, str] = os.environ) -> list[str]:
    """How to open the passage's file where it was found: the user's editor, else a pager."""
    chosen = env.get("VISUAL") or env.get("EDITOR") or env.get("PAGER") or "less"
    argv = shlex.split(chosen) or ["less"]
    name = os.path.basename(argv[0])
    if passage.kind != "pdf" and name in _PLUS_LINE:
        argv.append(f"+{passage.line_start}")
    elif passage.kind != "pdf" and name in {"code", "codium", "subl", "hx", "zed"}:
        return [*argv, f"{passage.path}:{passage.line_start}"]
    return [*argv, passage.path]


def compact_path(path: str, limit: int = 48) -> str:
    """A long path by its end, where the file's name is: `…/notes/home/vault.md`
    (`c` copies it whole)."""
    if len(path) <= limit:
        return path
    parts = path.split(os.sep)
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + len(tail) + 3 > limit:
            break
        tail = f"{part}{os.sep}{tail}"
    return f"…{os.sep}{tail}"


def copy_text(passage: Passage) -> str:
    """What `c` copies: `path:line`, the form editors and terminals open."""
    return f"{passage.path}:{passage.line_start}"


class SourceLine(Static, can_focus=True):
    BINDINGS = [
        Binding("c", "copy", "Copy path:line"),
        Binding("o,enter", "open", "Open"),
    ]

    def __init__(self, passage: Passage) -> None:
        line = source_line(passage, compact_path(shown_path(passage.path)))
        super().__init__(Text(line, no_wrap=True, overflow="ellipsis"))
        self.passage = passage

    def on_click(self, event: Click) -> None:
        event.stop()
        self.action_copy()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(copy_text(self.passage))
        self.notify(f"Copied {shown_path(copy_text(self.passage))}", markup=False, timeout=2)

    def action_open(self) -> None:
        argv = open_command(self.passage)
        try:
            with self.app.suspend():
                subprocess.run(argv, check=False)
        except OSError as exc:
            self.notify(f"Cannot run {argv[0]}: {exc.strerror or exc}", severity="error", markup=False)


class SourcesList(Vertical):
    DEFAULT_CSS = """
    SourcesList { height: auto; margin: 0 2 1 2; padding: 0 1; border-left: tall $primary-darken-2; }
    SourcesList > .sources-title { color: $text-muted; text-style: italic; }
    SourcesList > SourceLine { color: $text-muted; height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    SourcesList > SourceLine:focus { background: $boost; color: $text; }
    """

    def __init__(self, message_id: int, passages: Sequence[Passage]) -> None:
        # No DOM id: a thread's widgets may share the pane with the last one's, leaving.
        super().__init__()
        self.message_id = message_id
        self.passages = tuple(passages)

    def compose(self) -> ComposeResult:
        yield Static("sources", classes="sources-title")
        for passage in self.passages:
            yield SourceLine(passage)

    def show(self, passages: Sequence[Passage]) -> None:
        """Other passages for the same answer (it was regenerated)."""
        self.passages = tuple(passages)
        self.query(SourceLine).remove()
        self.mount_all([SourceLine(p) for p in self.passages])


def show_sources(pane: Widget, message_id: int, passages: Sequence[Passage]) -> SourcesList | None:
    """Mount the list under answer `message_id` (or refill the one shown before)."""
    children = _shown(pane)
    existing = next((w for w in children if isinstance(w, SourcesList) and w.message_id == message_id), None)
    if existing is not None:
        if not passages:
            existing.remove()
            return None
        existing.show(passages)
        return existing
    if not passages:
        return None
    # The answer, or while it streams its live widget: the finished answer is mounted
    # in the live one's place, so the list stays under it.
    answer = next((w for w in children if _message_id(w) == message_id), None)
    if answer is None:
        return None
    sources = SourcesList(message_id, passages)
    pane.mount(sources, after=answer)
    return sources


def with_sources(
    widgets: Sequence[Widget], messages: Sequence[Message], by_run: Mapping[int, Sequence[Passage]]
) -> list[Widget]:
    """`widgets` (the thread's message widgets) with each answer's sources after it,
    from `store.thread_sources(thread_id)`: for a thread opened from the history."""
    run_of = {m.id: m.run_id for m in messages if m.role == "assistant" and m.run_id is not None}
    out: list[Widget] = []
    for widget in widgets:
        out.append(widget)
        message_id = _message_id(widget)
        run_id = run_of.get(message_id) if message_id is not None else None
        if message_id is not None and run_id is not None and by_run.get(run_id):
            out.append(SourcesList(message_id, by_run[run_id]))
    return out


def _shown(pane: Widget) -> list[Widget]:
    # The message pane skips children on their way out (see MessagePane.shown).
    shown = getattr(pane, "shown", None)
    return list(shown()) if callable(shown) else list(pane.children)


def _message_id(widget: Widget) -> int | None:
    """The message a pane child shows: a message's widget, or a live answer's."""
    if isinstance(widget, LiveAnswer):
        return widget.message_id
    message = getattr(widget, "message", None)
    return message.id if isinstance(message, Message) else None
