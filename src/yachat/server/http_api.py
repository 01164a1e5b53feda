"""Yandex's OpenAI-compatible chat API over HTTP, as the SDK's `sdk.chat` expects it.

What the real server sends (recordings in shared/recordings/chat/): a stream of
`chat.completion.chunk` events whose first delta is the role, then content
(and, for reasoning models, `reasoning_content`) **deltas**; no `finish_reason`
key until the last choice chunk (`delta: {}` and the reason); then one chunk
with `choices: []` and the usage; then `data: [DONE]`. Errors are JSON
`{"error": {"grpcCode", "httpCode", "message", "httpStatus"}}`, as an HTTP status
before the stream starts and as an SSE event once it has.

Tool calls stream as the recordings of qwen3 and gemma show: per call a
`tool_calls` delta with its index, id, type and name (arguments ""), then the
arguments in pieces (id, type and name ""), then `finish_reason: tool_calls`.

The same engine serves this and the gRPC API. A stdlib threading server: one
thread per request, like the gRPC server's pool.
"""

from __future__ import annotations

import hmac
import json
import logging
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from yachat.server.admission import ContextExceeded, admit
from yachat.server.embedder import MODELS as EMBEDDING_MODELS
from yachat.server.embedder import (
    Embedder,
    EmbeddingRefused,
    EmbeddingsOff,
    check_dimensions,
    model_name_of,
)
from yachat.server.engines.base import (
    ChatMessage,
    Drop,
    Engine,
    Fault,
    GenerationRequest,
    Piece,
    Stall,
    ToolCall,
    ToolChoice,
    ToolDef,
    ToolResult,
)
from yachat.server.files_api import serve_files
from yachat.server.vector_stores import VectorStores

log = logging.getLogger(__name__)

