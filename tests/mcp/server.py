"""A real MCP server for yachat's tests and benchmarks, written with the `mcp` package.

    python server.py stdio [--events FILE]
    python server.py http [--events FILE]      # prints "port N" once it listens on 127.0.0.1

Tools: echo, sleep (cancellable), fail, big (1 MB of text), die (the process exits
mid-call), env (one variable of the server's environment), pid, linger (a closed stdin
no longer ends it), stubborn (only SIGKILL ends it from then on), picture (an image and a text block), structured
(structured content only). With --events, the server appends
one line per noteworthy event ("started", "sleep cancelled", ...) to FILE, so a test
can see what reached it. It writes one line to stderr on start.
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import socket
import sys
import threading
from typing import Any

import anyio
import mcp_types as types
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("yachat-test", version="1.0")
EVENTS: str | None = None
BIG_BYTES = 1024 * 1024
# A 1x1 PNG: small, real image content.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


def event(text: str) -> None:
    if EVENTS:
        with open(EVENTS, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")


@server.tool()
def echo(text: str) -> str:
    """Answer with the text given."""
    return text


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleep this many seconds, then say so."""
    event("sleep started")
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        event("sleep cancelled")
        raise
    event("sleep finished")
    return f"slept {seconds} s"


@server.tool()
def fail(reason: str = "on purpose") -> str:
    """Always fails."""
    raise ToolError(f"failed {reason}")


@server.tool()
def big() -> str:
    """Return 1 MB of text."""
    line = "0123456789abcdef" * 4 + "\n"  # 65 bytes
    return (line * (BIG_BYTES // len(line) + 1))[:BIG_BYTES]


@server.tool()
def die() -> str:
    """Exit the server process in the middle of the call."""
    event("dying")
    print("test server: dying on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
def env(name: str) -> str:
    """The value of one environment variable of the server ("<unset>" if it has none)."""
    return os.environ.get(name, "<unset>")


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def linger() -> str:
    """From now on outlive a closed stdin (as a server busy elsewhere would): a signal ends it."""
    threading.Thread(target=lambda: threading.Event().wait(), daemon=False).start()
    return "lingering"


@server.tool()
def stubborn() -> str:
    """From now on ignore SIGTERM and outlive a closed stdin: only SIGKILL ends the process."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return linger()


@server.tool(structured_output=False)
def picture() -> list[Any]:
    """An image and a caption."""
    image = types.ImageContent(type="image", data=base64.b64encode(PIXEL).decode(), mime_type="image/png")
    return [image, types.TextContent(type="text", text="a red pixel")]


@server.tool()
def structured() -> types.CallToolResult:
    """Numbers as structured content, with no text block."""
    return types.CallToolResult(content=[], structured_content={"one": 1, "two": 2})


def main() -> None:
    global EVENTS
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=("stdio", "http"))
    parser.add_argument("--events")
    args = parser.parse_args()
    EVENTS = args.events
    print(f"test server starting, pid {os.getpid()}", file=sys.stderr, flush=True)
    event("started")
    if args.transport == "stdio":
        anyio.run(server.run_stdio_async)
    else:
        anyio.run(_serve_http)


async def _serve_http() -> None:
    import uvicorn

    # Bound here, before uvicorn: the port is free and known before anyone connects.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    print(f"port {sock.getsockname()[1]}", flush=True)
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])


if __name__ == "__main__":
    main()
