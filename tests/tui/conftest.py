"""The TUI under Textual's Pilot, on a chat core pointed at the scripted server."""

from __future__ import annotations

from pathlib import Path

import pytest

from yachat.core.chat import ChatCore
from yachat.server.process import ServerProcess
from yachat.settings import Settings
from yachat.tui.app import YachatApp

from ..support import Script, local_settings

SIZE = (120, 36)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(server: ServerProcess, tmp_path: Path, script: Script) -> Settings:
    script.set()
    return local_settings(server, tmp_path, stream_idle_timeout_s=3)


@pytest.fixture
def make_app(settings: Settings):  # type: ignore[no-untyped-def]
    def make(thread_id: int | None = None, core: ChatCore | None = None) -> YachatApp:
        return YachatApp(core or ChatCore.open_store(settings), thread_id)

    return make
