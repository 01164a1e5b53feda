"""A `POST /v1/responses` body, checked: a bad field is a 400 that names it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yachat.server.engines.base import ToolChoice, ToolDef
from yachat.server.responses.errors import bad_request
from yachat.server.responses.items import normalize_input

HOSTED_TYPES = ("web_search", "web_search_preview", "file_search", "mcp")
MAX_ALLOWED_DOMAINS = 5


@dataclass(frozen=True)
class CreateRequest:
    raw: dict[str, Any]
    model: str
    input_items: list[dict[str, Any]]
    instructions: str | None
    previous_response_id: str | None
    conversation_id: str | None
    store: bool
    stream: bool
    background: bool
    max_output_tokens: int | None
    temperature: float | None
    functions: tuple[ToolDef, ...]
    tool_choice: ToolChoice
    parallel_tool_calls: bool
    include: tuple[str, ...]
    web_search: dict[str, Any] | None = None
    file_search: dict[str, Any] | None = None
    mcp_servers: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    max_tool_calls: int | None = None


def parse_create(data: dict[str, Any]) -> CreateRequest:
    instructions = data.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise bad_request("instructions must be a string", param="instructions")
    previous = data.get("previous_response_id")
    if previous is not None and (not isinstance(previous, str) or not previous):
        raise bad_request("previous_response_id must be a response id", param="previous_response_id")
    conversation = data.get("conversation")
    if isinstance(conversation, dict):
        conversation = conversation.get("id")
    if conversation is not None and (not isinstance(conversation, str) or not conversation):
        raise bad_request("conversation must be a conversation id or {id}", param="conversation")
    if previous and conversation:
        raise bad_request(
            "Mutually exclusive parameters: ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            param="conversation",
        )
    temperature = data.get("temperature")
    if temperature is not None and (
        not isinstance(temperature, int | float) or isinstance(temperature, bool) or not 0 <= temperature <= 1
    ):
        raise bad_request(f"temperature must be between 0 and 1, got {temperature!r}", param="temperature")
    max_output = _positive(data, "max_output_tokens")
    tools = data.get("tools") or []
    if not isinstance(tools, list):
        raise bad_request("tools must be a list", param="tools")
    functions, web, files, servers = _tools(tools)
    parallel = data.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise bad_request("parallel_tool_calls must be true or false", param="parallel_tool_calls")
    include = data.get("include") or []
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        raise bad_request("include must be a list of strings", param="include")
    for flag in ("store", "stream", "background"):
        if data.get(flag) is not None and not isinstance(data.get(flag), bool):
            raise bad_request(f"{flag} must be true or false", param=flag)
    items = normalize_input(data.get("input"))
    if not items and not previous and not conversation:
        raise bad_request("input is required", param="input")
    return CreateRequest(
        raw=data,
        model=str(data.get("model") or ""),
        input_items=items,
        instructions=instructions,
        previous_response_id=previous,
        conversation_id=conversation,
        store=data.get("store") is not False,
        stream=bool(data.get("stream")),
        background=bool(data.get("background")),
        max_output_tokens=max_output,
        temperature=float(temperature) if temperature is not None else None,
        functions=functions,
        tool_choice=_tool_choice(data.get("tool_choice")),
        parallel_tool_calls=parallel if parallel is not None else True,
        include=tuple(include),
        web_search=web,
        file_search=files,
        mcp_servers=servers,
        max_tool_calls=_positive(data, "max_tool_calls"),
    )


def _positive(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise bad_request(f"{key} must be a positive integer, got {value!r}", param=key)
    return value


def _tools(
    tools: list[Any],
) -> tuple[tuple[ToolDef, ...], dict[str, Any] | None, dict[str, Any] | None, tuple[dict[str, Any], ...]]:
    functions: list[ToolDef] = []
    web: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    servers: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise bad_request(f"{where} must be an object", param=where)
        kind = tool.get("type")
        if kind == "function":
            name = tool.get("name")
            if not isinstance(name, str) or not name:
                raise bad_request(f"{where}.name is required", param=f"{where}.name")
            parameters = tool.get("parameters") or {}
            if not isinstance(parameters, dict):
                raise bad_request(f"{where}.parameters must be an object", param=f"{where}.parameters")
            functions.append(ToolDef(name, str(tool.get("description") or ""), parameters))
        elif kind in ("web_search", "web_search_preview"):
            web = _web_search(tool, where)
        elif kind == "file_search":
            if files is not None:
                raise bad_request("only one search index may be used per request", param=where)
            files = _file_search(tool, where)
        elif kind == "mcp":
            servers.append(_mcp(tool, where))
        else:
            raise bad_request(f"Invalid value for '{where}.type': {kind!r}", param=f"{where}.type")
    return tuple(functions), web, files, tuple(servers)


def _web_search(tool: dict[str, Any], where: str) -> dict[str, Any]:
    filters = tool.get("filters") or {}
    if not isinstance(filters, dict):
        raise bad_request(f"{where}.filters must be an object", param=f"{where}.filters")
    domains = filters.get("allowed_domains") or []
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        raise bad_request(
            f"{where}.filters.allowed_domains must be a list of domains", param=f"{where}.filters"
        )
    if len(domains) > MAX_ALLOWED_DOMAINS:
        raise bad_request(
            f"{where}.filters.allowed_domains: at most {MAX_ALLOWED_DOMAINS} domains, got {len(domains)}",
            param=f"{where}.filters.allowed_domains",
        )
    size = tool.get("search_context_size") or "medium"
    if size not in ("low", "medium", "high"):
        raise bad_request(
            f"{where}.search_context_size must be low, medium or high, got {size!r}",
            param=f"{where}.search_context_size",
        )
    # DOC-ws puts user_location inside filters, the schema at the top: either is read.
    location = tool.get("user_location") or filters.get("user_location")
    if location is not None and not isinstance(location, dict):
        raise bad_request(f"{where}.user_location must be an object", param=f"{where}.user_location")
    return {"domains": [d.lower() for d in domains], "size": size, "location": location or {}}


def _file_search(tool: dict[str, Any], where: str) -> dict[str, Any]:
    ids = tool.get("vector_store_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise bad_request(
            f"{where}.vector_store_ids must list a vector store", param=f"{where}.vector_store_ids"
        )
    if len(ids) > 1:
        raise bad_request(
            f"{where}.vector_store_ids: only one search index may be used per request, got {len(ids)}",
            param=f"{where}.vector_store_ids",
        )
    limit = tool.get("max_num_results", 10)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50:
        raise bad_request(f"{where}.max_num_results must be 1 to 50", param=f"{where}.max_num_results")
    return {"store": ids[0], "limit": limit}


def _mcp(tool: dict[str, Any], where: str) -> dict[str, Any]:
    label = tool.get("server_label")
    url = tool.get("server_url")
    if not isinstance(label, str) or not label:
        raise bad_request(f"{where}.server_label is required", param=f"{where}.server_label")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise bad_request(f"{where}.server_url must be an http(s) URL", param=f"{where}.server_url")
    headers = tool.get("headers") or {}
    if not isinstance(headers, dict):
        raise bad_request(f"{where}.headers must be an object", param=f"{where}.headers")
    allowed = tool.get("allowed_tools")
    if isinstance(allowed, dict):
        allowed = allowed.get("tool_names")
    if allowed is not None and not isinstance(allowed, list):
        raise bad_request(f"{where}.allowed_tools must list tool names", param=f"{where}.allowed_tools")
    approval = tool.get("require_approval", "always")
    if approval is None:
        approval = "always"
    if not isinstance(approval, str | dict) or (
        isinstance(approval, str) and approval not in ("always", "never")
    ):
        raise bad_request(
            f"{where}.require_approval must be always or never", param=f"{where}.require_approval"
        )
    return {
        "label": label,
        "url": url,
        "headers": {str(k): str(v) for k, v in headers.items()},
        "allowed": set(allowed) if allowed is not None else None,
        "approval": approval,
    }


def needs_approval(server: dict[str, Any], tool: str) -> bool:
    approval = server["approval"]
    if isinstance(approval, str):
        return approval == "always"
    never = (approval.get("never") or {}).get("tool_names") or []
    return tool not in never


def _tool_choice(raw: Any) -> ToolChoice:
    if raw is None:
        return ToolChoice()
    if raw in ("none", "auto", "required"):
        return ToolChoice(raw)
    if isinstance(raw, dict):
        kind = raw.get("type")
        if kind in ("function", "mcp", "custom") and isinstance(raw.get("name"), str):
            return ToolChoice("required", raw["name"])
        if kind == "allowed_tools" and raw.get("mode") in ("auto", "required"):
            return ToolChoice(raw["mode"])
        if kind in HOSTED_TYPES or kind in ("file_search", "web_search_preview"):
            return ToolChoice()  # hosted tools run before the model answers
    raise bad_request(f"Invalid value for 'tool_choice': {raw!r}", param="tool_choice")
