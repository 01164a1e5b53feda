"""Scenario: what a long thread over the Responses API sends per turn.

A thread of TURNS questions, each answered (the scripted engine, ~60 words), through
the chat core on the responses transport. Every request body the `openai` client sends
is measured on the wire (an httpx request hook):
- responses_request_bytes_turn_2 / _turn_50: the body of the second and the fiftieth
  question's request;
- responses_request_bytes_ratio: turn 50 / turn 2. Chained on the previous response, a
  turn sends only its new message: the ratio stays near 1 however long the thread.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from _common import start_server_process

from yachat.core.chat import ChatCore
from yachat.core.responses_client import responses_client
from yachat.settings import Settings

TURNS = 50
ANSWER = " ".join(["The answer goes on a while, as answers do."] * 6)


async def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        script = Path(home) / "script.json"
        script.write_text(json.dumps({"default": {"answer": ANSWER, "chunk_chars": 40}, "rules": []}))
        with start_server_process(
            "scripted", args=["--script", str(script)], env={"YACHAT_HOME": home}
        ) as server:
            settings = Settings(
                backend="local",
                local_address=server.address,
                local_token=server.token,
                local_http_url=server.http_url,
                store_path=Path(home) / "yachat.db",
                config_path=Path(home) / "config.toml",
            )
            core = ChatCore.open_store(settings)
            assistant = core.store.create_assistant("r", "yandexgpt/latest", transport="responses")
            thread = core.new_thread(assistant_id=assistant.id)
            sizes: list[int] = []

            async def measure(request: Any) -> None:
                if request.url.path.endswith("/responses") and request.method == "POST":
                    sizes.append(len(request.content))

            client = await responses_client(core.session)
            client._client.event_hooks["request"].append(measure)
            for turn in range(1, TURNS + 1):
                final = await core.send(thread.id, f"Question {turn}: and what comes next?", lambda _e: None)
                assert final.error is None, final.error
            await core.aclose()
    return {
        "responses_request_bytes_turn_2": sizes[1],
        "responses_request_bytes_turn_50": sizes[TURNS - 1],
        "responses_request_bytes_ratio": sizes[TURNS - 1] / sizes[1],
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
