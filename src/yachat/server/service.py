"""Yandex's completions API over gRPC, as the SDK expects it on the wire.

Streamed answers carry the cumulative text; every chunk but the last is
PARTIAL; usage rides on every chunk with completion tokens strictly growing.
Logical errors are INVALID_ARGUMENT or UNAUTHENTICATED, never the codes the
SDK retries (UNAVAILABLE, RESOURCE_EXHAUSTED); a prompt over the engine's
context is refused in Yandex's words, and an answer ends at the context's end
(TRUNCATED_FINAL). Whatever fails inside, the call ends with a status and a
clear message, never gRPC's UNKNOWN "Exception iterating responses".
"""

from __future__ import annotations

import hmac
import logging
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from yandex.cloud.ai.foundation_models.v1 import text_common_pb2 as common
from yandex.cloud.ai.foundation_models.v1.embedding import embedding_service_pb2 as emb
from yandex.cloud.ai.foundation_models.v1.embedding import embedding_service_pb2_grpc as emb_grpc
from yandex.cloud.ai.foundation_models.v1.text_generation import (
    text_generation_service_pb2 as tg,
)
from yandex.cloud.ai.foundation_models.v1.text_generation import (
    text_generation_service_pb2_grpc as tg_grpc,
)
from yandex.cloud.endpoint import api_endpoint_pb2, api_endpoint_service_pb2
from yandex.cloud.endpoint import api_endpoint_service_pb2_grpc as endpoint_grpc

