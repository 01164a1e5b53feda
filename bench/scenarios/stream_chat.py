"""Scenario: the stream scenario over the OpenAI-compatible chat API (HTTP + SSE).

The same ~30 KB answer in 2,000 deltas, served by the firehose engine on the
local server's HTTP port:
- stream_chat_raw_sdk_s: `sdk.chat.completions(...).run_stream` alone, doing nothing with it;
- stream_chat_total_s: yachat (an assistant set to the chat transport) until a frame shows
  the finished answer, the median of PAIRS runs each paired with a raw run;
- stream_chat_total_x_raw: the median of the pairs' ratios.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from typing import Any

from _common import firehose_server, sdk_for
from _yachat import paired_runs


async def raw_sdk(server: Any) -> float:
    model = sdk_for(server).chat.completions("yandexgpt")
    started = time.perf_counter()
    async for _ in model.run_stream([{"role": "user", "text": "go"}]):
        pass
    return time.perf_counter() - started


async def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home, firehose_server(home=home) as server:
        assert server.http_url, "the firehose server serves no chat API"
        raw, total, ratio = await paired_runs(lambda: raw_sdk(server), server, home, transport="http")
    return {"stream_chat_raw_sdk_s": raw, "stream_chat_total_s": total, "stream_chat_total_x_raw": ratio}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
