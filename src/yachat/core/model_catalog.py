"""What yachat knows about the cloud's models, keyed by model name.

For each: its context (AI Studio's model table, see YANDEX_API_NOTES.md
"Limits and errors"), the transport it is reached by (gRPC completions, or the
OpenAI-compatible chat API for the models served only there) and how it
reasons. A model not in the table gets a context small enough that no known
model refuses the prompt, and gRPC unless its assistant says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from yachat.core.transport import Transport


class Reasoning(StrEnum):
    NONE = "none"
    HIDDEN = "hidden"  # gRPC reasoning_mode ENABLED_HIDDEN: only the count of reasoning tokens comes back
    EFFORT = "effort"  # the chat API's reasoning_effort low|medium|high: reasoning text streams


# For a model yachat does not know: every model in the table takes at least this much.
UNKNOWN_CONTEXT_TOKENS = 8192


@dataclass(frozen=True)
class ModelInfo:
    name: str  # as in a model URI, without folder or version: "yandexgpt", "gpt-oss-120b"
    context_tokens: int
    transport: Transport = Transport.GRPC
    reasoning: Reasoning = Reasoning.NONE
    calls_tools: bool = True  # AI Studio's text models all take function tools on both APIs


KNOWN_MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        # yandexgpt/latest (Pro 5), yandexgpt/rc (Pro 5.1)
        ModelInfo("yandexgpt", 32_768, reasoning=Reasoning.HIDDEN),
        ModelInfo("yandexgpt-lite", 32_768),
        ModelInfo("aliceai-llm", 32_768),
        # Served only over the OpenAI-compatible chat API.
        ModelInfo("qwen3-235b-a22b-fp8", 262_144, Transport.HTTP, Reasoning.EFFORT),
        ModelInfo("gpt-oss-120b", 131_072, Transport.HTTP, Reasoning.EFFORT),
        ModelInfo("gpt-oss-20b", 131_072, Transport.HTTP, Reasoning.EFFORT),
        ModelInfo("gemma-3-27b-it", 131_072, Transport.HTTP),
    )
}


def model_name(model: str) -> str:
    """'yandexgpt/rc' -> 'yandexgpt'; 'gpt://folder/yandexgpt-lite/latest' -> 'yandexgpt-lite'."""
    model = model.strip()
    if "://" in model:
        path = model.split("://", 1)[1].split("/")
        return path[1] if len(path) > 1 else path[0]
    return model.partition("/")[0]


def model_info(model: str) -> ModelInfo | None:
    return KNOWN_MODELS.get(model_name(model).lower())


def context_tokens(model: str) -> int:
    info = model_info(model)
    return info.context_tokens if info is not None else UNKNOWN_CONTEXT_TOKENS


def transport_for(model: str, chosen: str | None = None) -> Transport:
    """The assistant's choice if it made one, else the catalogue's, else gRPC."""
    if chosen:
        return Transport(chosen)
    info = model_info(model)
    return info.transport if info is not None else Transport.GRPC


REASONING_MODES = {
    Transport.HTTP: ("low", "medium", "high"),
    Transport.GRPC: ("enabled_hidden",),
    Transport.RESPONSES: ("low", "medium", "high"),
}


def reasoning_mode_for(transport: Transport, mode: str | None) -> str | None:
    """The assistant's reasoning mode as this transport takes it, or None (off)."""
    if not mode:
        return None
    mode = mode.lower()
    return mode if mode in REASONING_MODES[transport] else None


@dataclass(frozen=True)
class ModelListing:
    """A model a backend offers, with what yachat knows of it."""

    uri: str  # as the backend lists it: gpt://folder/name/version
    name: str  # name/version, as an assistant's model is written
    transport: Transport
    context_tokens: int | None  # None: not known
    reasoning: Reasoning


def listing(uri: str, context: int | None = None) -> ModelListing:
    """What the catalogue says of a listed model; `context` overrides it (the local server's own)."""
    path = uri.split("://", 1)[-1].split("/")
    name = "/".join(path[1:]) if len(path) >= 3 else "/".join(path)
    info = model_info(uri)
    return ModelListing(
        uri=uri,
        name=name,
        transport=info.transport if info else Transport.GRPC,
        context_tokens=context or (info.context_tokens if info else None),
        reasoning=info.reasoning if info else Reasoning.NONE,
    )
