"""What an engine gives the server: tokens for a prompt, and an answer in pieces."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""  # the chat API's call id; gRPC calls have none


@dataclass(frozen=True)
class ToolResult:
    name: str  # the function that was called (over the chat API: found through its call's id)
    content: str
    call_id: str = ""


@dataclass(frozen=True)
class ChatMessage:
    role: str  # system | user | assistant | tool (either API's tool results, made one)
    text: str
    tool_calls: tuple[ToolCall, ...] = ()  # an assistant's calls
    tool_results: tuple[ToolResult, ...] = ()  # a "tool" message's results

    @property
    def prompt_text(self) -> str:
        """The message as text, tool parts included: what a tokenizer counts and a model
        without a tool format reads."""
        parts = [self.text] if self.text else []
        parts += [f"{c.name}({json.dumps(c.arguments, ensure_ascii=False)})" for c in self.tool_calls]
        parts += [f"{r.name} returned {r.content}" for r in self.tool_results]
        return "\n".join(parts)


@dataclass(frozen=True)
class ToolDef:
    name: str
    description: str
    parameters: dict[str, Any]  # a JSON schema (an "object")


@dataclass(frozen=True)
class ToolChoice:
    mode: str = "auto"  # auto | none | required
    function: str = ""  # a function the answer must call, if named


@dataclass(frozen=True)
class GenerationRequest:
    messages: tuple[ChatMessage, ...]
    temperature: float | None
    max_tokens: int  # the most tokens the answer may take: what was asked, capped by the room left
    should_stop: Callable[[], bool]  # true once the client has gone: stop at once
    tools: tuple[ToolDef, ...] = ()
    tool_choice: ToolChoice = field(default_factory=ToolChoice)
    parallel_tool_calls: bool = True


@dataclass(frozen=True)
class Piece:
    """A step of an answer: text to append (or, with `rewrite`, the whole answer anew)."""

    text: str
    tokens: int = 1  # completion tokens this piece costs
    rewrite: bool = False  # a content-filter rewrite: `text` replaces the answer and ends it
    cut: bool = False  # the answer stops here because it reached `max_tokens`, not because it ended
    reasoning: bool = False  # the model's reasoning, before the answer: shown over HTTP, hidden over gRPC
    # A whole call of a tool: the answer then ends with its calls (each API frames them its way).
    call: ToolCall | None = None


@dataclass(frozen=True)
class Token:
    id: int
    text: str
    special: bool


class Fault(Exception):
    """An injected failure: end the call with this gRPC status code name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Stall(Exception):
    """An injected stall: send nothing more and hang until the client gives up."""


class Drop(Exception):
    """An injected dropped connection."""


class Engine(Protocol):
    name: str  # the engine, e.g. "smollm2"
    model_name: str  # what answers, e.g. "smollm2-135m-instruct"
    model_version: str
    context: int  # tokens a prompt and its answer may take together
    max_answer_tokens: int | None  # the engine's own cap on an answer's length (None: none)
    parallel: bool  # whether several generations may run at once
    # Whether it calls the tools a request offers; one that cannot answers such requests with text.
    tool_calls: bool

    def tokenize(self, messages: tuple[ChatMessage, ...]) -> list[Token]: ...

    def generate(self, request: GenerationRequest) -> Iterator[Piece]: ...
