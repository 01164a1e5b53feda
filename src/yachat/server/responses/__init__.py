"""Yandex's Responses API (and Conversations) on the local server's HTTP port.

Modules: `routes` (HTTP), `request` (a create body, checked), `run` (the engine
answering), `events` (the stream and the response object), `items` (input and
output items), `state` (stored responses with a TTL, conversations), `tools`
(hosted web search, file search, MCP), `models` (model URI and folder), `errors`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from yachat.server.engines.base import Engine


def responses_api(
    engine: Engine, authorize: Callable[[str | None], None], *, ttl_s: float, vector_stores: Any = None
) -> Any:
    """The routes to hand the HTTP server; imported only when the HTTP port is served."""
    from yachat.server.responses.routes import ResponsesApi
    from yachat.server.responses.state import State
    from yachat.server.responses.tools import HostedTools

    return ResponsesApi(engine, authorize, State(ttl_s), HostedTools(vector_stores))
