"""Scenario: the tool loop's own cost, with a real model stream and a real stdio MCP server.

The scripted local server's model calls `echo` (a stdio MCP server's tool) for each of
ANSWERS questions; the call is allowed, runs, and its result goes back in a second
request. For each answer:

- tool_roundtrip_overhead_ms: from the end of the stream that made the call (its last
  chunk read) to the next request leaving. The echo tool's own time is nil (it returns
  its argument), so this is everything between the two requests: the events, the
  stored parts, the approval check, the MCP round trip (JSON-RPC over the server's
  stdin/stdout, the hub's owner task), the output's count, the prompt built again.
  Median and p99 over the answers.
- tool_loop_overhead_ms: the same less the hub's call as the loop timed it: the loop's
  own share.
- tool_answer_s: Enter to the answer finished, the whole two-request answer.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from _common import percentile

from yachat.core import chat as chat_module
from yachat.core.chat import ChatCore
from yachat.core.events import RunEvent, ToolFinished
from yachat.core.tools.loop import ToolPolicy
from yachat.core.tools.mcp_hub import McpHub
from yachat.mcp_config import parse_server
from yachat.server.process import start_server_process
from yachat.settings import Settings

SERVER = Path(__file__).resolve().parents[2] / "tests" / "mcp" / "server.py"
ANSWERS = 40
WARM_UP = 3


class Marks:
    """When each request left and each stream ended, by the core's own stream call."""

    def __init__(self) -> None:
        self.requests: list[float] = []
        self.ends: list[float] = []

    def wrap(self, stream: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            async def gen() -> AsyncIterator[Any]:
                self.requests.append(time.perf_counter())
                async for chunk in stream(*args, **kwargs):
                    yield chunk
                self.ends.append(time.perf_counter())

            return gen()

        return timed


async def run(settings: Settings) -> dict[str, float]:
    marks = Marks()
    chat_module.stream = marks.wrap(chat_module.stream)  # type: ignore[attr-defined]
    core = ChatCore.open_store(settings)
    config = parse_server("bench", {"command": sys.executable, "args": [str(SERVER), "stdio"]})
    overheads, loop_only, answers = [], [], []
    async with McpHub([config]) as hub:
        await hub.wait_started(60)
        core.tool_providers.append(hub)
        assistant = core.store.create_assistant("bench", "yandexgpt/latest")
        for i in range(ANSWERS + WARM_UP):
            thread = core.new_thread(assistant_id=assistant.id)
            events: list[RunEvent] = []
            marks.requests.clear()
            marks.ends.clear()
            t0 = time.perf_counter()
            final = await core.send(thread.id, f"echo: ping {i}", events.append, ToolPolicy(allow_all=True))
            took = time.perf_counter() - t0
            assert final.tool_calls == 1 and "echo returned" in final.text, final
            (done,) = [e for e in events if isinstance(e, ToolFinished)]
            assert done.duration_s is not None
            gap = marks.requests[1] - marks.ends[0]
            if i >= WARM_UP:
                overheads.append(gap * 1000)
                loop_only.append((gap - done.duration_s) * 1000)
                answers.append(took)
    core.store.close()
    return {
        "tool_roundtrip_overhead_ms": statistics.median(overheads),
        "tool_roundtrip_overhead_p99_ms": percentile(overheads, 99),
        "tool_loop_overhead_ms": statistics.median(loop_only),
        "tool_answer_s": statistics.median(answers),
    }


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        script = Path(home) / "script.json"
        script.write_text("{}")
        with start_server_process(
            "scripted", args=["--script", str(script)], env={"YACHAT_HOME": home}
        ) as srv:
            settings = Settings(
                backend="local",
                local_address=srv.address,
                local_http_url=srv.http_url,
                local_token=srv.token,
                store_path=Path(home) / "yachat.db",
                config_path=Path(home) / "config.toml",
            )
            return anyio.run(run, settings)


if __name__ == "__main__":
    print(json.dumps(main()))
