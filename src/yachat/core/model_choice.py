"""The model a run talks to, resolved once per run and passed down.

Which model (the session's override or the assistant's), its version, how it is
reached, how much it holds, how it reasons and whether it calls tools: every
part of a run reads these from here, none works them out again.
"""

from __future__ import annotations

from dataclasses import dataclass

from yachat.core.backend import Backend
from yachat.core.model_catalog import (
    UNKNOWN_CONTEXT_TOKENS,
    context_tokens,
    model_info,
    reasoning_mode_for,
    transport_for,
)
from yachat.core.sdk import split_model
from yachat.core.transport import Transport
from yachat.settings import Settings
from yachat.store.models import Assistant


@dataclass(frozen=True)
class ModelChoice:
    uri: str  # as the assistant (or the command line) names it: "yandexgpt/rc", "gpt://…"
    name: str
    version: str
    transport: Transport
    context_tokens: int
    reasoning_mode: str | None  # as the transport takes it; None: off
    calls_tools: bool  # the model can be offered tools
    local: bool  # answered by the local server's own model, whatever the name says


def model_uri(settings: Settings, assistant: Assistant) -> str:
    # A model named on the command line or in the environment wins for this session.
    return settings.model if "model" in settings.sources else assistant.model


def session_transport(settings: Settings) -> str | None:
    """The transport named for this session (command line, environment, config), as stored."""
    chosen = settings.transport
    if settings.web_search and chosen is None:
        return "responses"  # only the Responses API searches the web
    return "http" if chosen == "chat" else chosen


def resolve_model(settings: Settings, assistant: Assistant, backend: Backend | None) -> ModelChoice:
    uri = model_uri(settings, assistant)
    name, version = split_model(uri)
    transport = transport_for(uri, session_transport(settings) or assistant.transport)
    local = backend is not None and backend.kind == "local"
    if local:
        assert backend is not None
        context = backend.context_tokens or UNKNOWN_CONTEXT_TOKENS
        calls_tools = backend.tool_calls is not False  # the server says so; unknown: it may
    elif backend is not None and backend.context_tokens:
        context = backend.context_tokens
        calls_tools = True
    else:
        context = context_tokens(uri)
        info = model_info(uri)
        calls_tools = info.calls_tools if info is not None else True
    return ModelChoice(
        uri=uri,
        name=name,
        version=version,
        transport=transport,
        context_tokens=context,
        reasoning_mode=reasoning_mode_for(transport, assistant.reasoning_mode),
        calls_tools=calls_tools,
        local=local,
    )
