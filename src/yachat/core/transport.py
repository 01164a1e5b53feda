"""The two ways a model is reached, made one: gRPC completions and the OpenAI-compatible chat API.

Both go through the same SDK object. gRPC (`sdk.models.completions`) streams the
whole answer so far in every chunk; the chat API (`sdk.chat.completions`) streams
deltas, which the SDK accumulates, plus reasoning text, and ends with a usage
chunk. `normalize` turns either into a `StreamChunk`: the answer and reasoning
so far, the tool calls so far, usage, how it ended and who wrote it. Nothing
else in yachat looks at an SDK result.

Tool calls: gRPC sends them whole in the answer's last chunk (arguments a
Struct, so every number a float, and no call ids). The chat API streams them
(the name first, then the arguments in pieces), but the SDK's `run_stream`
buffers those deltas and yields the calls only with the closing chunk; so a
chat-API request that offers tools is read as the SDK's own server-sent events
(same client, auth, request body and errors) and normalised here, and the
calls grow chunk by chunk as the server sends them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from yachat.core.events import Usage
from yachat.core.tools.spec import ToolSpec
from yachat.core.tools.wire import arguments_text, sdk_messages, sdk_tool_choice, sdk_tools


class Transport(StrEnum):
    GRPC = "grpc"
    HTTP = "http"
    # The Responses API, through the `openai` client: core/responses_*.py, not this module.
    RESPONSES = "responses"


# How an answer ended, in gRPC's words (AlternativeStatus names), for both transports.
DONE_STATUSES = frozenset({"FINAL", "TRUNCATED_FINAL", "CONTENT_FILTER", "TOOL_CALLS"})


@dataclass(slots=True)
class ToolCallChunk:
    index: int  # its place among the answer's calls
    call_id: str  # the chat API's id; gRPC has none: `call_<index>`
    name: str
    arguments: str  # JSON text so far: grows on a chat-API stream, whole on gRPC


@dataclass(slots=True)  # one per chunk: not frozen, which costs 4x to make (see events.RunEvent)
class StreamChunk:
    text: str  # the whole answer so far
    reasoning: str  # the whole reasoning so far ("" when the model shows none)
    status: str | None  # None while the answer grows; then one of DONE_STATUSES
    usage: Usage | None
    model_version: str | None
    # The answer's calls so far, whole (like `text`); the status is TOOL_CALLS when it ends with them.
    tool_calls: tuple[ToolCallChunk, ...] = ()


def model_object(
    sdk: Any,
    transport: Transport,
    name: str,
    version: str,
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    reasoning_mode: str | None = None,
    tools: Sequence[ToolSpec] | None = None,
    tool_choice: str | None = None,
    parallel_tool_calls: bool | None = None,
) -> Any:
    """The SDK's model for `name` on `transport`, configured.

    `tool_choice`: `auto`, `none`, `required`, or the name of the one tool to call.
    Without tools, `tool_choice` and `parallel_tool_calls` are not sent."""
    options: dict[str, Any] = {}
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if tools:
        options["tools"] = sdk_tools(sdk, tools)
        if tool_choice is not None:
            options["tool_choice"] = sdk_tool_choice(tool_choice)
        if parallel_tool_calls is not None:
            options["parallel_tool_calls"] = parallel_tool_calls
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
    """The model's answer to `prompt`, chunk by chunk, the same for both transports.

    `prompt`: a text, or prompt messages (tool turns in the neutral form of `tools.wire`)."""
    if not isinstance(prompt, str):
        prompt = sdk_messages(transport, prompt)
    if transport is Transport.HTTP and _has_tools(model):
        events = ChatEvents()
        async for event in _chat_events(model, prompt, timeout):
            chunk = events(event)
            if chunk is not None:
                yield chunk
        return
    normalize = ChatNormalizer() if transport is Transport.HTTP else normalize_grpc
    async for result in model.run_stream(prompt, timeout=timeout):
        chunk = normalize(result)
        if chunk is not None:
            yield chunk


def _has_tools(model: Any) -> bool:
    config = getattr(model, "_config", None)
    return bool(getattr(config, "tools", None))


async def _chat_events(model: Any, messages: Any, timeout: float) -> AsyncIterator[dict[str, Any]]:
    """The chat API's events for `messages`, as the SDK's `run_stream` would request them."""
    body = model._build_request_json(messages, stream=True)
    async for sse in model._client.sse_stream(
        "http_completions", method="POST", url="/chat/completions", json=body, timeout=timeout
    ):
        data = sse.json()
        if isinstance(data, dict):
            yield data


def normalize_grpc(result: Any) -> StreamChunk:
    alternative = result.alternatives[0]
    status = alternative.status.name
    usage = result.usage
    calls = alternative.tool_calls
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
        tool_calls=tuple(
            ToolCallChunk(i, f"call_{i}", c.function.name, arguments_text(c.function.arguments))
            for i, c in enumerate(calls)
            if c.function is not None
        )
        if calls
        else (),
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


class ChatEvents:
    """The chat API's raw events (dicts) as StreamChunks: what ChatNormalizer makes of the SDK's
    results, plus the tool calls as they grow. Here the closing reasons are seen as sent:
    `length` is TRUNCATED_FINAL, and a content-filter chunk's content is the whole rewrite."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.text = ""
        self.reasoning = ""
        self.calls: list[ToolCallChunk] = []
        self._model = ("", "")

    def __call__(self, data: dict[str, Any]) -> StreamChunk | None:
        choices = data.get("choices") or []
        usage = data.get("usage")
        changed = False
        for choice in choices[:1]:
            delta = choice.get("delta") or {}
            reason = (choice.get("finish_reason") or "").lower()
            content = delta.get("content") or ""
            if reason == "content_filter":
                self.text, changed = content, True
            elif content and self.status != "CONTENT_FILTER":
                self.text, changed = self.text + content, True
            if delta.get("reasoning_content"):
                self.reasoning, changed = self.reasoning + delta["reasoning_content"], True
            for part in delta.get("tool_calls") or ():
                self._grow(part)
                changed = True
            if reason in _FINISH:
                self.status = _FINISH[reason]
        if usage is None and not changed:
            return None
        return StreamChunk(
            text=self.text,
            reasoning=self.reasoning,
            # The answer is done only with its usage: that chunk comes last.
            status=(self.status or "TRUNCATED_FINAL") if usage is not None else None,
            usage=Usage(usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"])
            if usage is not None
            else None,
            model_version=self._label(data.get("model")),
            tool_calls=tuple(self.calls),
        )

    def _grow(self, part: dict[str, Any]) -> None:
        index = int(part.get("index", len(self.calls)))
        function = part.get("function") or {}
        while len(self.calls) <= index:
            self.calls.append(ToolCallChunk(len(self.calls), "", "", ""))
        old = self.calls[index]
        # A new object per change: chunks already handed out keep the state they had.
        self.calls[index] = ToolCallChunk(
            index,
            part.get("id") or old.call_id,
            old.name + (function.get("name") or ""),
            old.arguments + (function.get("arguments") or ""),
        )

    def _label(self, uri: str | None) -> str | None:
        if not uri:
            return None
        if uri != self._model[0]:
            self._model = (uri, model_label(uri))
        return self._model[1]


_FINISH = {
    "stop": "FINAL",
    "length": "TRUNCATED_FINAL",
    "content_filter": "CONTENT_FILTER",
    "tool_calls": "TOOL_CALLS",
}


def model_label(uri: str) -> str:
    """`gpt://qwen3-235b-a22b-fp8/latest` (or with a folder) -> `qwen3-235b-a22b-fp8/latest`."""
    parts = uri.removeprefix("gpt://").split("/")
    if len(parts) >= 3:
        parts = parts[1:]
    return "/".join(parts)
