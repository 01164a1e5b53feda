"""yachat's prompt and tools in the Responses API's shapes.

The core keeps a prompt as neutral messages (see `core/prompt.py`); the Responses API
takes the system message as `instructions` and the rest as input items:

    {"role": "user"|"assistant", "content": text}
    {"type": "function_call", "call_id", "name", "arguments": JSON text}
    {"type": "function_call_output", "call_id", "output": text}

Function tools are flat (`{"type": "function", "name", "parameters"}`), not the chat
API's nested `function`. Hosted tools (web search, file search, remote MCP) run at
Yandex; their calls come back as entries of the answer, never as input again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from yachat.core.tools.spec import ToolSpec
from yachat.core.tools.wire import object_schema
from yachat.store.models import Assistant, RemoteMcp, WebSearch

WEB_SEARCH_DOMAINS_AT_MOST = 5  # Yandex's limit

# The `server` of an answer's entries for the tools Yandex runs itself (web and file search);
# a remote MCP server's entries are `HOSTED_PREFIX + label`. Prompts leave them out.
HOSTED_PREFIX = "cloud:"
HOSTED_SEARCH = HOSTED_PREFIX + "search"


def is_hosted(server: str | None) -> bool:
    return bool(server) and str(server).startswith(HOSTED_PREFIX)


def model_uri(folder: str, name: str, version: str) -> str:
    """`gpt://folder/name/version`; a name that is already a URI passes whole."""
    if "://" in name:
        return name
    return f"gpt://{folder}/{name}/{version or 'latest'}"


def split_prompt(messages: Sequence[Mapping[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """The instructions (the leading system message) and the rest as input items."""
    instructions = None
    rest: Sequence[Mapping[str, Any]] = messages
    if messages and messages[0].get("role") == "system":
        instructions, rest = str(messages[0].get("text") or ""), messages[1:]
    return instructions, input_items(rest)


def input_items(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.get("tool_calls"):
            if message.get("text"):
                items.append({"role": "assistant", "content": str(message["text"])})
            items += [
                {
                    "type": "function_call",
                    "call_id": call["id"],
                    "name": call["name"],
                    "arguments": _json_text(call.get("arguments")),
                }
                for call in message["tool_calls"]
            ]
        elif message.get("tool_results") is not None:
            items += [
                {"type": "function_call_output", "call_id": r["id"], "output": str(r.get("content") or "")}
                for r in message["tool_results"]
            ]
        elif message.get("role") == "system":
            # A system message after the first (none today): the API takes it as a developer turn.
            items.append({"role": "developer", "content": str(message.get("text") or "")})
        else:
            items.append(
                {"role": str(message.get("role") or "user"), "content": str(message.get("text") or "")}
            )
    return items


def function_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "name": tool.name,
            "description": tool.description or tool.name,
            "parameters": object_schema(tool.parameters),
        }
        for tool in tools
    ]


def hosted_tools(assistant: Assistant, web_search: bool = False) -> list[dict[str, Any]]:
    """The tools Yandex runs for `assistant`: its web search (on for this question when
    `web_search`), its remote MCP servers."""
    tools: list[dict[str, Any]] = []
    search = assistant.web_search
    if web_search or (search is not None and search.enabled):
        tools.append(web_search_tool(search or WebSearch()))
    tools += [mcp_tool(server) for server in assistant.remote_mcp]
    return tools


def web_search_tool(search: WebSearch) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "web_search"}
    if search.domains:
        tool["filters"] = {"allowed_domains": list(search.domains[:WEB_SEARCH_DOMAINS_AT_MOST])}
    if search.region:
        # Yandex's schema has it at the top of the tool (one page of its docs, in `filters`).
        tool["user_location"] = {"region": search.region}
    if search.context_size:
        tool["search_context_size"] = search.context_size
    return tool


def mcp_tool(server: RemoteMcp) -> dict[str, Any]:
    tool: dict[str, Any] = {
        "type": "mcp",
        "server_label": server.label,
        "server_url": server.url,
        "require_approval": server.require_approval,
    }
    if server.headers:
        tool["headers"] = dict(server.headers)
    return tool


def fingerprint(model: str, instruction: str, tools: Sequence[Mapping[str, Any]]) -> str:
    """What a stored response was made with: a chain goes on only while this stays the same."""
    blob = json.dumps([model, instruction, list(tools)], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _json_text(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