from yachat.model_ref import ModelRefError, parse_model_ref
from yachat.server.admission import ContextExceeded, admit
from yachat.server.embedder import (
    MODEL_VERSION,
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

log = logging.getLogger(__name__)

ROLES = {"system", "user", "assistant"}
Alternative = common.Alternative


class Refusal(Exception):
    """A request the server answers with this status code and message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Auth:
    def __init__(self, token: str, hint: str) -> None:
        self.token = token.encode()
        self.hint = hint

    def check(self, context: grpc.ServicerContext) -> None:
        header = dict(context.invocation_metadata()).get("authorization", "")
        scheme, _, value = str(header).partition(" ")
        if scheme in ("Api-Key", "Bearer") and hmac.compare_digest(value.strip().encode(), self.token):
            return
        problem = "no authorization header" if not header else "the token is not this server's"
        raise Refusal(
            grpc.StatusCode.UNAUTHENTICATED,
            f"{problem}: send 'authorization: Api-Key <token>' with the token {self.hint}",
        )


class EndpointService(endpoint_grpc.ApiEndpointServiceServicer):
    """Endpoint discovery: the SDK asks it, without auth, where each service is."""

    def __init__(self, address: str) -> None:
        self.address = address

    def List(self, request: Any, context: grpc.ServicerContext) -> Any:
        ids = ("ai-foundation-models", "ai-llm", "endpoint")
        return api_endpoint_service_pb2.ListApiEndpointsResponse(
            endpoints=[api_endpoint_pb2.ApiEndpoint(id=i, address=self.address) for i in ids]
        )

    def Get(self, request: Any, context: grpc.ServicerContext) -> Any:
        return api_endpoint_pb2.ApiEndpoint(id=request.api_endpoint_id, address=self.address)


def check_model_uri(uri: str) -> None:
    try:
        ref = parse_model_ref(uri)
    except ModelRefError:
        ref = None
    if ref is None or ref.scheme != "gpt" or ref.folder is None:
        raise Refusal(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"model_uri must look like gpt://<folder_id>/<model>/<version>, got {uri!r}",
        )


def parse_request(request: Any) -> tuple[tuple[ChatMessage, ...], Any]:
    """Validate a CompletionRequest; a bad one is refused with INVALID_ARGUMENT."""

    def invalid(message: str) -> None:
        raise Refusal(grpc.StatusCode.INVALID_ARGUMENT, message)

    check_model_uri(request.model_uri)
    if not request.messages:
        invalid("messages: at least one message is required")
    messages = []
    for i, m in enumerate(request.messages):
        if m.role not in ROLES:
            invalid(f"messages[{i}].role must be one of system, user, assistant; got {m.role!r}")
        content = m.WhichOneof("Content")
        if content == "tool_call_list":
            if m.role != "assistant":
                invalid(f"messages[{i}]: only the assistant calls tools, not {m.role!r}")
            calls = tuple(
                ToolCall(c.function_call.name, json_format.MessageToDict(c.function_call.arguments))
                for c in m.tool_call_list.tool_calls
            )
            messages.append(ChatMessage("assistant", "", tool_calls=calls))
        elif content == "tool_result_list":
            # The SDK sends results as the user's; the engines see one "tool" role for both APIs.
            results = tuple(
                ToolResult(r.function_result.name, r.function_result.content)
                for r in m.tool_result_list.tool_results
            )
            called = {c.name for earlier in messages for c in earlier.tool_calls}
            for r in results:
                if r.name not in called:
                    invalid(f"messages[{i}]: a result of {r.name!r}, which no earlier message calls")
            messages.append(ChatMessage("tool", "", tool_results=results))
        else:
            messages.append(ChatMessage(m.role, m.text))
    options = request.completion_options
    if options.HasField("temperature") and not 0 <= options.temperature.value <= 2:
        invalid(f"completion_options.temperature must be between 0 and 2, got {options.temperature.value}")
    if options.HasField("max_tokens") and options.max_tokens.value < 0:
        invalid(f"completion_options.max_tokens must not be negative, got {options.max_tokens.value}")
    return tuple(messages), options


def parse_tools(request: Any) -> tuple[tuple[ToolDef, ...], ToolChoice, bool]:
    """The tools a CompletionRequest offers, how the answer may use them, and whether in parallel."""
    tools = tuple(
        ToolDef(
            t.function.name,
            t.function.description,
            json_format.MessageToDict(t.function.parameters),
        )
        for t in request.tools
        if t.WhichOneof("ToolType") == "function"
    )
    choice = ToolChoice()
    if request.HasField("tool_choice"):
        which = request.tool_choice.WhichOneof("ToolChoice")
        if which == "function_name":
            choice = ToolChoice("required", request.tool_choice.function_name)
        elif which == "mode":
            name = common.ToolChoice.ToolChoiceMode.Name(request.tool_choice.mode)
            choice = ToolChoice({"NONE": "none", "REQUIRED": "required"}.get(name, "auto"))
    parallel = request.parallel_tool_calls.value if request.HasField("parallel_tool_calls") else True
    return tools, choice, parallel


def refusal_for(exc: Exception) -> Refusal:
    """The status a failure is answered with: never UNKNOWN with a Python traceback's text."""
    if isinstance(exc, Refusal):
        return exc
    if isinstance(exc, Fault | EmbeddingRefused):
        return Refusal(_code(exc.code), exc.message)
    if isinstance(exc, EmbeddingsOff):
        return Refusal(grpc.StatusCode.UNIMPLEMENTED, f"embeddings are not served here: {exc}")
    if isinstance(exc, Drop):
        return Refusal(grpc.StatusCode.UNAVAILABLE, "connection dropped by the server")
    log.error("the engine failed", exc_info=exc)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Refusal(grpc.StatusCode.INTERNAL, f"the local model failed on this request: {detail}")


def _guarded(context: grpc.ServicerContext, body: Callable[[], Any]) -> Any:
    """Run a unary call's body; any failure becomes a status with a clear message."""
    try:
        return body()
    except Exception as exc:  # every failure is answered with a status
        refusal = refusal_for(exc)
    # Outside the handler: context.abort raises a bare Exception of its own.
    context.abort(refusal.code, refusal.message)


class TextGenerationService(tg_grpc.TextGenerationServiceServicer):
    def __init__(self, engine: Engine, auth: Auth) -> None:
        self.engine = engine
        self.auth = auth

    def Completion(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        refusal = None
        try:
            yield from self._completion(request, context)
        except Exception as exc:  # every failure is answered with a status
            refusal = refusal_for(exc)
        if refusal is not None:
            context.abort(refusal.code, refusal.message)

    def _completion(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        self.auth.check(context)
        messages, options = parse_request(request)
        # A request log without content or credentials: model, shape, and the
        # client's data-logging choice (the SDK's x-data-logging-enabled header).
        metadata = dict(context.invocation_metadata())
        log.info(
            "completion model=%s messages=%d stream=%s data_logging=%s",
            request.model_uri,
            len(messages),
            options.stream,
            metadata.get("x-data-logging-enabled", "unset"),
        )
        asked = options.max_tokens.value if options.HasField("max_tokens") else 0
        try:
            admitted = admit(self.engine, messages, asked)
        except ContextExceeded as exc:
            raise Refusal(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
        input_tokens = admitted.input_tokens
        tools, choice, parallel = parse_tools(request)
        gen = GenerationRequest(
            messages=messages,
            temperature=options.temperature.value if options.HasField("temperature") else None,
            max_tokens=admitted.max_tokens,
            should_stop=lambda: not context.is_active(),
            tools=tools if self.engine.tool_calls else (),
            tool_choice=choice,
            parallel_tool_calls=parallel,
        )
        chunks = self._chunks(gen, input_tokens, context)
        if options.stream:
            yield from chunks
            return
        last = None
        for last in chunks:  # noqa: B007 - only the final state is answered
            pass
        if last is not None:
            yield last

    def _chunks(
        self, gen: GenerationRequest, input_tokens: int, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        text, tokens, reasoning, truncated, pending = "", 0, 0, False, None
        calls: list[ToolCall] = []
        try:
            pieces = self.engine.generate(gen) if gen.max_tokens > 0 else iter([Piece("", 0, cut=True)])
            try:
                for piece in pieces:
                    if piece.call is not None:
                        # gRPC has no partial calls: they come whole, in the answer's last chunk.
                        calls.append(piece.call)
                        tokens += max(1, piece.tokens)
                        continue
                    if piece.reasoning:
                        # gRPC returns no reasoning text, only its count (ENABLED_HIDDEN).
                        reasoning += max(1, piece.tokens)
                        tokens += max(1, piece.tokens)
                        continue
                    if piece.rewrite:
                        text, tokens = piece.text, tokens + max(1, piece.tokens)
                        if pending is not None:
                            yield pending
                        yield self._response(
                            text,
                            Alternative.ALTERNATIVE_STATUS_CONTENT_FILTER,
                            input_tokens,
                            tokens,
                            reasoning,
                        )
                        return
                    if piece.cut:
                        truncated = True
                    elif tokens >= gen.max_tokens:
                        truncated = True  # more is coming, but the limit is reached
                        break
                    if not piece.text:
                        if truncated:
                            break
                        continue
                    text += piece.text
                    tokens += max(1, piece.tokens)
                    # Hold one chunk back: only when the next arrives is it known not to be the last.
                    if pending is not None:
                        yield pending
                    pending = self._response(
                        text, Alternative.ALTERNATIVE_STATUS_PARTIAL, input_tokens, tokens, reasoning
                    )
                    if truncated:
                        break
            finally:
                close = getattr(pieces, "close", None)
                if close:
                    close()
            if not context.is_active():
                return  # the client is gone; the finally below says so
            if calls:
                if pending is not None:
                    yield pending
                yield self._response(
                    text, Alternative.ALTERNATIVE_STATUS_TOOL_CALLS, input_tokens, tokens, reasoning, calls
                )
                return
            status = (
                Alternative.ALTERNATIVE_STATUS_TRUNCATED_FINAL
                if truncated
                else Alternative.ALTERNATIVE_STATUS_FINAL
            )
            if not text:
                text = " "  # the API never sends an empty alternative
                tokens = max(tokens, 1) if gen.max_tokens > 0 else 0
            yield self._response(text, status, input_tokens, tokens, reasoning)
        except Stall:
            if pending is not None:
                yield pending
            while context.is_active():
                time.sleep(0.05)
        except Exception:
            if pending is not None:
                yield pending  # what was said before the failure reaches the client
            raise
        finally:
            # Reached whether the loop saw the client go or gRPC closed this
            # generator at a yield because the call was cancelled.
            if not context.is_active():
                # On stderr (the operator's console, or the log yachat keeps for a
                # server it started): proof that generation stopped early.
                print(
                    f"yachat serve: client cancelled; stopped after {tokens} tokens",
                    file=sys.stderr,
                    flush=True,
                )

    def _response(
        self,
        text: str,
        status: int,
        input_tokens: int,
        tokens: int,
        reasoning: int = 0,
        calls: list[ToolCall] | None = None,
    ) -> Any:
        if calls:
            # Text and calls are one oneof: an answer with calls carries only them, as the recordings show.
            message = common.Message(role="assistant", tool_call_list=_tool_call_list(calls))
        else:
            message = common.Message(role="assistant", text=text)
        return tg.CompletionResponse(
            alternatives=[
                common.Alternative(
                    message=message,
                    status=status,  # type: ignore[arg-type]
                )
            ],
            usage=common.ContentUsage(
                input_text_tokens=input_tokens,
                completion_tokens=tokens,
                total_tokens=input_tokens + tokens,
                completion_tokens_details=common.ContentUsage.CompletionTokensDetails(
                    reasoning_tokens=reasoning
                ),
            ),
            model_version=self.engine.model_version,
        )


def _tool_call_list(calls: list[ToolCall]) -> Any:
    out = []
    for call in calls:
        arguments = struct_pb2.Struct()
        arguments.update(call.arguments)  # numbers become floats, as the real server's do
        out.append(common.ToolCall(function_call=common.FunctionCall(name=call.name, arguments=arguments)))
    return common.ToolCallList(tool_calls=out)


class TokenizerService(tg_grpc.TokenizerServiceServicer):
    def __init__(self, engine: Engine, auth: Auth) -> None:
        self.engine = engine
        self.auth = auth

    def TokenizeCompletion(self, request: Any, context: grpc.ServicerContext) -> Any:
        def body() -> Any:
            self.auth.check(context)
            messages, _ = parse_request(request)
            return self._tokens(messages)

        return _guarded(context, body)

    def Tokenize(self, request: Any, context: grpc.ServicerContext) -> Any:
        def body() -> Any:
            self.auth.check(context)
            check_model_uri(request.model_uri)
            return self._tokens((ChatMessage("user", request.text),))

        return _guarded(context, body)

    def _tokens(self, messages: tuple[ChatMessage, ...]) -> Any:
        return tg.TokenizeResponse(
            tokens=[
                common.Token(id=t.id, text=t.text, special=t.special) for t in self.engine.tokenize(messages)
            ],
            model_version=self.engine.model_version,
        )


def _code(name: str) -> grpc.StatusCode:
    try:
        return grpc.StatusCode[name.upper()]
    except KeyError:
        return grpc.StatusCode.INTERNAL


class EmbeddingsService(emb_grpc.EmbeddingsServiceServicer):
    """TextEmbedding from the local embedding model; registered only when one may be had."""

    def __init__(self, embedder: Embedder, auth: Auth) -> None:
        self.embedder = embedder
        self.auth = auth

    def TextEmbedding(self, request: Any, context: grpc.ServicerContext) -> Any:
        def body() -> Any:
            self.auth.check(context)
            name = model_name_of(request.model_uri)
            check_dimensions(request.dim.value if request.HasField("dim") else None)
            log.info("embedding model=%s chars=%d", request.model_uri, len(request.text))
            result = self.embedder.embed(name, request.text)
            return emb.TextEmbeddingResponse(
                embedding=result.vector, num_tokens=result.tokens, model_version=MODEL_VERSION
            )

        return _guarded(context, body)
