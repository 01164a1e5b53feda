"""A stdio MCP server cannot outlive the yachat that started it, even a SIGKILLed one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..lifetimes import process_gone, wait_until
from .conftest import SERVER

HOLDER = textwrap.dedent(
    """
    import sys, anyio
    from yachat.core.tools.mcp_hub import McpHub
    from yachat.mcp_config import parse_server

    async def main():
        config = parse_server("t", {"command": sys.executable, "args": [sys.argv[1], "stdio"]})
        async with McpHub([config]) as hub:
            await hub.wait_started(30)
            spec = next(t for t in hub.tools() if t.name == "pid")
            print((await hub.call(spec, {}, 10)).content, flush=True)
            # From now on the closed stdin alone does not end it: only the parent-death signal can.
            spec = next(t for t in hub.tools() if t.name == "linger")
            await hub.call(spec, {}, 10)
            print("lingering", flush=True)
            await anyio.sleep(3600)

    anyio.run(main)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_server_ends_when_yachat_is_sigkilled(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(SERVER)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    server_pid = None
    try:
        assert holder.stdout is not None
        server_pid = int(holder.stdout.readline())
        assert holder.stdout.readline().strip() == "lingering"
        assert not process_gone(server_pid)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        assert wait_until(lambda: process_gone(server_pid), timeout=5)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if server_pid is not None and not process_gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)
