"""Scenario: the stream scenario over the Responses API (the `openai` client, SSE).

The same ~30 KB answer in 2,000 deltas, served by the firehose engine on the local
server's Responses API:
- stream_responses_raw_openai_s: `AsyncOpenAI.responses.create(stream=True)` alone, reading
  every event and doing nothing with it;
- stream_responses_total_s: yachat (an assistant set to the responses transport) until a frame
  shows the finished answer, the median of PAIRS runs each paired with a raw run;
- stream_responses_total_x_raw: the median of the pairs' ratios.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from typing import Any

from _common import firehose_server
from _yachat import paired_runs


async def raw_openai(client: Any) -> float:
    started = time.perf_counter()
    stream = await client.responses.create(
        model="gpt://local/yandexgpt/latest", input=[{"role": "user", "content": "go"}], stream=True
    )
    async for _ in stream:
        pass
    return time.perf_counter() - started


async def main() -> dict[str, float]:
    import openai

    with tempfile.TemporaryDirectory() as home, firehose_server(home=home) as server:
        assert server.http_url, "the firehose server serves no HTTP API"
        client = openai.AsyncOpenAI(base_url=server.http_url, api_key=server.token, project="local")
        raw, total, ratio = await paired_runs(lambda: raw_openai(client), server, home, transport="responses")
        await client.close()
    return {
        "stream_responses_raw_openai_s": raw,
        "stream_responses_total_s": total,
        "stream_responses_total_x_raw": ratio,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
