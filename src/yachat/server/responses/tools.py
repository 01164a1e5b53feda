"""The hosted tools a response may use: web search, file search, remote MCP servers."""

from __future__ import annotations

from yachat.server.responses.run import Run


class HostedTools:
    def prepare(self, run: Run, folder: str) -> None:
        """Give the run the steps and server-side tools its request asks for."""
