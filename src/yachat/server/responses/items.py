"""Input and output items: what a request may send, and what the engine reads from them.

Every item the server keeps has a bare UUID `id`, as Yandex's do, and every
object it writes carries Yandex's extra `"valid": true`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from yachat.server.engines.base import ChatMessage, ToolCall, ToolResult
from yachat.server.responses.errors import bad_request

MESSAGE_ROLES = ("user", "assistant", "system", "developer")
# Output items a client may send back as input (DOC-fnagent resends `response.output`).
ECHOED_TYPES = (
    "reasoning",
    "web_search_call",
    "file_search_call",
    "mcp_call",
    "mcp_list_tools",
    "mcp_approval_request",
)
TEXT_PARTS = ("input_text", "output_text", "text", "summary_text", "reasoning_text")


def new_id() -> str:
    return str(uuid.uuid4())


def normalize_input(raw: Any, param: str = "input") -> list[dict[str, Any]]:
    """The request's input as full items, each with an id; a bad one is a 400 naming it."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [_message("user", raw, f"{param}")]
    if not isinstance(raw, list):
        raise bad_request(f"{param} must be a string or a list of items", param=param)
    return [_item(entry, f"{param}[{i}]") for i, entry in enumerate(raw)]


def _item(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise bad_request(f"{where} must be an object", param=where)
    kind = entry.get("type")
    if kind in (None, "message"):
        role = entry.get("role")
        if role not in MESSAGE_ROLES:
            raise bad_request(f"Invalid value for '{where}.role': {role!r}", param=f"{where}.role")
        item = _message(role, entry.get("content"), where)
        if isinstance(entry.get("id"), str) and entry["id"]:
            item["id"] = entry["id"]
        return item
    if kind == "function_call_output":
        call_id = entry.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise bad_request(f"{where}.call_id is required", param=f"{where}.call_id")
        output = entry.get("output")
        if isinstance(output, list):
            output = "".join(str(p.get("text", "")) for p in output if isinstance(p, dict))
        if not isinstance(output, str):
            raise bad_request(f"{where}.output must be a string", param=f"{where}.output")
        return _kept(entry, {"type": kind, "call_id": call_id, "output": output, "status": "completed"})
    if kind == "function_call":
        for key in ("call_id", "name", "arguments"):
            if not isinstance(entry.get(key), str):
                raise bad_request(f"{where}.{key} is required", param=f"{where}.{key}")
        return _kept(entry, {**entry, "status": entry.get("status") or "completed"})
    if kind == "mcp_approval_response":
        request_id = entry.get("approval_request_id")
        if not isinstance(request_id, str) or not request_id:
            raise bad_request(
                f"{where}.approval_request_id is required", param=f"{where}.approval_request_id"
            )
        if not isinstance(entry.get("approve"), bool):
            raise bad_request(f"{where}.approve must be true or false", param=f"{where}.approve")
        return _kept(entry, dict(entry))
    if kind == "item_reference":
        if not isinstance(entry.get("id"), str):
            raise bad_request(f"{where}.id is required", param=f"{where}.id")
        return dict(entry)
    if kind in ECHOED_TYPES:
        return _kept(entry, dict(entry))
    raise bad_request(f"Invalid value for '{where}.type': {kind!r}", param=f"{where}.type")


def _kept(entry: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    item["id"] = entry.get("id") if isinstance(entry.get("id"), str) and entry.get("id") else new_id()
    item["valid"] = True
    return item


def _message(role: str, content: Any, where: str) -> dict[str, Any]:
    text_type = "output_text" if role == "assistant" else "input_text"
    if isinstance(content, str):
        parts: list[dict[str, Any]] = [{"type": text_type, "text": content}]
    elif isinstance(content, list):
        parts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise bad_request(f"{where}.content[{j}] must be a typed part", param=f"{where}.content")
            parts.append(dict(part))
    else:
        raise bad_request(f"{where}.content must be text or a list of parts", param=f"{where}.content")
    for part in parts:
        part["valid"] = True
        if part["type"] == "output_text":
            part.setdefault("annotations", [])
    return {
        "id": new_id(),
        "type": "message",
        "role": role,
        "content": parts,
        "status": "completed",
        "valid": True,
    }


def text_of(item: dict[str, Any]) -> str:
    """The text of a message item's parts (images and files are named, not read)."""
    out = []
    for part in item.get("content") or []:
        kind = part.get("type")
        if kind in TEXT_PARTS:
            out.append(str(part.get("text", "")))
        elif kind == "refusal":
            out.append(str(part.get("refusal", "")))
        elif kind == "input_file":
            out.append(f"[file {part.get('filename') or part.get('file_id') or ''}]")
        elif kind == "input_image":
            out.append("[image]")
    return "".join(out)


def messages_of(items: list[dict[str, Any]], instructions: str | None) -> tuple[ChatMessage, ...]:
    """What the engine reads: the items as chat messages (calls and results as the chat API has them)."""
    messages: list[ChatMessage] = [ChatMessage("system", instructions)] if instructions else []
    names: dict[str, str] = {}
    for item in items:
        kind = item.get("type")
        if kind == "message":
            role = "system" if item["role"] == "developer" else item["role"]
            messages.append(ChatMessage(role, text_of(item)))
        elif kind == "function_call":
            names[item["call_id"]] = item["name"]
            _add_call(messages, ToolCall(item["name"], _arguments(item.get("arguments")), item["call_id"]))
        elif kind == "function_call_output":
            name = names.get(item["call_id"])
            if name is None:
                raise bad_request(
                    f"No tool call found for function call output with call_id {item['call_id']}.",
                    param="input",
                )
            _add_result(messages, ToolResult(name, item["output"], item["call_id"]))
        elif kind == "mcp_call" and item.get("status") != "in_progress":
            call = ToolCall(str(item.get("name")), _arguments(item.get("arguments")), item["id"])
            _add_call(messages, call)
            output = item.get("output") if item.get("error") is None else f"error: {item.get('error')}"
            _add_result(messages, ToolResult(call.name, str(output or ""), item["id"]))
        elif kind in ("web_search_call", "file_search_call"):
            seen = search_digest(item)
            if seen:
                messages.append(ChatMessage("system", seen))
    return tuple(messages)


def search_digest(item: dict[str, Any]) -> str:
    """A hosted search, as later turns read it: what was looked for and what was found."""
    if item.get("type") == "web_search_call":
        action = item.get("action") or {}
        urls = [s.get("url", "") for s in action.get("sources") or []]
        return f"web search for {action.get('query', '')!r} found: {', '.join(urls)}"
    results = item.get("results") or []
    names = [str(r.get("filename", "")) for r in results]
    return f"file search for {item.get('queries')} found: {', '.join(names)}"


def _add_call(messages: list[ChatMessage], call: ToolCall) -> None:
    last = messages[-1] if messages else None
    if last is not None and last.role == "assistant" and last.tool_calls and not last.text:
        messages[-1] = ChatMessage("assistant", "", tool_calls=(*last.tool_calls, call))
    else:
        messages.append(ChatMessage("assistant", "", tool_calls=(call,)))


def _add_result(messages: list[ChatMessage], result: ToolResult) -> None:
    last = messages[-1] if messages else None
    if last is not None and last.role == "tool":
        messages[-1] = ChatMessage("tool", "", tool_results=(*last.tool_results, result))
    else:
        messages.append(ChatMessage("tool", "", tool_results=(result,)))


def _arguments(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
