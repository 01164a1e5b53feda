"""What the store keeps: plain frozen records, no SQL, no SDK."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RunStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the process died while it streamed


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class ExpirationPolicy(StrEnum):
    STATIC = "static"  # expires ttl_days after creation
    SINCE_LAST_ACTIVE = "since_last_active"  # expires ttl_days after the last message


class PartKind(StrEnum):
    TEXT = "text"
    REASONING = "reasoning"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    NOTICE = "notice"


class ToolStatus(StrEnum):
    STREAMING = "streaming"  # the model is still writing its arguments
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the tool answered with an error, or could not be reached
    DENIED = "denied"  # by the user, or by the rules (not allowed, no terminal to ask)
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"  # the answer was stopped while it waited or ran
    SKIPPED = "skipped"  # not run: the loop stopped (rounds, a repeated call)


@dataclass(frozen=True)
class Part:
    """One piece of an answer, in order. Fields beyond `kind` and `text` are a tool's."""

    kind: PartKind
    text: str = ""
    call_id: str | None = None
    tool: str | None = None
    server: str | None = None
    arguments: str | None = None  # JSON text
    status: ToolStatus | None = None
    is_error: bool = False
    duration_s: float | None = None
    truncated_tokens: int = 0


@dataclass(frozen=True)
class WebSearch:
    """An assistant's web search over the Responses API (Yandex runs it)."""

    enabled: bool = True
    domains: tuple[str, ...] = ()  # search only these sites (Yandex takes at most 5)
    region: str | None = None  # a Yandex region code, e.g. "213" (Moscow)
    context_size: str | None = None  # low | medium | high; None: Yandex's default (medium)


@dataclass(frozen=True)
class RemoteMcp:
    """A remote MCP server Yandex calls for the assistant over the Responses API."""

    label: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    require_approval: str = "always"  # always | never


@dataclass(frozen=True)
class Assistant:
    id: int
    name: str
    model: str  # "yandexgpt/rc", "yandexgpt-lite", or a full "gpt://folder/name/version"
    instruction: str
    temperature: float | None
    max_tokens: int | None
    keep_last_messages: int | None  # prompt truncation: last N messages
    prompt_token_budget: int | None  # prompt truncation: token budget (measured by tokenize)
    created_at: float
    transport: str | None = None  # "grpc" | "http" | "responses"; None: the model catalogue decides
    reasoning_mode: str | None = None  # "low"|"medium"|"high" (http), "enabled_hidden" (grpc); None: off
    tools: tuple[str, ...] | None = None  # "server" or "server/tool" it may use; None: every one
    web_search: WebSearch | None = None  # the Responses API's web search; None: off
    remote_mcp: tuple[RemoteMcp, ...] = ()  # remote MCP servers, over the Responses API


@dataclass(frozen=True)
class Thread:
    id: int
    name: str
    assistant_id: int
    created_at: float
    updated_at: float
    ttl_days: int | None
    expiration_policy: ExpirationPolicy


@dataclass(frozen=True)
class Message:
    id: int
    thread_id: int
    role: str  # "user" | "assistant"
    text: str
    status: MessageStatus
    created_at: float
    run_id: int | None
    token_count: int | None = None  # tokens of this message alone, as `token_model` counts them
    token_model: str | None = None
    reasoning: str = ""  # what a reasoning model thought before answering; never sent back to it
    part_count: int = 0  # rows in message_parts; 0: the answer is its reasoning and its text
    # Read with the message only where they are used (`Store.with_parts`); not a column.
    parts: tuple[Part, ...] = ()

    def all_parts(self) -> tuple[Part, ...]:
        """The answer as parts: its stored parts, or (an answer of text alone) its
        reasoning and its text."""
        if self.parts:
            return self.parts
        head = (Part(PartKind.REASONING, self.reasoning),) if self.reasoning else ()
        return (*head, Part(PartKind.TEXT, self.text))


@dataclass(frozen=True)
class Run:
    id: int
    thread_id: int
    assistant_id: int | None
    model_uri: str
    status: RunStatus
    error: str | None
    input_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    model_version: str | None
    started_at: float
    finished_at: float | None
    first_chunk_s: float | None  # time from request to first chunk
    tokens_per_s: float | None
    owner_lock: str | None = None  # the lock file held while it streams
    answered_by: str | None = None  # the model that answered, when it is not `model_uri`
    finish_reason: str | None = None  # how the answer ended: FINAL, TRUNCATED_FINAL, ...
    prompt_tokens: int | None = None  # the prompt as sent, tokenized
    prompt_budget: int | None = None
    omitted_messages: int | None = None  # older messages of the thread not sent to the model
    first_sent_message_id: int | None = None
    reasoning_tokens: int | None = None
    transport: str | None = None  # how the model was reached: "grpc" | "http" | "responses"

    @property
    def truncated(self) -> bool:
        """The answer stopped at the length limit (max tokens or the model's context)."""
        return self.finish_reason == "TRUNCATED_FINAL"


@dataclass(frozen=True)
class SearchHit:
    message_id: int
    thread_id: int
    thread_name: str
    role: str
    snippet: str  # plain text; matched terms wrapped in \x02 ... \x03 for the UI to highlight
    created_at: float