ROLES = {"system", "user", "assistant", "tool"}
# A call's arguments stream in pieces of this many characters, so clients see them grow.
ARGUMENT_PIECE_CHARS = 8
MAX_BODY_BYTES = 64 * 2**20
# gRPC status name -> (grpcCode, HTTP status), as Yandex's gateway maps them.
_STATUS = {
    "INVALID_ARGUMENT": (3, HTTPStatus.BAD_REQUEST),
    "DEADLINE_EXCEEDED": (4, HTTPStatus.GATEWAY_TIMEOUT),
    "NOT_FOUND": (5, HTTPStatus.NOT_FOUND),
    "PERMISSION_DENIED": (7, HTTPStatus.FORBIDDEN),
    "RESOURCE_EXHAUSTED": (8, HTTPStatus.TOO_MANY_REQUESTS),
    "INTERNAL": (13, HTTPStatus.INTERNAL_SERVER_ERROR),
    "UNAVAILABLE": (14, HTTPStatus.SERVICE_UNAVAILABLE),
    "UNAUTHENTICATED": (16, HTTPStatus.UNAUTHORIZED),
}
# The rewrite of an answer that hit the content filter ends the stream with this reason.
FINISH_CONTENT_FILTER = "content_filter"


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code if code in _STATUS else "INTERNAL"
        self.message = message

    def body(self) -> dict[str, Any]:
        grpc_code, status = _STATUS[self.code]
        return {
            "error": {
                "grpcCode": grpc_code,
                "httpCode": int(status),
                "message": self.message,
                "httpStatus": status.phrase,
            }
        }

    @property
    def status(self) -> int:
        return int(_STATUS[self.code][1])


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    stream: bool
    temperature: float | None
    max_tokens: int | None
    reasoning_effort: str | None
    tools: tuple[ToolDef, ...] = ()
    tool_choice: ToolChoice = field(default_factory=ToolChoice)
    parallel_tool_calls: bool = True


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("INVALID_ARGUMENT", f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError("INVALID_ARGUMENT", "the request body must be a JSON object")
    return data


def parse_chat_request(body: bytes) -> ChatRequest:
    """Validate a chat completion request; a bad one is INVALID_ARGUMENT, as Yandex answers."""
    data = _json_object(body)
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ApiError("INVALID_ARGUMENT", "invalid model_uri")
    raw = data.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError("INVALID_ARGUMENT", "messages: at least one message is required")
    messages = []
    names: dict[str, str] = {}  # call id -> function: a tool message names only the id
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise ApiError("INVALID_ARGUMENT", f"messages[{i}] must be an object")
        role = m.get("role")
        if role not in ROLES:
            raise ApiError("INVALID_ARGUMENT", f"invalid message role '{role}'")
        content = m.get("content", m.get("text", "")) or ""
        if isinstance(content, list):  # OpenAI's content parts: only text ones here
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise ApiError("INVALID_ARGUMENT", f"messages[{i}].content must be text")
        calls = _tool_calls_of(m.get("tool_calls"), i) if role == "assistant" else ()
        names.update((c.id, c.name) for c in calls)
        results: tuple[ToolResult, ...] = ()
        if role == "tool":
            call_id = m.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise ApiError("INVALID_ARGUMENT", f"messages[{i}]: a tool message needs its tool_call_id")
            if call_id not in names:
                problem = f"messages[{i}]: no earlier message made the call {call_id!r}"
                raise ApiError("INVALID_ARGUMENT", problem)
            results = (ToolResult(names[call_id], content, call_id),)
            content = ""
        messages.append(ChatMessage(role, content, tool_calls=calls, tool_results=results))
    temperature = data.get("temperature")
    if temperature is not None and (
        not isinstance(temperature, int | float) or isinstance(temperature, bool) or not 0 <= temperature <= 2
    ):
        raise ApiError("INVALID_ARGUMENT", f"temperature must be between 0 and 2, got {temperature!r}")
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 0
    ):
        raise ApiError("INVALID_ARGUMENT", f"max_tokens must be a positive integer, got {max_tokens!r}")
    effort = data.get("reasoning_effort")
    if effort is not None and effort not in ("low", "medium", "high"):
        raise ApiError("INVALID_ARGUMENT", f"reasoning_effort must be low, medium or high, got {effort!r}")
    parallel = data.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise ApiError("INVALID_ARGUMENT", f"parallel_tool_calls must be true or false, got {parallel!r}")
    return ChatRequest(
        model=model,
        messages=tuple(messages),
        stream=bool(data.get("stream", False)),
        temperature=float(temperature) if temperature is not None else None,
        max_tokens=max_tokens,
        reasoning_effort=effort,
        tools=_tools_of(data.get("tools")),
        tool_choice=_tool_choice_of(data.get("tool_choice")),
        parallel_tool_calls=parallel if parallel is not None else True,
    )


