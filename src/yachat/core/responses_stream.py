"""An answer over the Responses API, streamed (`POST /responses`, `stream: true`, through the
`openai` client), read as yachat's parts.

`ResponsesRounds` is what the run asks for each round's results, like
`transport.stream` for gRPC and the chat API: it yields `StreamChunk`s (the text and
reasoning so far, the function calls as their arguments grow, how the answer ended),
so the run's streamer, the tool loop and every front end work unchanged. What the
Responses API adds is told to the run beside the chunks (`ResponsesSide`):

- web and file search calls and remote MCP calls, which Yandex runs itself, become
  entries of the answer (already run, never sent back as input);
- `url_citation`s become web sources under the answer, `file_citation`s sources too;
- an `mcp_approval_request` ends the round like a function call: the tool loop asks the
  user (its approval, its "always" answers), and the next round answers it with an
  `mcp_approval_response` (Yandex then runs the call, or not).

The first request of an answer chains on the thread's last stored response when the
run's plan says it may (`previous_response_id`, only the new messages); if the server
no longer knows that response (400/404) it is sent again, once, with the whole fitted
history. Later rounds (function results, approval answers) chain on the round before.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from yachat.core.errors import UserFacingError
from yachat.core.events import SourcesFound, Usage
from yachat.core.responses_errors import ResponseFailed, explain_openai, failed
from yachat.core.responses_wire import HOSTED_PREFIX, HOSTED_SEARCH, is_hosted
from yachat.core.run_stream import RunStreamer
from yachat.core.store_writes import write_soon
from yachat.core.tools.loop import Call
from yachat.core.tools.spec import ToolOutcome, ToolProvider, ToolSpec
from yachat.core.transport import StreamChunk, ToolCallChunk, model_label
from yachat.store.knowledge import WEB_SOURCE, Passage
from yachat.store.models import ToolStatus

log = logging.getLogger(__name__)

# How long a hosted call's result is kept in the answer's entry.
HOSTED_OUTPUT_CHARS = 4000
_INCOMPLETE = {"max_output_tokens": "TRUNCATED_FINAL", "content_filter": "CONTENT_FILTER"}
_HOSTED_TOOLS = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "mcp_call": "",  # named by the item
    "mcp_list_tools": "list_tools",
    "code_interpreter_call": "code_interpreter",
}


@dataclass
class ChainPlan:
    """What the first request of an answer sends."""

    items: list[dict[str, Any]]  # the input: only the new messages when chained, else all
    previous_response_id: str | None = None
    full_items: list[dict[str, Any]] = field(default_factory=list)  # the fallback's input
    reason: str = ""  # why it does (not) chain, for the log


Json = dict[str, Any]  # an event, an item, a response: the stream's JSON as parsed


class ResponsesSide:
    """What a response tells beside its text: hosted calls, citations. Applied to the run."""

    def __init__(
        self,
        streamer: RunStreamer | None,
        given: Sequence[Passage] = (),
        local_path: Callable[[str], str | None] | None = None,
    ) -> None:
        self.streamer = streamer
        self.given = tuple(given)  # the knowledge passages the prompt holds, numbered [1..n]
        # A cloud file id -> the local file it is a copy of (`kb push`), for file citations.
        self.local_path = local_path or (lambda _file_id: None)
        self.sources: list[Passage] = []
        self._seen: set[str] = set()
        self._open: set[str] = set()  # hosted items shown as entries
        self._published = 0  # sources already told

    def hosted_started(self, item: Json) -> None:
        item_id = str(item.get("id") or "")
        if self.streamer is None or item_id in self._open:
            return
        self._open.add(item_id)
        tool, server = _hosted_name(item)
        self.streamer.hosted_started(item_id, tool, server)

    def hosted_done(self, item: Json) -> None:
        self.hosted_started(item)
        if self.streamer is None:
            return
        arguments, output, is_error = _hosted_outcome(item)
        status = ToolStatus.FAILED if is_error else ToolStatus.DONE
        self.streamer.hosted_finished(str(item.get("id") or ""), arguments, output, is_error, status)

    def citation(self, annotation: Any) -> None:
        kind = _field(annotation, "type")
        if kind == "url_citation":
            self.web_source(str(_field(annotation, "url") or ""), str(_field(annotation, "title") or ""))
        elif kind == "file_citation":
            file_id = str(_field(annotation, "file_id") or "")
            name = self.local_path(file_id) or _field(annotation, "filename") or file_id
            self._source(str(name or ""), "file", "")

    def web_source(self, url: str, title: str) -> None:
        if url:
            self._source(url, WEB_SOURCE, title)

    def _source(self, path: str, kind: str, heading: str) -> None:
        if not path or path in self._seen:
            return
        self._seen.add(path)
        number = len(self.given) + len(self.sources) + 1
        self.sources.append(Passage(path, kind, heading, 0, 0, "", None, number))

    def publish(self) -> None:
        """Store the sources found so far and show them under the answer, the knowledge's first."""
        streamer = self.streamer
        if streamer is None or len(self.sources) == self._published:
            return
        self._published = len(self.sources)
        ctx = streamer.ctx
        write_soon(ctx.store.record_sources, ctx.run_id, list(self.sources))
        streamer.emit(SourcesFound(*streamer.ids, sources=(*self.given, *self.sources)))


