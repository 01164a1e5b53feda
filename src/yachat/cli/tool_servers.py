"""The configured MCP servers for one command (`ask`, `chat --plain`): started
before the question is sent, so their tools are offered from the first answer;
each that fails is one line on stderr; all of them end with the command."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

from yachat.core.chat import ChatCore
from yachat.text import strip_controls

# How long a command waits for its servers to start before it asks without the slow ones.
START_WAIT_S = 20.0


@asynccontextmanager
async def tool_servers(core: ChatCore, err: TextIO = sys.stderr) -> AsyncIterator[None]:
    servers = core.settings.mcp_servers
    if not any(config.enabled for config in servers.values()):
        yield
        return
    from yachat.core.tools.mcp_hub import McpHub  # with `mcp` itself loaded only by run()

    async with McpHub(servers) as hub:
        await hub.wait_started(START_WAIT_S)
        for state in hub.states():
            if state.state == "failed":
                print(strip_controls(f"yachat: MCP server {state.name} failed: {state.detail}"), file=err)
            elif state.state == "starting":
                print(f"yachat: MCP server {state.name} is still starting; asking without it.", file=err)
        core.tool_providers.append(hub)
        try:
            yield
        finally:
            core.tool_providers.remove(hub)
