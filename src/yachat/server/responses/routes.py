"""`/v1/responses` and `/v1/conversations` on the local server's HTTP port.

The chat API's server hands every request under these paths to `ResponsesApi.handle`
(see http_api's routing); auth is its check (`Authorization: Bearer|Api-Key <token>`).
A refused request is an HTTP status with Yandex's error body; once a stream has
started, a failure is `error` and `response.failed` events.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from yachat.server.admission import ContextExceeded, admit
from yachat.server.engines.base import Engine
from yachat.server.http_api import MAX_BODY_BYTES, ApiError
from yachat.server.http_api import _peer_gone as peer_gone
from yachat.server.responses.errors import (
    ResponsesError,
    bad_request,
    not_found,
    not_supported,
    unauthorized,
)
from yachat.server.responses.events import Event, EventWriter
from yachat.server.responses.items import messages_of, new_id, normalize_input
from yachat.server.responses.models import request_folder, resolve_model
from yachat.server.responses.paging import page
from yachat.server.responses.request import CreateRequest, parse_create
from yachat.server.responses.run import Run
from yachat.server.responses.state import Conversation, State, StoredResponse
from yachat.server.responses.tools import HostedTools

log = logging.getLogger(__name__)

_RESPONSE = re.compile(r"^/v1/responses/([^/]+)(/cancel|/input_items)?$")
_CONVERSATION = re.compile(r"^/v1/conversations/([^/]+)(?:/items(?:/([^/]+))?)?$")


class ResponsesApi:
    prefixes = ("/v1/responses", "/v1/conversations")

    def __init__(
        self,
        engine: Engine,
        authorize: Callable[[str | None], None],
        state: State,
        tools: HostedTools | None = None,
    ) -> None:
        self.engine = engine
        self._authorize = authorize
        self.state = state
        self.tools = tools or HostedTools()

    def serves(self, path: str) -> bool:
        return (
            path == self.prefixes[0]
            or path == self.prefixes[1]
            or path.startswith(tuple(p + "/" for p in self.prefixes))
        )

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path, _, query = handler.path.partition("?")
        path = path.rstrip("/")
        exchange = Exchange(handler)
        try:
            body = exchange.read_body() if method == "POST" else b""
            try:
                self._authorize(handler.headers.get("Authorization"))
            except ApiError as error:
                raise unauthorized(error.message) from None
            self._route(exchange, method, path, query, body)
        except ResponsesError as error:
            exchange.send_json(error.status, error.body())
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
        except Exception:  # never a traceback on the wire
            log.exception("responses: %s %s failed", method, path)
            failure = ResponsesError(500, "the local server failed; see its log", type="server_error")
            exchange.send_json(failure.status, failure.body())

    # -- routing ---------------------------------------------------------------

    def _route(self, exchange: Exchange, method: str, path: str, query: str, body: bytes) -> None:
        folder = exchange.folder()
        if path == "/v1/responses" and method == "POST":
            self._create(exchange, _json_object(body))
            return
        if path == "/v1/conversations" and method == "POST":
            exchange.send_json(200, self._create_conversation(_json_object(body), folder))
            return
        if match := _RESPONSE.match(path):
            response_id, action = match.group(1), match.group(2)
            if action is None and method == "GET":
                exchange.send_json(200, self._stored(response_id, folder).body)
            elif action is None and method == "DELETE":
                if not self.state.delete(response_id, folder):
                    raise _no_response(response_id)
                exchange.send_json(200, {"id": response_id, "object": "response.deleted", "deleted": True})
            elif action == "/cancel" and method == "POST":
                exchange.send_json(200, self._cancel(response_id, folder))
            elif action == "/input_items" and method == "GET":
                exchange.send_json(200, page(self._stored(response_id, folder).input_items, query))
            else:
                raise _no_route(method, path)
            return
        if match := _CONVERSATION.match(path):
            self._conversation_route(exchange, method, path, query, body, folder, match)
            return
        raise _no_route(method, path)

    def _conversation_route(
        self,
        exchange: Exchange,
        method: str,
        path: str,
        query: str,
        body: bytes,
        folder: str | None,
        match: re.Match[str],
    ) -> None:
        conversation_id, item_id = match.group(1), match.group(2)
        items_route = path.endswith("/items") or item_id is not None
        conversation = self.state.conversation(conversation_id, folder)
        if conversation is None:
            raise not_found(f"Conversation with id '{conversation_id}' not found.", param="conversation_id")
        if not items_route:
            if method == "GET":
                exchange.send_json(200, conversation.public())
            elif method == "POST":
                raise not_supported("Updating a conversation")
            elif method == "DELETE":
                raise not_supported("Deleting a conversation")
            else:
                raise _no_route(method, path)
        elif item_id is None:
            if method == "GET":
                exchange.send_json(200, page(self.state.conversation_items(conversation), query))
            elif method == "POST":
                data = _json_object(body)
                items = normalize_input(data.get("items"), "items")
                if not items:
                    raise bad_request("items: at least one item is required", param="items")
                self.state.append_items(conversation, items)
                exchange.send_json(200, page(items, "order=asc&limit=100"))
            else:
                raise _no_route(method, path)
        else:
            if method == "DELETE":
                raise not_supported("Deleting a conversation item")
            if method != "GET":
                raise _no_route(method, path)
            found = next(
                (i for i in self.state.conversation_items(conversation) if i.get("id") == item_id), None
            )
            if found is None:
                raise not_found(f"Item with id '{item_id}' not found.", param="item_id")
            exchange.send_json(200, found)

    # -- responses -------------------------------------------------------------

    def _stored(self, response_id: str, folder: str | None) -> StoredResponse:
        stored = self.state.response(response_id, folder)
        if stored is None:
            raise _no_response(response_id)
        return stored

    def _cancel(self, response_id: str, folder: str | None) -> dict[str, Any]:
        stored = self._stored(response_id, folder)
        if not stored.background:
            raise bad_request("Cannot cancel a synchronous response.", code="invalid_request")
        stored.cancel.set()
        stored.finished.wait(30)
        return stored.body

    def _create(self, exchange: Exchange, data: dict[str, Any]) -> None:
        request = parse_create(data)
        folder = request_folder(exchange.folder(), request.model)
        resolve_model(request.model, folder, self.engine.model_name)
        log.info(
            "responses create previous_response_id=%s input_items=%d model=%s stream=%s store=%s",
            request.previous_response_id or "none",
            len(request.input_items),
            request.model,
            request.stream,
            request.store,
        )
        context, conversation = self._context_of(request, folder)
        request = _resolve_references(request, context)
        try:  # a prompt over the context is refused before anything is streamed, as Yandex does
            admit(self.engine, messages_of(context + request.input_items, request.instructions), None)
        except ContextExceeded as exc:
            raise bad_request(str(exc), param="input", code="context_length_exceeded") from None
        body = _initial_body(request, conversation)
        stored = StoredResponse(
            body["id"], folder, time.time(), body, request.input_items, background=request.background
        )

        def publish(snapshot: dict[str, Any]) -> None:
            stored.body = snapshot

        writer = EventWriter(body, publish)
        if request.background:
            should_stop = stored.cancel.is_set
        elif request.stream:
            gone = peer_gone(exchange.handler.connection)
            should_stop = gone
        else:
            should_stop = _never
        run = Run(self.engine, request, context, writer, should_stop)
        self.tools.prepare(run, folder)
        if request.store:
            self.state.put(stored)
        events = self._finished(run, stored, context, conversation)
        if request.background:
            threading.Thread(target=_drain, args=(events,), name="yachat-serve-response", daemon=True).start()
            exchange.send_json(200, {**body, "status": "queued"})
        elif request.stream:
            exchange.stream(events)
        else:
            _drain(events)
            exchange.send_json(200, stored.body)

    def _finished(
        self,
        run: Run,
        stored: StoredResponse,
        context: list[dict[str, Any]],
        conversation: Conversation | None,
    ) -> Iterator[Event]:
        try:
            yield from run.events()
        finally:
            stored.context = context + run.request.input_items + run.writer.output
            if conversation is not None:
                self.state.append_items(conversation, run.request.input_items + run.writer.output)
            stored.finished.set()

    def _context_of(
        self, request: CreateRequest, folder: str
    ) -> tuple[list[dict[str, Any]], Conversation | None]:
        if request.previous_response_id:
            previous = self.state.response(request.previous_response_id, folder)
            if previous is None:
                raise bad_request(
                    f"Previous response with id '{request.previous_response_id}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            previous.finished.wait(60)
            return list(previous.context), None
        if request.conversation_id:
            conversation = self.state.conversation(request.conversation_id, folder)
            if conversation is None:
                raise not_found(
                    f"Conversation with id '{request.conversation_id}' not found.", param="conversation"
                )
            return self.state.conversation_items(conversation), conversation
        return [], None

    # -- conversations ---------------------------------------------------------

    def _create_conversation(self, data: dict[str, Any], folder: str | None) -> dict[str, Any]:
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object", param="metadata")
        items = normalize_input(data.get("items"), "items")
        conversation = Conversation(new_id(), folder or "", int(time.time()), metadata, items)
        self.state.add_conversation(conversation)
        return conversation.public()


def _initial_body(request: CreateRequest, conversation: Conversation | None) -> dict[str, Any]:
    raw = request.raw
    tools = [{**t, "valid": True} for t in raw.get("tools") or []]
    return {
        "id": new_id(),
        "object": "response",
        "created_at": int(time.time()),
        "status": "queued",
        "background": request.background,
        "error": None,
        "incomplete_details": None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "max_tool_calls": request.max_tool_calls,
        "model": request.model,
        "output": [],
        "output_text": "",
        "parallel_tool_calls": request.parallel_tool_calls,
        "previous_response_id": request.previous_response_id,
        "conversation": {"id": conversation.id, "valid": True} if conversation else None,
        "reasoning": None,
        "store": request.store,
        "temperature": request.temperature,
        "text": raw.get("text") or {"format": {"type": "text", "valid": True}, "valid": True},
        "tool_choice": raw.get("tool_choice") or "auto",
        "tools": tools,
        "top_p": raw.get("top_p"),
        "truncation": "disabled",
        "usage": None,
        "user": raw.get("user") or "",
        "metadata": raw.get("metadata") or {},
        "valid": True,
    }


def _resolve_references(request: CreateRequest, context: list[dict[str, Any]]) -> CreateRequest:
    if not any(i.get("type") == "item_reference" for i in request.input_items):
        return request
    known = {i.get("id"): i for i in context}
    resolved = []
    for item in request.input_items:
        if item.get("type") == "item_reference":
            found = known.get(item["id"])
            if found is None:
                raise bad_request(f"Item with id '{item['id']}' not found.", param="input")
            resolved.append(found)
        else:
            resolved.append(item)
    from dataclasses import replace

    return replace(request, input_items=resolved)


def _drain(events: Iterator[Event]) -> None:
    for _ in events:
        pass


def _never() -> bool:
    return False


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object")
    return data


def _no_response(response_id: str) -> ResponsesError:
    return not_found(f"Response with id '{response_id}' not found.", param="response_id")


def _no_route(method: str, path: str) -> ResponsesError:
    return not_found(f"no such route: {method} {path}")


class Exchange:
    """One HTTP request's reading and writing: JSON, or an SSE stream in chunks."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.handler = handler
        self.request_id = str(uuid.uuid4())
        # Headers, body and each event are separate small writes: without this, Nagle's
        # algorithm holds each until the client's delayed ACK, some 40 ms a request.
        with contextlib.suppress(OSError):
            handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def folder(self) -> str | None:
        headers = self.handler.headers
        value = headers.get("OpenAI-Project") or headers.get("x-folder-id")
        return value.strip() if value and value.strip() else None

    def read_body(self) -> bytes:
        length = int(self.handler.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.handler.close_connection = True
            raise ResponsesError(413, f"the request is larger than {MAX_BODY_BYTES} bytes")
        return self.handler.rfile.read(length)

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", "application/json")
        self.handler.send_header("Content-Length", str(len(data)))
        self.handler.send_header("x-request-id", self.request_id)
        self.handler.end_headers()
        self.handler.wfile.write(data)

    def stream(self, events: Iterator[Event]) -> None:
        handler = self.handler
        handler.send_response(HTTPStatus.OK)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("x-request-id", self.request_id)
        handler.end_headers()
        try:
            for event in events:
                data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
                self._chunk(f"event: {event['type']}\ndata: {data}\n\n".encode())
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            log.info("responses: the client went away mid-stream")
            handler.close_connection = True
            _drain(events)  # the run still ends (stopped: the peer is gone) and is stored

    def _chunk(self, data: bytes) -> None:
        self.handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.handler.wfile.flush()
