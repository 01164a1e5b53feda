"""How a message looks: the parts of its widget, built from untrusted text.

Messages render through Rich's Markdown, a top-level block at a time
(markdown_blocks), into one widget each: far cheaper than Textual's Markdown
widget (one widget per block), and Rich's Markdown never interprets console
markup such as `[bold]` or `[@click=...]`. Terminal escape sequences are
stripped before anything is rendered.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Sequence
from datetime import datetime

from rich.console import Console
from rich.style import Style
from rich.text import Text

from yachat.core.errors import phrase_retry
from yachat.store.models import Message, MessageStatus, Run
from yachat.text import one_line, strip_controls
from yachat.tui.block_view import Part
from yachat.tui.markdown_blocks import Block, split
from yachat.tui.thinking import thinking_parts

_FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.DOTALL | re.MULTILINE)


def block_parts(blocks: Sequence[Block], deferred: bool = False) -> list[Part]:
    """Parts for Markdown blocks; `deferred` ones are estimated until they come into view."""
    return [
        Part(block.renderable, gap=block.gap_before, estimate=block.estimate_lines if deferred else None)
        for block in blocks
    ]


def plain(text: str, style: str = "") -> Text:
    """Text shown as-is: no markup, no escapes."""
    return Text(strip_controls(text), style=style)


def code_blocks(text: str) -> list[str]:
    return [m.group(2) for m in _FENCE.finditer(text)]


def run_line(message: Message, run: Run | None, model: str | None = None) -> Text:
    """The quiet line under an answer: model, tokens, timings, or what went wrong."""
    parts: list[str] = []
    if run is not None:
        # What answered: the local model on the local backend, not the name the request carried.
        parts.append(one_line(run.answered_by or run.model_uri or model or "", 40))
        if run.total_tokens:
            parts.append(f"{run.input_tokens}+{run.completion_tokens} tokens")
        if run.reasoning_tokens:  # None where the API does not count them
            parts.append(f"{run.reasoning_tokens:,} reasoning")
        if run.first_chunk_s is not None:
            parts.append(f"first chunk {run.first_chunk_s:.2f} s")
        if run.tokens_per_s:
            parts.append(f"{run.tokens_per_s:.0f} tok/s")
    line = Text(" · ".join(p for p in parts if p), style="dim")
    status = message.status
    if status == MessageStatus.CANCELLED:
        line.append("  ■ stopped", style="yellow")
        _retry_link(line)
    elif status in (MessageStatus.FAILED, MessageStatus.INTERRUPTED):
        error = (run.error if run else None) or "The answer did not complete."
        shown = Text(f"  ✖ {one_line(phrase_retry(error, RETRY_HINT), 300)}", style="bold red")
        # The sentence's own "press Retry (ctrl+r)" is the link, else one follows it.
        at = shown.plain.rfind(RETRY_LABEL)
        if at >= 0:
            shown.stylize(_link("screen.retry", bold=True), at, at + len(RETRY_LABEL))
        line.append_text(shown)
        if at < 0:
            _retry_link(line)
    elif run is not None and run.error:
        line.append(f"  ⚠ {one_line(phrase_retry(run.error, RETRY_HINT), 200)}", style="yellow")
    if status == MessageStatus.COMPLETE and run is not None and run.truncated:
        line.append(f"  {CUT_OFF_LABEL}", style="yellow")
    return line


RETRY_LABEL = "Retry (ctrl+r)"
RETRY_HINT = "press Retry (ctrl+r)"  # the core's neutral "retry", worded for the TUI
CUT_OFF_LABEL = "✂ cut off at the length limit"
COPY_LABEL = "copy"
COPY_CODE_LABEL = "copy code"


def _link(action: str, bold: bool = False) -> Style:
    """Clickable text: Textual runs the `@click` action of the text under the mouse."""
    return Style(bold=bold, underline=True, dim=not bold) + Style.from_meta({"@click": action})


def _retry_link(line: Text) -> None:
    line.append("  ")
    line.append(RETRY_LABEL, style=_link("screen.retry", bold=True))


def message_header(message: Message) -> Text:
    when = datetime.fromtimestamp(message.created_at).strftime("%H:%M")
    who = "You" if message.role == "user" else "Assistant"
    header = Text(f"{who}  ", style="bold").append(when, style="dim")
    if message.text:
        header.append("   ")
        header.append(COPY_LABEL, style=_link(f"app.copy_message_text({message.id})"))
        if code_blocks(message.text):
            header.append("  ")
            header.append(COPY_CODE_LABEL, style=_link(f"app.copy_message_code_blocks({message.id})"))
    return header


def message_parts(
    message: Message, run: Run | None, body: Sequence[Part] | None = None, thinking: bool = False
) -> list[Part]:
    """Header, the thinking (unfolded if `thinking`), Markdown blocks and (for an answer)
    the run line; `body` if already made."""
    if body is None:
        body = block_parts(split(message.text)[0]) if message.text.strip() else []
    if not body:
        body = [Part.of(Text("…", style="dim"))]
    parts = [
        Part.of(message_header(message)),
        *thinking_parts(message.reasoning, thinking, message.id),
        *body,
    ]
    if message.role != "user":
        parts.append(Part.of(run_line(message, run)))
    return parts


# One block of each costly kind: the first render of each loads a parser, a lexer, a theme.
_WARM_UP = "# T\n\n*a* `b`\n\n- c\n\n> d\n\n| e | f |\n|---|---|\n| 1 | 2 |\n\n```python\nprint(1)\n```\n"


def warm_up() -> None:
    """Render a sample once, off the loop: the first answer's first frame would pay
    about 20 ms for what this loads (blocking; call it from a worker thread)."""
    console = Console(width=80, file=io.StringIO())
    for part in block_parts(split(_WARM_UP)[0]):
        part.render(console, 80)


def day_label(ts: float, now: float | None = None) -> str:
    now = time.time() if now is None else now
    day = datetime.fromtimestamp(ts).date()
    today = datetime.fromtimestamp(now).date()
    delta = (today - day).days
    if delta <= 0:
        return "Today"
    if delta == 1:
        return "Yesterday"
    if delta < 7:
        return day.strftime("%A")
    return day.strftime("%d %b %Y")
