"""Scenario 4: start-up.

- startup_s: process start until a frame shows the sidebar (store of scenario 3);
- idle_rss_mb: that process's resident memory once idle;
- startup_bare_textual_s, idle_bare_textual_rss_mb: the same for an empty Textual app;
- startup_mcp_s: startup_s with three stdio MCP servers configured (they start after
  the first frame); mcp_all_ready_s: until all three are ready with their tools;
- local_ready_s: `yachat serve --engine smollm2` started until the SDK gets a first token.

Both apps start from bytecode, as installed packages do (pip compiles them on
install): with PYTHONDONTWRITEBYTECODE set, as in this project's sandboxes,
yachat's own ~60 modules were compiled from source on every start (~60 ms of
it) while Textual's came compiled. The bytecode goes to a cache of the
benchmark's own, filled by a start of each app that is not timed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import sdk_for
from _data import big_store
from sidebar import CACHE

from yachat.server.process import start_server_process

HERE = Path(__file__).resolve().parent
BYTECODE = CACHE.parent / "bytecode"


def child(kind: str) -> tuple[float, float]:
    result, started = _child(kind)
    return result["painted"] - started, result["rss_mb"]


def _child(kind: str) -> tuple[dict[str, float], float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.time()
    out = subprocess.run(
        [sys.executable, str(HERE / "_startup_child.py"), kind, str(CACHE)],
        capture_output=True, text=True, check=True, timeout=120, env=env | {"PYTHONPYCACHEPREFIX": str(BYTECODE)},
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1]), started


async def first_token(server: object) -> None:
    model = sdk_for(server).models.completions("yandexgpt").configure(max_tokens=8)
    async for _ in model.run_stream("Say hi."):
        return


def local_ready() -> float:
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        with start_server_process("smollm2", env={"YACHAT_HOME": home}, timeout=120) as server:
            asyncio.run(first_token(server))
            return time.perf_counter() - started


def main() -> dict[str, float]:
    CACHE.parent.mkdir(exist_ok=True)
    big_store(CACHE).close()
    child("yachat")  # fills the bytecode cache: not timed
    child("bare")
    startup, rss = child("yachat")
    bare_startup, bare_rss = child("bare")
    child("yachat_mcp")  # the servers' own bytecode too
    with_mcp, started = _child("yachat_mcp")
    return {
        "startup_mcp_s": with_mcp["painted"] - started,
        "mcp_all_ready_s": with_mcp["mcp_ready"] - started,
        "startup_s": startup,
        "idle_rss_mb": rss,
        "startup_bare_textual_s": bare_startup,
        "idle_bare_textual_rss_mb": bare_rss,
        "local_ready_s": local_ready(),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
