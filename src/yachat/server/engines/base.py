"""What an engine gives the server: tokens for a prompt, and an answer in pieces."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ChatMessage:
    role: str  # system | user | assistant
    text: str


@dataclass(frozen=True)
class GenerationRequest:
    messages: tuple[ChatMessage, ...]
    temperature: float | None
    max_tokens: int  # the most tokens the answer may take: what was asked, capped by the room left
    should_stop: Callable[[], bool]  # true once the client has gone: stop at once


@dataclass(frozen=True)
class Piece:
    """A step of an answer: text to append (or, with `rewrite`, the whole answer anew)."""

    text: str
    tokens: int = 1  # completion tokens this piece costs
    rewrite: bool = False  # a content-filter rewrite: `text` replaces the answer and ends it
    cut: bool = False  # the answer stops here because it reached `max_tokens`, not because it ended
    reasoning: bool = False  # the model's reasoning, before the answer: shown over HTTP, hidden over gRPC


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

    def tokenize(self, messages: tuple[ChatMessage, ...]) -> list[Token]: ...

    def generate(self, request: GenerationRequest) -> Iterator[Piece]: ...
