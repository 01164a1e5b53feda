"""A scripted `yachat serve` for the Responses API tests, and `openai` clients for it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai

from yachat.server.process import ServerProcess, start_server_process

from ..support import Script

FOLDER = "b1gtest"
MODEL = f"gpt://{FOLDER}/yandexgpt"
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@dataclass
class Served:
    process: ServerProcess
    home: Path
    script: Script

    @property
    def base_url(self) -> str:
        return self.process.http_url.rstrip("/")

    def client(self, **options: Any) -> openai.OpenAI:
        values = {"base_url": self.base_url, "api_key": self.process.token, "project": FOLDER, **options}
        return openai.OpenAI(**values)

    def async_client(self, **options: Any) -> openai.AsyncOpenAI:
        values = {"base_url": self.base_url, "api_key": self.process.token, "project": FOLDER, **options}
        return openai.AsyncOpenAI(**values)

    def log_lines(self, needle: str) -> list[str]:
        """The server's log lines (its yachat.log) that contain `needle`."""
        path = self.home / "log" / "yachat.log"
        try:
            return [line for line in path.read_text(encoding="utf-8").splitlines() if needle in line]
        except FileNotFoundError:
            return []


@contextmanager
def serve(tmp: Path, *args: str) -> Iterator[Served]:
    script = Script(tmp / "script.json")
    home = tmp / "server-home"
    with start_server_process(
        "scripted",
        args=["--script", str(script.path), "--no-embeddings", *args],
        env={"YACHAT_HOME": str(home)},
    ) as process:
        yield Served(process, home, script)


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until `condition()` is truthy; its value, or an AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.02)
