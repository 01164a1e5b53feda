"""A chat core pointed at the module's scripted local server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yachat.core.chat import ChatCore
from yachat.server.process import ServerProcess
from yachat.settings import Settings

from ..support import Script, local_settings


@pytest.fixture
def settings(server: ServerProcess, tmp_path: Path, script: Script) -> Settings:
    script.set()
    return local_settings(server, tmp_path, stream_idle_timeout_s=1.5)


@pytest.fixture
def core(settings: Settings) -> Iterator[ChatCore]:
    core = ChatCore.open_store(settings)
    yield core
    core.store.close()
