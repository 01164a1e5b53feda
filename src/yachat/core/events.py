"""What the chat core tells a front end while a run goes on: one small class per kind.

A front end `match`es on them and applies each as it comes; it never diffs text
or looks at SDK objects. Every event names its thread, run and answer message.
Text, reasoning and argument events carry the new suffix only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from yachat.core.tools.spec import ToolSpec
from yachat.store.knowledge import Passage
from yachat.store.models import RunStatus, ToolStatus


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    completion_tokens: int
    total_tokens: int
    # Part of completion_tokens the model spent reasoning; None where the API does not say
    # (the chat API's usage, as the SDK reads it, has no such count).
    reasoning_tokens: int | None = None


@dataclass(frozen=True)
class PromptInfo:
    tokens: int | None  # the fitted prompt, tokenized (None if it was not counted)
    budget: int | None  # the most tokens it could have
    omitted: int  # older messages of the thread left out of it
    first_sent_message_id: int | None  # the oldest message it holds (after the instruction)


# Made per chunk (2,000 for a 30 KB answer): slotted, not frozen, whose __init__ sets each
# field through object.__setattr__ (6 us an event against 1.5). Nothing changes an event
# once it is emitted.
@dataclass(slots=True)
class RunEvent:
    thread_id: int
    run_id: int
    message_id: int  # the answer's message


@dataclass(slots=True)
class RunStarted(RunEvent):
    """The user message (if any), the run and the empty answer are stored."""

    user_message_id: int | None = None


@dataclass(slots=True)
class PromptFitted(RunEvent):
    prompt: PromptInfo | None = None


@dataclass(slots=True)
class SourcesFound(RunEvent):
    """Passages of the assistant's knowledge the prompt holds, numbered [n]."""

    sources: tuple[Passage, ...] = ()


@dataclass(slots=True)
class TextDelta(RunEvent):
    text: str = ""


@dataclass(slots=True)
class TextReplaced(RunEvent):
    """The server rewrote the answer (a content filter): `text` is all of it now."""

    text: str = ""


@dataclass(slots=True)
class ReasoningDelta(RunEvent):
    text: str = ""


@dataclass(slots=True)
class Notice(RunEvent):
    """Transient progress ("retrying in 3 s") or, with `kept`, a note stored with the answer."""

    text: str = ""
    kept: bool = False


@dataclass(slots=True)
class ToolCallStarted(RunEvent):
    call_id: str = ""
    tool: str = ""
    server: str = ""


@dataclass(slots=True)
class ToolArgumentsDelta(RunEvent):
    call_id: str = ""
    text: str = ""  # more of the arguments' JSON text


@dataclass(slots=True)
class ToolAwaitingApproval(RunEvent):
    call_id: str = ""
    tool: str = ""
    server: str = ""
    arguments: str = ""  # the whole arguments, JSON


@dataclass(slots=True)
class ToolRunning(RunEvent):
    call_id: str = ""
    started_at: float = 0.0  # time.monotonic()


@dataclass(slots=True)
class ToolFinished(RunEvent):
    call_id: str = ""
    status: ToolStatus = ToolStatus.DONE
    output: str = ""  # what the model is given (after any cut)
    is_error: bool = False
    duration_s: float | None = None
    truncated_tokens: int = 0


@dataclass(slots=True)
class RunFinished(RunEvent):
    """The run's end: `status` is final; `error` says what went wrong, if anything."""

    status: RunStatus = RunStatus.COMPLETED
    text: str = ""  # the whole answer
    error: str | None = None
    usage: Usage | None = None
    model_version: str | None = None
    first_chunk_s: float | None = None
    tokens_per_s: float | None = None
    truncated: bool = False  # the answer stopped at the length limit (TRUNCATED_FINAL)
    answered_by: str | None = None  # the model that answered, e.g. the local model
    reasoning: str = ""  # the whole reasoning, "" when the model showed none
    tool_calls: int = 0  # calls the answer made


EventSink = Callable[[RunEvent], None]


class Decision(StrEnum):
    ALLOW_ONCE = "allow_once"
    ALLOW_ALWAYS = "allow_always"
    DENY_ONCE = "deny_once"
    DENY_ALWAYS = "deny_always"

    @property
    def allows(self) -> bool:
        return self in (Decision.ALLOW_ONCE, Decision.ALLOW_ALWAYS)

    @property
    def always(self) -> bool:
        return self in (Decision.ALLOW_ALWAYS, Decision.DENY_ALWAYS)


@dataclass(frozen=True)
class ApprovalRequest:
    thread_id: int
    message_id: int
    call_id: str
    tool: ToolSpec
    arguments: str  # JSON text, as the model wrote it
    assistant_name: str = field(default="")


# How a front end answers a call that waits for the user. Cancelled with the run.
Approver = Callable[[ApprovalRequest], Awaitable[Decision]]
