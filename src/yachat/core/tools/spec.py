"""What a tool is to the core, wherever it runs (an MCP server, yachat itself).

The tool loop, the MCP hub and the front ends share these records; none of
them holds SDK or `mcp` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

BUILTIN_SERVER = "yachat"  # the server name of yachat's own tools (knowledge_search)


@dataclass(frozen=True)
class ToolSpec:
    name: str  # as the server names it, and as the model sees it
    description: str
    parameters: dict[str, Any]  # a JSON schema of the arguments (an "object")
    server: str  # the MCP server it comes from, or BUILTIN_SERVER

    @property
    def key(self) -> str:
        """What approvals and allow-lists name: `server/tool`."""
        return f"{self.server}/{self.name}"


@dataclass(frozen=True)
class ToolOutcome:
    content: str  # the result as text, as the model will read it (before any cut)
    is_error: bool = False
    # Filled by the loop, not the tool.
    truncated_tokens: int = 0  # tokens left out of `content` by the output limit


@dataclass(frozen=True)
class ServerState:
    name: str
    state: str  # "disabled" | "starting" | "ready" | "failed" | "stopped"
    detail: str = ""  # for "failed": why, one line; for "ready": e.g. the server's name/version
    tools: tuple[ToolSpec, ...] = field(default=())


class ToolProvider(Protocol):
    """Where the tool loop finds tools and runs them."""

    def tools(self) -> list[ToolSpec]:
        """The tools ready now (servers still starting offer none yet)."""
        ...

    async def call(self, tool: ToolSpec, arguments: dict[str, Any], timeout_s: float) -> ToolOutcome:
        """Run one call. A failing tool is an outcome with is_error, not an exception;
        TimeoutError when it outlives `timeout_s`; cancelling the caller cancels the call
        (for MCP: a cancellation notification to the server)."""
        ...