class ResponseEvents:
    """A round's stream events as StreamChunks."""

    def __init__(self, side: ResponsesSide) -> None:
        self.side = side
        self.text = ""
        self.reasoning = ""
        self.calls: list[ToolCallChunk] = []
        self.wire_ids: list[str] = []  # each call's call_id as the server named it, in order
        self.approvals: dict[int, Json] = {}  # a call's index -> the approval request it stands for
        self.response_id: str | None = None
        self.usage: Usage | None = None
        self.context_tokens: int | None = None
        self.status: str | None = None
        self.model: str | None = None
        self._by_item: dict[str, int] = {}  # a function_call item's id -> its index in `calls`
        self._text_items: set[str] = set()  # message items whose text streamed as deltas
        self._reasoning_items: set[str] = set()
        self._gap = False  # a new message item after text: a paragraph between them

    def __call__(self, event: Json) -> StreamChunk | None:
        kind = event.get("type")
        if kind == "response.output_text.delta" or kind == "response.refusal.delta":
            self._text_items.add(str(event.get("item_id")))
            return self._more_text(str(event.get("delta") or ""))
        if kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
            self._reasoning_items.add(str(event.get("item_id")))
            self.reasoning += str(event.get("delta") or "")
            return self._chunk()
        if kind == "response.function_call_arguments.delta":
            return self._grow(_key(event), str(event.get("delta") or ""), whole=False)
        if kind == "response.function_call_arguments.done":
            return self._grow(_key(event), str(event.get("arguments") or ""), whole=True)
        if kind == "response.output_text.annotation.added":
            self.side.citation(event.get("annotation"))
            return None
        if kind == "response.output_text.done":
            item_id = str(event.get("item_id"))
            if item_id not in self._text_items and event.get("text"):
                self._text_items.add(item_id)
                return self._more_text(str(event["text"]))
            return None
        if kind == "response.output_item.added":
            return self._item_added(event.get("item") or {}, event.get("output_index"))
        if kind == "response.output_item.done":
            return self._item_done(event.get("item") or {}, event.get("output_index"))
        response = event.get("response") or {}
        if kind in ("response.created", "response.in_progress", "response.queued"):
            self._response(response)
            return None
        if kind == "response.completed":
            self._response(response)
            self.status = "TOOL_CALLS" if self.calls else "FINAL"
            return self._chunk(done=True)
        if kind == "response.incomplete":
            self._response(response)
            reason = str(_field(response.get("incomplete_details"), "reason") or "")
            self.status = _INCOMPLETE.get(reason, "TRUNCATED_FINAL")
            return self._chunk(done=True)
        if kind == "response.failed":
            self._response(response)
            raise failed(response.get("error") or {"message": "the response failed"})
        if kind == "error":
            raise failed(event, "The server stopped the answer")
        return None

    # -- items -------------------------------------------------------------------

    def _item_added(self, item: Json, output_index: Any) -> StreamChunk | None:
        kind = item.get("type")
        if kind == "function_call":
            key = str(item.get("id") or f"#{output_index}")
            self._by_item[key] = len(self.calls)
            call_id = str(item.get("call_id") or "")
            self.calls.append(ToolCallChunk(len(self.calls), call_id, str(item.get("name") or ""), ""))
            self.wire_ids.append(call_id or str(item.get("id") or ""))
            return self._grow(key, str(item.get("arguments") or ""), whole=True) or self._chunk()
        if kind == "message":
            self._gap = bool(self.text)
        elif kind in _HOSTED_TOOLS:
            self.side.hosted_started(item)
        return None

    def _item_done(self, item: Json, output_index: Any) -> StreamChunk | None:
        kind = item.get("type")
        item_id = str(item.get("id") or "")
        if kind == "function_call":
            key = item_id or f"#{output_index}"
            if key not in self._by_item:
                self._item_added(item, output_index)
            return self._grow(key, str(item.get("arguments") or ""), whole=True)
        if kind in _HOSTED_TOOLS:
            self.side.hosted_done(item)
        elif kind == "mcp_approval_request":
            return self._approval(item)
        elif kind == "message":
            text = ""
            for part in item.get("content") or ():
                for annotation in _field(part, "annotations") or ():
                    self.side.citation(annotation)
                if item_id not in self._text_items:
                    text += str(_field(part, "text") or _field(part, "refusal") or "")
            if text:
                self._text_items.add(item_id)
                return self._more_text(text)
        elif kind == "reasoning" and item_id not in self._reasoning_items:
            said = [str(_field(p, "text") or "") for p in (item.get("content") or item.get("summary") or ())]
            if any(said):
                self._reasoning_items.add(item_id)
                self.reasoning += "\n\n".join(s for s in said if s)
                return self._chunk()
        return None

    def _approval(self, item: Json) -> StreamChunk:
        """A remote MCP call waiting for the user: a call of the round, for the tool loop."""
        index = len(self.calls)
        request_id = str(item.get("id") or "")
        name, server = _hosted_name(item)
        self.approvals[index] = item
        self.wire_ids.append(request_id)
        if self.side.streamer is not None:
            self.side.streamer.ctx.tool_servers.setdefault(name, server)
        self.calls.append(ToolCallChunk(index, request_id, name, str(item.get("arguments") or "{}")))
        return self._chunk()

    def _more_text(self, delta: str) -> StreamChunk:
        if self._gap:
            self._gap = False
            delta = "\n\n" + delta
        self.text += delta
        return self._chunk()

    def _grow(self, key: str, text: str, whole: bool) -> StreamChunk | None:
        index = self._by_item.get(key)
        if index is None:
            return None
        old = self.calls[index]
        arguments = text if whole else old.arguments + text
        if arguments == old.arguments:
            return None
        # A new object per change: chunks already handed out keep the state they had.
        self.calls[index] = ToolCallChunk(index, old.call_id, old.name, arguments)
        return self._chunk()

    def _response(self, response: Json) -> None:
        self.response_id = str(response.get("id") or "") or self.response_id
        if response.get("model"):
            self.model = model_label(str(response["model"]))
        usage = response.get("usage")
        if usage:
            details = usage.get("output_tokens_details") or {}
            done = (int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))
            self.usage = Usage(*done, int(usage.get("total_tokens") or 0), details.get("reasoning_tokens"))
            self.context_tokens = sum(done)

    def _chunk(self, done: bool = False) -> StreamChunk:
        return StreamChunk(
            text=self.text,
            reasoning=self.reasoning,
            status=self.status if done else None,
            usage=self.usage if done else None,
            model_version=self.model,
            tool_calls=tuple(self.calls),
        )


