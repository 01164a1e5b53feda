"""What the chat core tells a front end while a run streams.

A front end applies each `RunUpdate` as it comes; it never needs to diff text
or look at the SDK's objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from yachat.store.knowledge import Passage
from yachat.store.models import RunStatus


class UpdateKind(StrEnum):
    STARTED = "started"  # the user message and the (empty) answer are stored
    APPEND = "append"  # `text` is the new suffix of the answer
    REASONING = "reasoning"  # `text` is the new suffix of the model's reasoning (before the answer)
    REPLACE = "replace"  # `text` is the whole answer (the server rewrote it)
    NOTICE = "notice"  # `text` is transient progress, e.g. "retrying in 3 s"
    PROMPT = "prompt"  # the prompt is fitted: `prompt` says what was sent and what left out
    SOURCES = "sources"  # `sources`: passages of the assistant's knowledge the prompt holds, as [n]
    FINISHED = "finished"  # `status` is final; `error` says what went wrong, if anything


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


# Made per chunk (2,000 for a 30 KB answer): a frozen dataclass's __init__ sets each of
# these fields through object.__setattr__, 6 us an update against 1.5 us with slots.
# Nothing changes an update once it is emitted.
@dataclass(slots=True)
class RunUpdate:
    kind: UpdateKind
    thread_id: int
    run_id: int
    message_id: int  # the answer's message
    text: str = ""
    usage: Usage | None = None
    status: RunStatus | None = None
    error: str | None = None
    user_message_id: int | None = None  # set on STARTED when a user message was stored
    model_version: str | None = None
    first_chunk_s: float | None = None
    tokens_per_s: float | None = None
    prompt: PromptInfo | None = None  # set on PROMPT
    truncated: bool = False  # on FINISHED: the answer stopped at the length limit (TRUNCATED_FINAL)
    answered_by: str | None = None  # on FINISHED: the model that answered, e.g. the local model
    reasoning: str = ""  # on FINISHED: the whole reasoning, "" when the model showed none
    sources: tuple[Passage, ...] = ()  # on SOURCES: what the model was given to cite, numbered


UpdateSink = Callable[[RunUpdate], None]
