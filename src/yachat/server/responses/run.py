"""One response made: the engine answers the chained context, the writer frames what it says.

The engine reads the context (the chain before, or the conversation's items,
then this request's input) as chat messages, the same ones the chat API would
hand it, so usage.input_tokens grows with the chain. Hosted tools run first and
put what they found into the context; calls of MCP tools are made here and the
engine answers again with their results; calls of the client's functions end
the response, for the client to answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from yachat.server.admission import ContextExceeded, admit
from yachat.server.engines.base import (
    ChatMessage,
    Drop,
    Engine,
    Fault,
    GenerationRequest,
    Stall,
    ToolCall,
    ToolChoice,
    ToolDef,
)
from yachat.server.responses.events import Event, EventWriter, usage_of
from yachat.server.responses.items import messages_of
from yachat.server.responses.request import CreateRequest

log = logging.getLogger(__name__)

# Rounds of engine answers within one response: MCP calls answered by the server, then the answer.
MAX_ROUNDS = 8


@dataclass
class Turn:
    """What a round of the engine gave: its calls, whether it was cut, what it cost."""

    calls: list[ToolCall] = field(default_factory=list)
    cut: bool = False
    output_tokens: int = 0
    reasoning_tokens: int = 0


class HostedStep:
    """A hosted tool's part in a response: its events, and what the engine then reads."""

    def run(self, writer: EventWriter) -> Iterator[Event]:
        raise NotImplementedError

    def context(self) -> list[ChatMessage]:
        return []


@dataclass
class Run:
    engine: Engine
    request: CreateRequest
    context: list[dict[str, Any]]  # items before this request's input
    writer: EventWriter
    should_stop: Callable[[], bool]
    steps: list[HostedStep] = field(default_factory=list)
    # Calls of tools the server makes itself (MCP): name -> runner of (call, writer) -> events.
    server_tools: dict[str, Any] = field(default_factory=dict)
    server_tool_defs: tuple[ToolDef, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    def messages(self, extra: list[ChatMessage]) -> tuple[ChatMessage, ...]:
        items = self.context + self.request.input_items + self.writer.output
        # What hosted tools found comes last: the model reads it right before it answers.
        return (*messages_of(items, self.request.instructions), *extra)

    def events(self) -> Iterator[Event]:
        writer = self.writer
        yield from writer.start()
        try:
            extra: list[ChatMessage] = []
            for step in self.steps:
                yield from step.run(writer)
                extra += step.context()
            for _ in range(MAX_ROUNDS):
                turn = Turn()
                yield from self._round(self.messages(extra), turn)
                if turn.cut:
                    yield from writer.finish("incomplete", self._usage(), incomplete="max_output_tokens")
                    return
                if self.should_stop():
                    yield from writer.finish("cancelled", self._usage())
                    return
                ran_here = False
                for call in turn.calls:
                    runner = self.server_tools.get(call.name)
                    if runner is None:
                        yield from writer.function_call(call.name, call.arguments)
                    else:
                        ran_here = (yield from runner(call, writer)) or ran_here
                if not ran_here:
                    break
            yield from writer.finish("completed", self._usage())
        except ContextExceeded as exc:
            yield from writer.finish("failed", self._usage(), error=_error("invalid_prompt", str(exc)))
        except Fault as fault:
            yield from writer.finish("failed", self._usage(), error=_error("server_error", fault.message))
        except (Drop, Stall):
            yield from writer.finish(
                "failed", self._usage(), error=_error("server_error", "the model stopped")
            )

    def _usage(self) -> dict[str, Any]:
        return usage_of(self.input_tokens, self.output_tokens, self.reasoning_tokens)

    def _round(self, messages: tuple[ChatMessage, ...], turn: Turn) -> Iterator[Event]:
        request = self.request
        admitted = admit(self.engine, messages, request.max_output_tokens)
        self.input_tokens += admitted.input_tokens
        offered = (*request.functions, *self.server_tool_defs)
        generation = GenerationRequest(
            messages=messages,
            temperature=request.temperature,
            max_tokens=admitted.max_tokens,
            should_stop=self.should_stop,
            tools=offered if self.engine.tool_calls else (),
            tool_choice=request.tool_choice if offered else ToolChoice(),
            parallel_tool_calls=request.parallel_tool_calls,
        )
        if generation.max_tokens <= 0:
            turn.cut = True
            return
        pieces = self.engine.generate(generation)
        used = 0
        try:
            for piece in pieces:
                cost = piece.tokens if piece.cut else max(1, piece.tokens)
                used += cost
                self.output_tokens += cost
                if piece.call is not None:
                    turn.calls.append(piece.call)
                    continue
                if piece.rewrite:  # the content filter's refusal replaces what was said
                    yield from self.writer.text(piece.text)
                    break
                if piece.text:
                    if piece.reasoning:
                        self.reasoning_tokens += cost
                        yield from self.writer.reasoning(piece.text)
                    else:
                        yield from self.writer.text(piece.text)
                if piece.cut or used >= admitted.max_tokens:
                    turn.cut = piece.cut or used >= admitted.max_tokens
                    break
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()
        yield from self.writer.close_open(incomplete=turn.cut)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "valid": True}