async def _chunks(stream: Any, events: ResponseEvents) -> AsyncIterator[StreamChunk]:
    async for event in stream:
        chunk = events(event)
        if chunk is not None:
            yield chunk


def _key(event: Json) -> str:
    """The function call an arguments event is about: its item id, else its place."""
    return str(event.get("item_id") or f"#{event.get('output_index')}")


class ResponsesRounds:
    """The rounds of one answer over the Responses API; called like `transport.stream`."""

    def __init__(
        self,
        client: Any,
        *,
        body: Mapping[str, Any],
        plan: ChainPlan,
        side: ResponsesSide,
        backend_kind: str = "cloud",
    ) -> None:
        self.client = client
        self.body = dict(body)  # model, instructions, tools, options: the same every request
        self.plan = plan
        self.side = side
        self.backend_kind = backend_kind
        self.response_id: str | None = None  # the last response of the answer so far
        self.context_tokens: int | None = None
        self.chained: bool | None = None  # whether the first request went out chained
        self._events: ResponseEvents | None = None

    def __call__(self, messages: Sequence[Mapping[str, Any]]) -> AsyncIterator[StreamChunk]:
        return self._round(messages)

    async def _round(self, messages: Sequence[Mapping[str, Any]]) -> AsyncIterator[StreamChunk]:
        before = self._events
        if before is None or self.response_id is None:
            previous, items = self.plan.previous_response_id, self.plan.items
        else:
            # After the loop's calls: their results (or approval answers), on the response
            # that asked for them.
            previous, items = self.response_id, self._results(messages, before)
        events = self._events = ResponseEvents(self.side)
        async for chunk in self._request(previous, items, events):
            yield chunk
        if events.response_id:
            self.response_id = events.response_id
            self.context_tokens = events.context_tokens
        # Before the run's end is told: a front end lists them under the answer it finishes.
        self.side.publish()

    def name_hosted(self, calls: Sequence[Call]) -> None:
        """Give the round's approval requests their tools (the loop knows only its own)."""
        events = self._events
        if events is None:
            return
        for index, call in enumerate(calls):
            request = events.approvals.get(index)
            if request is not None and call.spec is None:
                call.spec = ToolSpec(
                    name=call.name,
                    description=f"a tool of the remote MCP server {request.get('server_label') or ''}",
                    parameters={},
                    server=_hosted_name(request)[1],
                )

    def provider(self, tools: ToolProvider) -> ToolProvider:
        """The loop's tools, and the remote MCP calls the user approves (Yandex runs them)."""
        return _ApprovedRemotely(tools)

    async def _request(
        self, previous: str | None, items: list[dict[str, Any]], events: ResponseEvents
    ) -> AsyncIterator[StreamChunk]:
        first = self.chained is None
        stream = await self._open(previous, items, first)
        yielded = False
        try:
            try:
                async for chunk in _chunks(stream, events):
                    yielded = True
                    yield chunk
            except ResponseFailed as exc:
                if not (first and self.chained and not yielded):
                    raise
                # The chained request failed before it said anything (a server that tells an
                # unknown previous response in the stream): the same answer, unchained.
                log.info("chained response failed (%s); sending the whole history", exc.message)
                await _close(stream)
                stream = await self._open(None, self.plan.full_items, False)
                self.chained = False
                async for chunk in _chunks(stream, events):
                    yield chunk
        except Exception as exc:
            raise self._explained(exc) from exc
        finally:
            with anyio.CancelScope(shield=True):
                await _close(stream)

    async def _open(self, previous: str | None, items: list[dict[str, Any]], first: bool) -> Any:
        import openai

        body = {**self.body, "input": items, "store": True, "stream": True}
        if previous:
            body["previous_response_id"] = previous
        try:
            # The client's own request, SSE reading and errors, with each event left as parsed
            # JSON: its typed events (`responses.create`) cost ~0.4 ms each to validate, a
            # third of a 2,000-delta stream's time (measured), and yachat reads a few fields.
            stream = await self.client.post(
                "/responses", cast_to=object, body=body, stream=True, stream_cls=openai.AsyncStream[object]
            )
        except (openai.BadRequestError, openai.NotFoundError) as exc:
            if not (first and previous):
                raise self._explained(exc) from exc
            # Expired (30 days), deleted, or never known here: say nothing, send it all.
            log.info(
                "previous response %s refused (%s); sending the whole history", previous, exc.status_code
            )
            self.chained = False
            return await self._open(None, self.plan.full_items, False)
        except Exception as exc:
            raise self._explained(exc) from exc
        if first:
            self.chained = bool(previous)
        return stream

    def _explained(self, exc: BaseException) -> BaseException:
        if isinstance(exc, UserFacingError):
            return exc
        said = explain_openai(exc, backend_kind=self.backend_kind, base_url=str(self.client.base_url))
        return said if said is not None else exc

    @staticmethod
    def _results(messages: Sequence[Mapping[str, Any]], events: ResponseEvents) -> list[dict[str, Any]]:
        """The last tool turn's results as `function_call_output`s under the call ids the
        server gave (the run may have renamed a repeated one), and the approval requests'
        answers as `mcp_approval_response`s."""
        results = messages[-1].get("tool_results") or [] if messages else []
        items: list[dict[str, Any]] = []
        for index, result in enumerate(results):
            wire_id = events.wire_ids[index] if index < len(events.wire_ids) else ""
            if index in events.approvals:
                approve = result.get("content") == APPROVED
                items.append(
                    {"type": "mcp_approval_response", "approval_request_id": wire_id, "approve": approve}
                )
            else:
                output = str(result.get("content") or "")
                items.append(
                    {"type": "function_call_output", "call_id": wire_id or result["id"], "output": output}
                )
        return items


