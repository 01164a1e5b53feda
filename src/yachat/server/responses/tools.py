"""The hosted tools a response may use: web search, file search, remote MCP servers.

They are prepared before the response starts, so what cannot work (an unknown
vector store, an MCP server that does not answer) is an HTTP error, not a stream
cut short. The searches run when the newest input is the user's (a turn that
only answers calls does not search again), with that message as the query.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator
from http import HTTPStatus
from typing import Any

from yachat.server.engines.base import ChatMessage, ToolCall, ToolDef
from yachat.server.responses import mcp_client, web_search
from yachat.server.responses.errors import ResponsesError, not_found
from yachat.server.responses.events import Event, EventWriter
from yachat.server.responses.items import new_id, text_of
from yachat.server.responses.request import needs_approval
from yachat.server.responses.run import HostedStep, Run

log = logging.getLogger(__name__)

RESULTS_INCLUDE = "file_search_call.results"


class SearchStep(HostedStep):
    """A web or file search: its call item, the steps of its progress, and what the model reads."""

    def __init__(
        self, kind: str, query: str, done: dict[str, Any], digest: str, citations: list[Any]
    ) -> None:
        self.kind = kind  # web_search_call | file_search_call
        self.query = query
        self.done_fields = done
        self.digest = digest
        self.citations = citations

    def run(self, writer: EventWriter) -> Iterator[Event]:
        item: dict[str, Any] = {"id": new_id(), "type": self.kind, "status": "in_progress", "valid": True}
        if self.kind == "web_search_call":
            item["action"] = {"type": "search", "query": "", "sources": None, "valid": True}
        else:
            item.update(queries=[], results=None)
        index, added = writer.add(item)
        yield added
        yield writer.item_event(index, "in_progress")
        yield writer.item_event(index, "searching")
        item.update(self.done_fields)
        yield writer.item_event(index, "completed")
        yield writer.done(index)
        writer.citations += self.citations

    def context(self) -> list[ChatMessage]:
        return [ChatMessage("system", self.digest)]


class ListToolsStep(HostedStep):
    def __init__(self, label: str, tools: list[dict[str, Any]]) -> None:
        self.label = label
        self.tools = tools

    def run(self, writer: EventWriter) -> Iterator[Event]:
        item: dict[str, Any] = {
            "id": new_id(),
            "type": "mcp_list_tools",
            "server_label": self.label,
            "tools": [],
            "error": None,
            "valid": True,
        }
        index, added = writer.add(item)
        yield added
        yield writer.item_event(index, "in_progress")
        item["tools"] = self.tools
        yield writer.item_event(index, "completed")
        yield writer.done(index)


class ApprovedCallsStep(HostedStep):
    """The calls a `mcp_approval_response` answered: made (approved) or told the model declined."""

    def __init__(self, runner: McpRunner, answered: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        self.runner = runner
        self.answered = answered
        self.declined: list[ChatMessage] = []

    def run(self, writer: EventWriter) -> Iterator[Event]:
        for request, answer in self.answered:
            call = ToolCall(request["name"], _arguments(request.get("arguments")), request["id"])
            if answer["approve"]:
                yield from self.runner.call(call, writer, approval_request_id=request["id"])
            else:
                reason = answer.get("reason") or "no reason given"
                self.declined.append(
                    ChatMessage("system", f"The user declined the call {call.name} ({reason}).")
                )

    def context(self) -> list[ChatMessage]:
        return self.declined


class McpRunner:
    """The calls of one request's MCP tools: made at once, or held for the user's approval."""

    def __init__(self) -> None:
        self.servers: dict[str, dict[str, Any]] = {}  # tool name -> its server's config

    def __call__(self, call: ToolCall, writer: EventWriter) -> Generator[Event, None, bool]:
        server = self.servers[call.name]
        if needs_approval(server, call.name):
            item = {
                "id": new_id(),
                "type": "mcp_approval_request",
                "server_label": server["label"],
                "name": call.name,
                "arguments": json.dumps(call.arguments, ensure_ascii=False),
                "valid": True,
            }
            index, added = writer.add(item)
            yield added
            yield writer.done(index)
            return False  # the response ends: the user answers the request
        yield from self.call(call, writer)
        return True

    def call(
        self, call: ToolCall, writer: EventWriter, approval_request_id: str | None = None
    ) -> Iterator[Event]:
        server = self.servers.get(call.name)
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        item: dict[str, Any] = {
            "id": new_id(),
            "type": "mcp_call",
            "server_label": server["label"] if server else "",
            "name": call.name,
            "arguments": "",
            "output": None,
            "error": None,
            "status": "in_progress",
            "approval_request_id": approval_request_id,
            "valid": True,
        }
        index, added = writer.add(item)
        yield added
        yield writer.item_event(index, "in_progress")
        item["arguments"] = arguments
        yield from writer.argument_events(index, "response.mcp_call_arguments", arguments)
        error: str | None
        if server is None:
            output, error = "", f"no MCP server of this request offers the tool {call.name}"
        else:
            output, error = mcp_client.call_tool(server["url"], server["headers"], call.name, call.arguments)
        item.update(output=output, error=error)
        yield writer.item_event(index, "failed" if error else "completed")
        yield writer.done(index, "failed" if error else "completed")


class HostedTools:
    def __init__(self, vector_stores: Any = None) -> None:
        self.vector_stores = vector_stores

    def prepare(self, run: Run, folder: str) -> None:
        """Give the run the steps and server-side tools its request asks for."""
        request = run.request
        newest = request.input_items[-1] if request.input_items else None
        asked = newest is not None and newest.get("type") == "message" and newest.get("role") == "user"
        question = text_of(newest) if asked and newest is not None else ""
        searching = asked and request.tool_choice.mode != "none"
        if request.mcp_servers:
            self._mcp(run)
        if searching and request.web_search is not None:
            run.steps.append(_web_step(question, request.web_search))
        if searching and request.file_search is not None:
            run.steps.append(self._file_step(question, request.file_search, request.include))

    def _file_step(self, query: str, config: dict[str, Any], include: tuple[str, ...]) -> SearchStep:
        store = config["store"]
        if self.vector_stores is None:
            raise not_found(f"Vector store with id '{store}' not found.", param="tools")
        try:
            hits = self.vector_stores.search(store, query, config["limit"])
        except KeyError:
            raise not_found(f"Vector store with id '{store}' not found.", param="tools") from None
        results = [
            {
                "file_id": h.file_id,
                "filename": h.filename,
                "score": h.score,
                "text": h.text,
                "attributes": {},
                "valid": True,
            }
            for h in hits
        ]
        done = {"queries": [query], "results": results if RESULTS_INCLUDE in include else None}
        digest = "File search results:\n" + "\n".join(f"[{h.filename}] {h.text}" for h in hits)
        files = {h.file_id: h.filename for h in hits}
        citations = [
            {"type": "file_citation", "file_id": file_id, "filename": name, "index": 0}
            for file_id, name in files.items()
        ]
        return SearchStep(
            "file_search_call", query, done, digest if hits else "File search found nothing.", citations
        )

    def _mcp(self, run: Run) -> None:
        request = run.request
        runner = McpRunner()
        listed = {
            i.get("server_label"): i.get("tools") or []
            for i in run.context
            if i.get("type") == "mcp_list_tools" and not i.get("error")
        }
        defs: list[ToolDef] = []
        for server in request.mcp_servers:
            tools = listed.get(server["label"])
            if tools is None:  # not listed earlier in this chain: list now, and say so in the output
                try:
                    tools = mcp_client.list_tools(server["url"], server["headers"])
                except mcp_client.McpFailure as exc:
                    raise ResponsesError(
                        HTTPStatus.FAILED_DEPENDENCY,
                        f"Error retrieving tool list from MCP server: '{server['label']}': {exc}",
                        type="external_connector_error",
                        code="mcp_list_tools_failed",
                        param="tools",
                    ) from None
                if server["allowed"] is not None:
                    tools = [t for t in tools if t["name"] in server["allowed"]]
                run.steps.append(ListToolsStep(server["label"], tools))
            for tool in tools:
                if tool["name"] not in runner.servers:
                    runner.servers[tool["name"]] = server
                    schema = tool.get("input_schema") or {}
                    defs.append(ToolDef(tool["name"], tool.get("description") or "", schema))
        run.server_tool_defs = tuple(defs)
        for name in runner.servers:
            run.server_tools[name] = runner
        answered = _approval_answers(run.context, request.input_items)
        if answered:
            run.steps.append(ApprovedCallsStep(runner, answered))


def _web_step(query: str, config: dict[str, Any]) -> SearchStep:
    pages = web_search.search(query, config)
    sources = [{"type": "url", "url": p.url, "valid": True} for p in pages]
    done = {"action": {"type": "search", "query": query, "sources": sources, "valid": True}}
    citations = [{"type": "url_citation", "url": p.url, "title": p.title} for p in pages]
    return SearchStep("web_search_call", query, done, web_search.digest(pages, config), citations)


def _approval_answers(
    context: list[dict[str, Any]], input_items: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    requests = {i["id"]: i for i in context if i.get("type") == "mcp_approval_request"}
    answered = []
    for item in input_items:
        if item.get("type") != "mcp_approval_response":
            continue
        request = requests.get(item["approval_request_id"])
        if request is None:
            raise not_found(
                f"MCP approval request with id '{item['approval_request_id']}' not found.", param="input"
            )
        answered.append((request, item))
    return answered


def _arguments(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
