"""Tools and tool turns in the SDK's forms, for each transport.

The core keeps tool turns in one neutral form (see `core/prompt.py`):

    {"role": "assistant", "text": "...", "tool_calls": [{"id", "name", "arguments": dict}]}
    {"role": "tool", "tool_results": [{"id", "name", "content"}]}

and this module alone knows what each SDK path wants instead:

- gRPC (`messages_to_proto`): an assistant message with calls must be an object with
  `role`, `text` and `tool_calls._proto_origin` (a `ToolCallList`): the SDK has no dict form
  for it. Results are `{"tool_results": [{"name", "content"}]}` (the API matches them by
  name: it has no call ids). Text and calls share one oneof on the wire, so an assistant's
  text beside its calls cannot be sent.
- The chat API (`messages_to_json`): calls are OpenAI's `tool_calls` list, passed through
  as given; each result is its own `{"role": "tool", "tool_call_id", "content"}` message
  (the SDK's `tool_results` form maps names to ids, which breaks on two calls of one tool).
  The SDK drops an assistant's text when the message has calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import struct_pb2
from yandex.cloud.ai.foundation_models.v1 import text_common_pb2 as common

from yachat.core.tools.spec import ToolSpec

GRPC = "grpc"
HTTP = "http"
CHOICE_MODES = ("auto", "none", "required")


def sdk_tools(sdk: Any, tools: Sequence[ToolSpec]) -> list[Any]:
    """The SDK's function tools: one kind serves both `models.completions` and `chat.completions`."""
    return [
        sdk.tools.function(
            object_schema(tool.parameters),
            name=tool.name,
            description=tool.description or tool.name,
        )
        for tool in tools
    ]


def sdk_tool_choice(choice: str) -> Any:
    """`auto`, `none`, `required`, or a tool's name (that tool must be called)."""
    if choice.lower() in CHOICE_MODES:
        return choice.lower()
    return {"type": "function", "function": {"name": choice}}


def sdk_messages(transport: str, messages: Iterable[Mapping[str, Any]]) -> list[Any]:
    """Neutral prompt messages as `run_stream` and `tokenize` take them on `transport`."""
    grpc = str(transport) == GRPC
    out: list[Any] = []
    for message in messages:
        if message.get("tool_calls"):
            out.append(_grpc_calls(message) if grpc else _chat_calls(message))
        elif message.get("tool_results") is not None:
            results = message["tool_results"]
            if grpc:
                out.append({"tool_results": [{"name": r["name"], "content": r["content"]} for r in results]})
            else:
                out += [{"role": "tool", "tool_call_id": r["id"], "content": r["content"]} for r in results]
        else:
            out.append(message)
    return out


def arguments_text(arguments: Mapping[str, Any]) -> str:
    """gRPC's arguments (a Struct: every number a float) as JSON text, whole numbers as integers:
    a tool whose schema says `integer` gets 5, not 5.0."""
    return json.dumps(_whole(arguments), ensure_ascii=False)


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, Mapping):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_whole(v) for v in value]
    return value


def object_schema(parameters: Mapping[str, Any]) -> dict[str, Any]:
    # A tool without parameters still needs an object schema: both APIs refuse an empty one.
    schema = dict(parameters or {})
    schema.setdefault("type", "object")
    if schema["type"] == "object":
        schema.setdefault("properties", {})
    return schema


def _chat_calls(message: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "tool_calls": [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": _json_text(call["arguments"])},
            }
            for call in message["tool_calls"]
        ],
    }


def _json_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


@dataclass(frozen=True)
class _ProtoCalls:
    """What the SDK reads of a result's tool calls when it sends them back: the proto list."""

    _proto_origin: Any

    def __bool__(self) -> bool:
        return bool(self._proto_origin.tool_calls)


@dataclass(frozen=True)
class _GrpcCallsMessage:
    """An assistant message with calls, in the shape the SDK's `TextMessageWithToolCallsProtocol`
    checks for (it sends `tool_calls._proto_origin` and drops `text`)."""

    role: str
    text: str
    tool_calls: _ProtoCalls


def _grpc_calls(message: Mapping[str, Any]) -> _GrpcCallsMessage:
    calls = []
    for call in message["tool_calls"]:
        arguments = struct_pb2.Struct()
        raw = call["arguments"]
        arguments.update(json.loads(raw) if isinstance(raw, str) else dict(raw))
        function = common.FunctionCall(name=call["name"], arguments=arguments)
        calls.append(common.ToolCall(function_call=function))
    return _GrpcCallsMessage(
        "assistant", str(message.get("text") or ""), _ProtoCalls(common.ToolCallList(tool_calls=calls))
    )
