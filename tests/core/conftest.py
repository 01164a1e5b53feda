"""A scripted local server and a chat core pointed at it, for the core's tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from yachat.core.chat import ChatCore
from yachat.server.process import start_server_process
from yachat.settings import Settings


class Script:
    """The scripted engine re-reads this file on every request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.set()

    def set(self, *rules: dict[str, Any], **default: Any) -> None:
        self.path.write_text(json.dumps({"default": default, "rules": list(rules)}))


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Script:
    return Script(tmp_path_factory.mktemp("script") / "script.json")


@pytest.fixture(scope="module")
def server(script: Script, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("server-home")
    with start_server_process(
        "scripted", args=["--script", str(script.path)], env={"YACHAT_HOME": str(home)}
    ) as srv:
        yield srv


@pytest.fixture
def settings(server: Any, tmp_path: Path, script: Script) -> Settings:
    script.set()
    return Settings(
        backend="local",
        local_address=server.address,
        local_token=server.token,
        store_path=tmp_path / "yachat.db",
        stream_idle_timeout_s=1.5,
    )


@pytest.fixture
def core(settings: Settings) -> Iterator[ChatCore]:
    core = ChatCore.open_store(settings)
    yield core
    core.store.close()
