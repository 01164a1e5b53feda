"""How the scripted engine calls tools: deterministically, from the words of the user's message.

When tools are offered, `tool_choice` is not `none`, and the newest message is
the user's, it calls the offered tools whose names occur in that message as
whole words (ignoring case), in order of first occurrence: all in one answer
when parallel calls are allowed, else one per answer, the next after each
result. `required` with no name found calls the first tool; a named function
is the only one called. The arguments are built from each tool's schema (see
`arguments_for`). Once the results are in, it answers `NAME returned CONTENT`
for each, one line each.
"""

from __future__ import annotations

import re
from typing import Any

from yachat.server.engines.base import ChatMessage, GenerationRequest, ToolCall, ToolDef

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w)")


def planned_calls(request: GenerationRequest) -> list[ToolCall]:
    """The calls this answer makes: none when it should answer with text."""
    tools = request.tools
    choice = request.tool_choice
    if not tools or choice.mode == "none" or not request.messages:
        return []
    newest = request.messages[-1]
    turn = _user_turn(request.messages)
    if turn is None:
        return []
    index, question = turn
    wanted = _wanted(tools, question.text, choice.function, choice.mode == "required")
    if newest is question:
        chosen = wanted if request.parallel_tool_calls else wanted[:1]
    elif newest.role == "tool" and not request.parallel_tool_calls and not choice.function:
        called = {c.name for m in request.messages[index + 1 :] for c in m.tool_calls}
        chosen = [t for t in wanted if t.name not in called][:1]
    else:
        return []
    return [ToolCall(t.name, arguments_for(t, question.text)) for t in chosen]


def results_answer(messages: tuple[ChatMessage, ...]) -> str | None:
    """`NAME returned CONTENT` for each result since the user's message, or None when
    the newest message is not a tool result."""
    if not messages or messages[-1].role != "tool":
        return None
    turn = _user_turn(messages)
    start = turn[0] + 1 if turn is not None else 0
    lines = [f"{r.name} returned {r.content}" for m in messages[start:] for r in m.tool_results]
    return "\n".join(lines) if lines else None


def _user_turn(messages: tuple[ChatMessage, ...]) -> tuple[int, ChatMessage] | None:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index, messages[index]
    return None


def _wanted(tools: tuple[ToolDef, ...], text: str, function: str, required: bool) -> list[ToolDef]:
    if function:
        return [t for t in tools if t.name == function] or [ToolDef(function, "", {})]
    found = [(m.start(), t) for t in tools if (m := _name_in(t.name, text))]
    named = [t for _, t in sorted(found, key=lambda pair: pair[0])]
    if not named and required:
        return [tools[0]]
    return named


def _name_in(name: str, text: str) -> re.Match[str] | None:
    # "Whole word" as a name is written: letters, digits and underscores around it are part of it.
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, re.IGNORECASE)


def arguments_for(tool: ToolDef, text: str) -> dict[str, Any]:
    """The arguments a schema asks for, from the message: an array of numbers gets every
    number in it, a number the first, a string the rest of the message after the tool's
    name, a boolean true, an enum its first value. Values not found are left out unless
    required (then an empty one of the type)."""
    schema = tool.parameters if isinstance(tool.parameters, dict) else {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    numbers = _NUMBER.findall(text)
    out: dict[str, Any] = {}
    for key, prop in properties.items():
        value = _value(prop if isinstance(prop, dict) else {}, tool.name, text, numbers)
        if value is not None:
            out[key] = value
        elif key in required:
            out[key] = _empty(_type_of(prop if isinstance(prop, dict) else {}))
    return out


def _value(prop: dict[str, Any], name: str, text: str, numbers: list[str]) -> Any:
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = _type_of(prop)
    if kind == "array":
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        item_kind = _type_of(items or {})
        if item_kind in ("integer", "number"):
            return [_number(n, item_kind) for n in numbers]
        return None
    if kind in ("integer", "number"):
        return _number(numbers[0], kind) if numbers else None
    if kind == "string":
        return _rest_after(name, text) or None
    if kind == "boolean":
        return True
    return None


def _type_of(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the first real one
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else ""


def _number(text: str, kind: str) -> int | float:
    value = float(text)
    return int(value) if kind == "integer" and value.is_integer() else value


def _rest_after(name: str, text: str) -> str:
    match = _name_in(name, text)
    rest = text[match.end() :] if match else text
    rest = rest.strip().strip(":").strip()
    if rest.endswith(("?", ".")):
        rest = rest[:-1].rstrip()
    return rest


def _empty(kind: str) -> Any:
    return {"array": [], "integer": 0, "number": 0, "string": "", "boolean": False}.get(kind, {})
