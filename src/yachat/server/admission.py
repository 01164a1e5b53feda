"""What a request may have: its prompt must fit the model's context, and its answer the room left.

Both wire APIs (gRPC and the chat API) admit a request here, so they refuse the
same prompts in the same words and cut answers at the same place.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from yachat.server.engines.base import ChatMessage, Engine

# One line per request on stderr (the console, or the log of a server yachat
# started): what tests read to know the largest prompt the server saw.
PROMPT_LINE = "yachat serve: prompt:"


class ContextExceeded(Exception):
    """A prompt over the context; the message is Yandex's own wording."""


@dataclass(frozen=True)
class Admission:
    input_tokens: int
    max_tokens: int  # the answer stops here: what was asked, the engine's cap, the context's end


def admit(engine: Engine, messages: tuple[ChatMessage, ...], asked_max_tokens: int | None) -> Admission:
    input_tokens = len(engine.tokenize(messages))
    context_size = engine.context
    print(f"{PROMPT_LINE} {input_tokens} input tokens (context {context_size})", file=sys.stderr, flush=True)
    if input_tokens > context_size:
        raise ContextExceeded(
            f"number of input tokens must be no more than {context_size}, got {input_tokens}"
        )
    limits = [context_size - input_tokens]
    limits += [n for n in (asked_max_tokens, engine.max_answer_tokens) if n]
    return Admission(input_tokens, min(limits))
