"""Scenario: one stdio MCP server (the test server of tests/mcp) through yachat's McpHub.

(Not named mcp.py: the scenarios folder comes first on sys.path and would hide the package.)

- mcp_client_import_s: importing the `mcp` package in yachat (McpHub.run does it in a
  worker thread, once per process);
- mcp_start_list_s: hub started until the server is ready with its tools listed
  (process start, the launcher, `mcp` imports in the server, the handshake, tools/list),
  the client's import done; the median of 3 starts;
- mcp_server_rss_mb: that server process's resident memory once ready;
- mcp_launcher_ms: what the parent-death launcher adds to a start (`true` through it, minus `true`);
- tool_call_echo_median_ms, tool_call_echo_p99_ms: an echo call's round trip through the hub, 200 calls.
"""

from __future__ import annotations

import importlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio
from _common import percentile

from yachat.core.tools.mcp_hub import McpHub
from yachat.mcp_config import parse_server

SERVER = Path(__file__).resolve().parents[2] / "tests" / "mcp" / "server.py"
CALLS = 200


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * 4096 / 2**20


async def one_start() -> tuple[float, float, list[float]]:
    config = parse_server("bench", {"command": sys.executable, "args": [str(SERVER), "stdio"]})
    hub = McpHub([config])
    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(hub.run)
        await hub.wait_started(60)
        start_s = time.perf_counter() - started
        tools = {t.name: t for t in hub.tools()}
        pid = int((await hub.call(tools["pid"], {}, 10)).content)
        rss = rss_mb(pid)
        latencies = []
        for i in range(CALLS + 10):
            t0 = time.perf_counter()
            await hub.call(tools["echo"], {"text": f"hello {i}"}, 10)
            if i >= 10:
                latencies.append((time.perf_counter() - t0) * 1000)
        await hub.aclose()
    return start_s, rss, latencies


def launcher_ms() -> float:
    def timed(argv: list[str]) -> float:
        runs = []
        for _ in range(10):
            t0 = time.perf_counter()
            subprocess.run(argv, check=True)
            runs.append(time.perf_counter() - t0)
        return statistics.median(runs) * 1000

    from yachat.core.tools.mcp_connection import LAUNCHER

    return timed([sys.executable, "-I", "-S", str(LAUNCHER), "true"]) - timed(["true"])


def main() -> dict[str, float]:
    t0 = time.perf_counter()
    importlib.import_module("yachat.core.tools.mcp_connection")
    import_s = time.perf_counter() - t0
    starts, rss, latencies = [], [], []
    for _ in range(3):
        s, r, lat = anyio.run(one_start)
        starts.append(s)
        rss.append(r)
        latencies = lat
    return {
        "mcp_client_import_s": import_s,
        "mcp_start_list_s": statistics.median(starts),
        "mcp_server_rss_mb": statistics.median(rss),
        "mcp_launcher_ms": launcher_ms(),
        "tool_call_echo_median_ms": statistics.median(latencies),
        "tool_call_echo_p99_ms": percentile(latencies, 99),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