def _tool_calls_of(raw: Any, index: int) -> tuple[ToolCall, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ApiError("INVALID_ARGUMENT", f"messages[{index}].tool_calls must be a list")
    calls = []
    for call in raw:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ApiError("INVALID_ARGUMENT", f"messages[{index}].tool_calls: each needs a function name")
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except (TypeError, ValueError):
            raise ApiError(
                "INVALID_ARGUMENT", f"messages[{index}].tool_calls: arguments must be a JSON object's text"
            ) from None
        if not isinstance(arguments, dict):
            raise ApiError("INVALID_ARGUMENT", f"messages[{index}].tool_calls: arguments must be an object")
        calls.append(ToolCall(function["name"], arguments, str(call.get("id") or "")))
    return tuple(calls)


def _tools_of(raw: Any) -> tuple[ToolDef, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ApiError("INVALID_ARGUMENT", "tools must be a list")
    tools = []
    for tool in raw:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ApiError("INVALID_ARGUMENT", "tools: each must be a function with a name")
        parameters = function.get("parameters") or {}
        if not isinstance(parameters, dict):
            name = function["name"]
            raise ApiError("INVALID_ARGUMENT", f"tools: the parameters of {name} must be an object")
        tools.append(ToolDef(function["name"], str(function.get("description") or ""), parameters))
    return tuple(tools)


def _tool_choice_of(raw: Any) -> ToolChoice:
    if raw is None:
        return ToolChoice()
    if isinstance(raw, str) and raw.lower() in ("none", "auto", "required"):
        return ToolChoice(raw.lower())
    function = raw.get("function") if isinstance(raw, dict) else None
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        return ToolChoice("required", function["name"])
    raise ApiError("INVALID_ARGUMENT", f"tool_choice must be none, auto, required or a function, got {raw!r}")


def public_model_name(uri: str) -> str:
    """`gpt://folder/name/version` -> `gpt://name/version`: the real server drops the folder."""
    if uri.startswith("gpt://"):
        parts = uri.removeprefix("gpt://").split("/")
        if len(parts) >= 3:
            return "gpt://" + "/".join(parts[1:])
        if len(parts) == 2:
            return f"gpt://{parts[1]}/latest" if "/" not in parts[0] else uri
    return f"gpt://{uri}/latest"


class ChatApi:
    """What one HTTP request gets: validated, generated by the engine, framed as Yandex frames it."""

    def __init__(self, engine: Engine, token: str, token_hint: str, embedder: Embedder | None = None) -> None:
        self.engine = engine
        self.embedder = embedder
        self.vector_stores = VectorStores(embedder)  # /v1/files, /v1/vector_stores and file_search
        self._token = token.encode()
        self._hint = token_hint

    def authorize(self, header: str | None) -> None:
        scheme, _, value = (header or "").partition(" ")
        if scheme in ("Api-Key", "Bearer") and hmac.compare_digest(value.strip().encode(), self._token):
            return
        if not header:
            raise ApiError("UNAUTHENTICATED", "IAM token or API key has to be passed in request")
        raise ApiError("UNAUTHENTICATED", f"the token is not this server's: use the token {self._hint}")

    def models(self, folder: str | None) -> dict[str, Any]:
        folder = folder or "local"
        uris = [f"gpt://{folder}/{self.engine.model_name}/latest"]
        if self.embedder is not None:
            uris += [f"emb://{folder}/{name}/latest" for name in EMBEDDING_MODELS]
        return {
            "object": "list",
            "data": [{"id": uri, "object": "model", "owned_by": "yachat", "created": 0} for uri in uris],
        }

    def embeddings(self, body: bytes) -> dict[str, Any]:
        """OpenAI's `/embeddings`: one vector per input text, in order."""
        if self.embedder is None:
            raise EmbeddingsOff("this server has no embedding model")
        data = _json_object(body)
        model = data.get("model")
        if not isinstance(model, str):
            raise ApiError("INVALID_ARGUMENT", "invalid model_uri")
        name = model_name_of(model, bare_allowed=True)
        raw = data.get("input")
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise ApiError("INVALID_ARGUMENT", "input must be a text or a non-empty list of texts")
        dimensions = data.get("dimensions")
        if dimensions is not None and (not isinstance(dimensions, int) or isinstance(dimensions, bool)):
            raise ApiError("INVALID_ARGUMENT", f"dimensions must be an integer, got {dimensions!r}")
        check_dimensions(dimensions)
        if data.get("encoding_format", "float") != "float":
            raise ApiError("INVALID_ARGUMENT", "encoding_format: the local server sends float only")
        results = [self.embedder.embed(name, text) for text in texts]
        tokens = sum(r.tokens for r in results)
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "embedding": r.vector, "index": i} for i, r in enumerate(results)
            ],
            "model": f"emb://{name}/latest",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def events(self, request: ChatRequest, gone: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        """The chunks of one streamed answer, after the prompt was checked."""
        try:
            admitted = admit(self.engine, request.messages, request.max_tokens)
        except ContextExceeded as exc:
            raise ApiError("INVALID_ARGUMENT", str(exc)) from None
        input_tokens = admitted.input_tokens
        head = {
            "id": f"chatcmpl-{uuid.uuid4()}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": public_model_name(request.model),
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice: dict[str, Any] = {"index": 0, "delta": delta}
            if finish is not None:
                choice["finish_reason"] = finish
            return {**head, "choices": [choice]}

        yield chunk({"role": "assistant"})
        tokens, finish, calls = 0, "stop", 0
        gen = GenerationRequest(
            messages=request.messages,
            temperature=request.temperature,
            max_tokens=admitted.max_tokens,
            should_stop=gone,
            tools=request.tools if self.engine.tool_calls else (),
            tool_choice=request.tool_choice,
            parallel_tool_calls=request.parallel_tool_calls,
        )
        pieces = self.engine.generate(gen) if gen.max_tokens > 0 else iter([Piece("", 0, cut=True)])
        try:
            for piece in pieces:
                tokens += piece.tokens if piece.cut else max(1, piece.tokens)
                if piece.call is not None:
                    for delta in _call_deltas(calls, piece.call):
                        yield chunk({"tool_calls": [delta]})
                    calls += 1
                    finish = "tool_calls"
                    continue
                if piece.rewrite:
                    yield chunk({"content": piece.text}, FINISH_CONTENT_FILTER)
                    finish = ""
                    break
                if piece.text:
                    yield chunk({"reasoning_content" if piece.reasoning else "content": piece.text})
                if piece.cut or tokens >= admitted.max_tokens:
                    finish = "length"
                    break
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()
        if finish:
            yield chunk({}, finish)
        usage = {
            "prompt_tokens": input_tokens,
            "total_tokens": input_tokens + tokens,
            "completion_tokens": tokens,
        }
        yield {**head, "choices": [], "usage": usage}

    def complete(self, request: ChatRequest) -> dict[str, Any]:
        """The answer in one `chat.completion` object (not streamed)."""
        content, reasoning, finish = "", "", "stop"
        usage: dict[str, Any] = {}
        head: dict[str, Any] = {}
        calls: list[dict[str, Any]] = []
        for event in self.events(request, gone=lambda: False):
            head = {k: event[k] for k in ("id", "created", "model")}
            usage = event.get("usage", usage)
            for choice in event["choices"]:
                delta = choice["delta"]
                for part in delta.get("tool_calls", ()):
                    if part["index"] == len(calls):  # a call's first delta: its id and name
                        calls.append({**part, "function": dict(part["function"])})
                    else:
                        calls[part["index"]]["function"]["arguments"] += part["function"]["arguments"]
                if choice.get("finish_reason") == FINISH_CONTENT_FILTER:
                    content = delta.get("content", "")
                else:
                    content += delta.get("content", "")
                reasoning += delta.get("reasoning_content", "")
                finish = choice.get("finish_reason", finish)
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        if reasoning:
            message["reasoning_content"] = reasoning
        return {
            **head,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        }


def _call_deltas(index: int, call: ToolCall) -> Iterator[dict[str, Any]]:
    """One call as the stream sends it: its name first, then its arguments in pieces."""
    yield {
        "index": index,
        "id": f"chatcmpl-tool-{uuid.uuid4().hex}",
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
    }
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    for start in range(0, len(arguments), ARGUMENT_PIECE_CHARS):
        piece = arguments[start : start + ARGUMENT_PIECE_CHARS]
        yield {"index": index, "id": "", "type": "", "function": {"name": "", "arguments": piece}}


class Routes(Protocol):
    """Another API on the same port: it answers the paths it serves, whole requests."""

    def serves(self, path: str) -> bool: ...

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None: ...


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "yachat-serve"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)

    # -- routes --------------------------------------------------------------

    def _routed(self, method: str) -> bool:
        """Whether one of the server's other APIs (e.g. the Responses API) took the request."""
        path = self.path.split("?", 1)[0].rstrip("/")
        for routes in self.server.routes:
            if routes.serves(path):
                routes.handle(self, method)
                return True
        return False

    def do_GET(self) -> None:
        if self._routed("GET") or serve_files(self, "GET", self.server.api):
            return
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            if path != "/v1/models":
                raise ApiError("NOT_FOUND", f"no such route: GET {path}")
            self.server.api.authorize(self.headers.get("Authorization"))
            self._send_json(HTTPStatus.OK, self.server.api.models(self.headers.get("OpenAI-Project")))
        except ApiError as error:
            self._send_error(error)

    def do_DELETE(self) -> None:
        if not (self._routed("DELETE") or serve_files(self, "DELETE", self.server.api)):
            self._send_error(ApiError("NOT_FOUND", f"no such route: DELETE {self.path.split('?', 1)[0]}"))

    def do_POST(self) -> None:
        if self._routed("POST") or serve_files(self, "POST", self.server.api):
            return
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                raise ApiError("INVALID_ARGUMENT", f"the request is larger than {MAX_BODY_BYTES} bytes")
            body = self.rfile.read(length)
            if path == "/v1/embeddings":
                self._embeddings(body)
                return
            if path != "/v1/chat/completions":
                raise ApiError("NOT_FOUND", f"no such route: POST {path}")
            self.server.api.authorize(self.headers.get("Authorization"))
            request = parse_chat_request(body)
            log.info(
                "chat completion model=%s messages=%d stream=%s data_logging=%s",
                request.model,
                len(request.messages),
                request.stream,
                self.headers.get("x-data-logging-enabled", "unset"),
            )
            if request.stream:
                self._stream(request)
            else:
                self._send_json(HTTPStatus.OK, self.server.api.complete(request))
        except ApiError as error:
            self._send_error(error)
        except Fault as fault:
            self._send_error(ApiError(fault.code, fault.message))
        except (Drop, Stall):
            self.close_connection = True  # before any byte of the answer: the connection just ends
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # never a Python traceback on the wire, as the gRPC side
            log.exception("chat completion failed")
            self._send_error(ApiError("INTERNAL", "the local model failed; see the server log"))

    def _embeddings(self, body: bytes) -> None:
        try:
            if self.server.api.embedder is not None:  # no model: as if the route did not exist
                self.server.api.authorize(self.headers.get("Authorization"))
            self._send_json(HTTPStatus.OK, self.server.api.embeddings(body))
        except EmbeddingRefused as refused:
            self._send_error(ApiError(refused.code, refused.message))
        except EmbeddingsOff as off:
            self._send_error(ApiError("NOT_FOUND", f"no such route: POST /v1/embeddings ({off})"))

    # -- framing -------------------------------------------------------------

    def _send_error(self, error: ApiError) -> None:
        self._send_json(error.status, error.body())

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, request: ChatRequest) -> None:
        gone = _peer_gone(self.connection)
        events = self.server.api.events(request, gone)
        # The prompt check and the first chunk happen before the headers, so a
        # refused prompt is an HTTP status, as the real server answers it.
        first = next(events)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        tokens = 0
        try:
            self._event(first)
            for event in events:
                tokens += 1
                self._event(event)
            self._chunk(b"data: [DONE]\n\n")
        except Fault as fault:
            self._event(ApiError(fault.code, fault.message).body())
            self._chunk(b"data: [DONE]\n\n")
        except Drop:
            self.close_connection = True
            return  # the connection ends without the closing chunk: a dropped stream
        except Stall:
            while not gone():
                time.sleep(0.05)
            self.close_connection = True
            return
        except (BrokenPipeError, ConnectionResetError):
            log.info("chat client cancelled; stopped after %d chunks", tokens)
            self.close_connection = True
            return
        self._chunk(b"")

    def _event(self, data: dict[str, Any]) -> None:
        self._chunk(
            b"data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
        )

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _peer_gone(sock: socket.socket) -> Callable[[], bool]:
    """Whether the client closed its end: readable with nothing to read."""

    def gone() -> bool:
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and not sock.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            return True

    return gone


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up between requests (a reset keep-alive connection) is
        # not the server's failure: the log, never a traceback on the console.
        log.debug("http connection from %s ended", client_address, exc_info=True)

    def __init__(self, address: tuple[str, int], api: ChatApi, routes: Sequence[Routes] = ()) -> None:
        self.api = api
        self.routes = tuple(routes)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


@dataclass
class RunningHttpServer:
    server: _Server
    thread: threading.Thread
    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_http_server(
    api: ChatApi, host: str, port: int = 0, routes: Sequence[Routes] = ()
) -> RunningHttpServer:
    server = _Server((host, port), api, routes)
    thread = threading.Thread(target=server.serve_forever, name="yachat-serve-http", daemon=True)
    thread.start()
    return RunningHttpServer(server, thread, host, server.server_address[1])
