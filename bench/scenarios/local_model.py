"""The on-device model behind `yachat serve` (SmolLM2-135M via llama-cpp-python).

- local_load_s: the server's own model load time (from its log);
- local_first_chunk_s: request until the first chunk, through the SDK;
- local_tokens_per_s: completion tokens per second of streaming, through the SDK;
- local_cancel_stop_ms: the client cancels a stream until the model is free again
  (a second request gets its first chunk);
- local_two_streams_ratio: two concurrent streams' wall time over one stream's
  (about 2: the model serves them one after another).
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from typing import Any

from _common import sdk_for

from yachat.server.process import start_server_process

PROMPT = [{"role": "user", "text": "Write three sentences about rivers."}]


def model(server: Any, max_tokens: int = 96) -> Any:
    return sdk_for(server).models.completions("yandexgpt").configure(temperature=0.0, max_tokens=max_tokens)


async def one_stream(server: Any) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = None
    last: Any = None
    async for result in model(server).run_stream(PROMPT):
        if first is None:
            first = time.perf_counter()
        last = result
    end = time.perf_counter()
    assert first is not None and last is not None
    return first - started, end - first, last.usage.completion_tokens


async def cancel_stop(server: Any) -> float:
    async def consume(event: asyncio.Event) -> None:
        async for _ in model(server, 400).run_stream(PROMPT):
            event.set()

    seen = asyncio.Event()
    task = asyncio.create_task(consume(seen))
    await seen.wait()
    await asyncio.sleep(0.2)
    cancelled = time.perf_counter()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    async for _ in model(server, 4).run_stream(PROMPT):
        return (time.perf_counter() - cancelled) * 1000
    return float("nan")


async def main() -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as home,
        start_server_process("smollm2", env={"YACHAT_HOME": home}, timeout=120) as server,
    ):
        load = re.search(r"ready in ([\d.]+) s", server.log_path.read_text())
        await one_stream(server)  # warm-up
        first, streaming, tokens = await one_stream(server)
        started = time.perf_counter()
        await one_stream(server)
        single = time.perf_counter() - started
        started = time.perf_counter()
        await asyncio.gather(one_stream(server), one_stream(server))
        double = time.perf_counter() - started
        stop_ms = await cancel_stop(server)
    return {
        "local_load_s": float(load.group(1)) if load else float("nan"),
        "local_first_chunk_s": first,
        "local_tokens_per_s": tokens / streaming if streaming else float("nan"),
        "local_cancel_stop_ms": stop_ms,
        "local_two_streams_ratio": double / single,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
