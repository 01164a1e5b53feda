"""The two ways a model is reached, made one: gRPC completions and the OpenAI-compatible chat API.

Both go through the same SDK object. gRPC (`sdk.models.completions`) streams the
whole answer so far in every chunk; the chat API (`sdk.chat.completions`) streams
deltas, which the SDK accumulates, plus reasoning text, and ends with a usage
chunk. `normalize` turns either into a `StreamChunk`: the answer and reasoning
so far, usage, how it ended and who wrote it. Nothing else in yachat looks at an
SDK result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from yachat.core.events import Usage


class Transport(StrEnum):
    GRPC = "grpc"
    HTTP = "http"


# How an answer ended, in gRPC's words (AlternativeStatus names), for both transports.
DONE_STATUSES = frozenset({"FINAL", "TRUNCATED_FINAL", "CONTENT_FILTER", "TOOL_CALLS"})


@dataclass(slots=True)
class ToolCallChunk:
    index: int  # its place among the answer's calls
    call_id: str  # the API's id; on gRPC, which has none, a stable one made up
    name: str
    arguments: str  # the arguments' JSON text so far: grows on chat API streams, whole on gRPC


@dataclass(slots=True)  # one per chunk: not frozen, which costs 4x to make (see events.RunEvent)
class StreamChunk:
    text: str  # the whole answer so far
    reasoning: str  # the whole reasoning so far ("" when the model shows none)
    status: str | None  # None while the answer grows; then one of DONE_STATUSES
    usage: Usage | None
    model_version: str | None
    tool_calls: tuple[ToolCallChunk, ...] = ()  # the answer's calls so far, each whole so far


def model_object(
    sdk: Any,
    transport: Transport,
    name: str,
    version: str,
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    reasoning_mode: str | None = None,
) -> Any:
    """The SDK's model for `name` on `transport`, configured."""
    options: dict[str, Any] = {}
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if transport is Transport.HTTP:
        model = sdk.chat.completions(name, model_version=version)
        if reasoning_mode in ("low", "medium", "high"):
            options["reasoning_mode"] = reasoning_mode
    else:
        model = sdk.models.completions(name, model_version=version)
        if reasoning_mode and reasoning_mode.upper() in ("ENABLED_HIDDEN", "DISABLED"):
            options["reasoning_mode"] = reasoning_mode.upper()
    return model.configure(**options) if options else model


async def stream(model: Any, transport: Transport, prompt: Any, timeout: float) -> AsyncIterator[StreamChunk]:
    """The model's answer to `prompt`, chunk by chunk, the same for both transports."""
    normalize = ChatNormalizer() if transport is Transport.HTTP else normalize_grpc
    async for result in model.run_stream(prompt, timeout=timeout):
        chunk = normalize(result)
        if chunk is not None:
            yield chunk


def normalize_grpc(result: Any) -> StreamChunk:
    alternative = result.alternatives[0]
    status = alternative.status.name
    usage = result.usage
    return StreamChunk(
        text=alternative.text,
        reasoning="",
        status=status if status in DONE_STATUSES else None,
        usage=Usage(
            usage.input_text_tokens,
            usage.completion_tokens,
            usage.total_tokens,
            getattr(usage, "reasoning_tokens", 0) or 0,
        )
        if usage is not None
        else None,
        model_version=result.model_version or None,
    )


class ChatNormalizer:
    """The chat API's results as StreamChunks.

    The SDK drops the last choice chunk when its finish reason is `length` (its
    delta is empty), so an answer cut by max_tokens shows only as a usage chunk
    with no finish before it: that is TRUNCATED_FINAL.
    """

    def __init__(self) -> None:
        self.status: str | None = None
        self.text = ""
        self.reasoning = ""
        self._model = ("", "")  # the last chunk's model URI and its label: every chunk names it

    def __call__(self, result: Any) -> StreamChunk | None:
        choice = result[0] if len(result) else None
        raw = choice.status.name if choice is not None else "USAGE"
        # After a content-filter chunk (whose text is the whole rewrite) the SDK goes back
        # to its buffer of every delta, the withheld part included: keep the rewrite.
        if choice is not None and (self.status != "CONTENT_FILTER" or raw == "CONTENT_FILTER"):
            self.text = choice.text or self.text
            self.reasoning = choice.reasoning_text or self.reasoning
        if raw in DONE_STATUSES:
            self.status = raw
        status = (self.status or "TRUNCATED_FINAL") if raw == "USAGE" else None
        usage = result.usage
        return StreamChunk(
            text=self.text,
            reasoning=self.reasoning,
            # The answer is done only with its usage: that chunk comes last.
            status=status,
            usage=Usage(usage.input_text_tokens, usage.completion_tokens, usage.total_tokens)
            if usage is not None
            else None,
            model_version=self._label(result.model),
        )

    def _label(self, uri: str | None) -> str | None:
        if not uri:
            return None
        if uri != self._model[0]:
            self._model = (uri, model_label(uri))
        return self._model[1]


def model_label(uri: str) -> str:
    """`gpt://qwen3-235b-a22b-fp8/latest` (or with a folder) -> `qwen3-235b-a22b-fp8/latest`."""
    parts = uri.removeprefix("gpt://").split("/")
    if len(parts) >= 3:
        parts = parts[1:]
    return "/".join(parts)
