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
    transport: str | None = None  # "grpc" | "http"; None: the model catalogue decides
    reasoning_mode: str | None = None  # "low"|"medium"|"high" (http), "enabled_hidden" (grpc); None: off


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
    transport: str | None = None  # how the model was reached: "grpc" | "http"

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
