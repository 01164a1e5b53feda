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
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import firehose_server
from _yachat import SIZE, send_and_time, yachat_app, yachat_settings

from yachat.server.engines.firehose import firehose_text

PAIRS = 5


async def raw_openai(client: Any) -> float:
    started = time.perf_counter()
    stream = await client.responses.create(
        model="gpt://local/yandexgpt/latest", input=[{"role": "user", "content": "go"}], stream=True
    )
    async for _ in stream:
        pass
    return time.perf_counter() - started


async def yachat_total(server: Any, home: str, run: int) -> float:
    app = yachat_app(yachat_settings(server, home, store=Path(home) / f"run{run}.db"))
    store = app.core.store
    assistant = store.default_assistant()
    store.update_assistant(assistant.id, transport="responses")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        return await send_and_time(app, pilot, "stream it", len(firehose_text()))


async def main() -> dict[str, float]:
    import openai

    with tempfile.TemporaryDirectory() as home, firehose_server(home=home) as server:
        assert server.http_url, "the firehose server serves no HTTP API"
        client = openai.AsyncOpenAI(base_url=server.http_url, api_key=server.token, project="local")
        await raw_openai(client)  # warm the connection and the server's first-request costs
        raws, totals = [], []
        for run in range(PAIRS):
            raws.append(await raw_openai(client))
            totals.append(await yachat_total(server, home, run))
        await client.close()
    return {
        "stream_responses_raw_openai_s": statistics.median(raws),
        "stream_responses_total_s": statistics.median(totals),
        "stream_responses_total_x_raw": statistics.median(t / r for t, r in zip(totals, raws, strict=True)),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
