"""Remote MCP servers for the `mcp` tool: list a server's tools, call one. Streamable HTTP, official `mcp`.

Each operation is its own short connection, run to the end on the request's
thread: a response's calls are few, and a server kept open between requests
would outlive the request that named it.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

TIMEOUT_S = 30.0


class McpFailure(Exception):
    """The server could not be reached or listed; the message says why, in one line."""


def list_tools(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        async with _client(url, headers) as client:
            found: list[dict[str, Any]] = []
            cursor: str | None = None
            for _ in range(100):
                page = await client.list_tools(cursor=cursor)
                found += [
                    {
                        "name": t.name,
                        "description": t.description or "",
                        "input_schema": dict(t.input_schema),
                        "annotations": None,
                        "valid": True,
                    }
                    for t in page.tools
                ]
                cursor = page.next_cursor
                if not cursor:
                    break
            return found

    try:
        found: list[dict[str, Any]] = _run(go)
        return found
    except Exception as exc:
        raise McpFailure(_one_line(exc)) from None


def call_tool(
    url: str, headers: dict[str, str], name: str, arguments: dict[str, Any]
) -> tuple[str, str | None]:
    """(output, error): the tool's text, and an error message when it failed."""

    async def go() -> tuple[str, str | None]:
        async with _client(url, headers) as client:
            result = await client.call_tool(name, arguments, read_timeout_seconds=TIMEOUT_S)
        text = "\n".join(getattr(block, "text", f"[{block.type} content]") for block in result.content)
        if not text and result.structured_content is not None:
            text = json.dumps(result.structured_content, ensure_ascii=False)
        return (text, text or "the tool failed") if result.is_error else (text, None)

    try:
        return _run(go)
    except Exception as exc:
        return "", _one_line(exc)


def _run(go: Any) -> Any:
    async def bounded() -> Any:
        with anyio.fail_after(TIMEOUT_S):
            return await go()

    return anyio.run(bounded)


def _client(url: str, headers: dict[str, str]) -> Any:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from mcp import Client

    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(TIMEOUT_S))
    return _Owned(Client(streamable_http_client(url, http_client=http)), http)


class _Owned:
    """The client, and the HTTP client under it closed after it."""

    def __init__(self, client: Any, http: Any) -> None:
        self.client = client
        self.http = http

    async def __aenter__(self) -> Any:
        return await self.client.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.client.__aexit__(*exc)
        finally:
            await self.http.aclose()


def _one_line(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