# What the loop's entry for an approved remote MCP call says; Yandex's own entry for the
# call (its output) follows in the next round.
APPROVED = "Approved: Yandex runs the call on the remote MCP server."


class _ApprovedRemotely:
    def __init__(self, tools: ToolProvider) -> None:
        self._tools = tools

    def tools(self) -> list[ToolSpec]:
        return self._tools.tools()

    async def call(self, tool: ToolSpec, arguments: dict[str, Any], timeout_s: float) -> ToolOutcome:
        if is_hosted(tool.server):
            return ToolOutcome(APPROVED)
        return await self._tools.call(tool, arguments, timeout_s)


def _hosted_name(item: Any) -> tuple[str, str]:
    kind = item.get("type")
    if kind in ("mcp_call", "mcp_list_tools", "mcp_approval_request"):
        label = str(_field(item, "server_label") or "mcp")
        tool = str(_field(item, "name") or _HOSTED_TOOLS.get(kind) or "list_tools")
        return tool, HOSTED_PREFIX + label
    return _HOSTED_TOOLS.get(kind, kind), HOSTED_SEARCH


def _hosted_outcome(item: Any) -> tuple[str, str, bool]:
    """(arguments, output, is_error) of a hosted call, as its entry shows them."""
    kind = item.get("type")
    error = _field(item, "error")
    status = str(_field(item, "status") or "")
    if kind == "web_search_call":
        action = _field(item, "action")
        query = _field(action, "query") or ""
        urls = [u for u, _ in _searched(item)]
        pages = "\n".join(urls) or "no pages found"
        return json.dumps({"query": query}, ensure_ascii=False), pages, status == "failed"
    if kind == "file_search_call":
        queries = list(_field(item, "queries") or [])
        results = _field(item, "results") or []
        found = [str(_field(r, "filename") or _field(r, "file_id") or "") for r in results]
        listed = "\n".join(found) or "nothing found"
        return json.dumps({"queries": queries}, ensure_ascii=False), listed, status == "failed"
    if kind == "mcp_list_tools":
        names = [str(_field(t, "name") or "") for t in _field(item, "tools") or ()]
        return "", str(error) if error else ", ".join(names), bool(error)
    arguments = str(_field(item, "arguments") or "")
    output = str(error if error else _field(item, "output") or "")
    return arguments, output[:HOSTED_OUTPUT_CHARS], bool(error) or status == "failed"


def _searched(item: Any) -> list[tuple[str, str]]:
    """The pages a web search call names: its action's sources."""
    if item.get("type") != "web_search_call":
        return []
    action = _field(item, "action")
    sources = _field(action, "sources") or ()
    return [(str(_field(s, "url") or ""), str(_field(s, "title") or "")) for s in sources if _field(s, "url")]


def _field(value: Any, name: str) -> Any:
    if type(value) is dict:  # every event and item: the stream's JSON as parsed
        return value.get(name)
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


async def _close(stream: Any) -> None:
    try:
        await stream.close()
    except Exception:
        log.debug("closing the Responses stream failed", exc_info=True)
