"""The real TUI in a pseudo-terminal, on a private home and the module's scripted server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ...support import Script
from .harness import Terminal, yachat_args


@pytest.fixture
def tui_env(private_home: Path, server: Any, script: Script) -> dict[str, str]:
    """The test's own YACHAT_HOME (so `yachat.paths` finds the same store and log)."""
    script.set()
    env = {
        **os.environ,
        "YACHAT_HOME": str(private_home),
        "YACHAT_BACKEND": "local",
        "YACHAT_LOCAL_ADDRESS": server.address,
        "YACHAT_LOCAL_TOKEN": server.token,
    }
    for var in ("YC_API_KEY", "YC_IAM_TOKEN", "YC_OAUTH_TOKEN", "YC_FOLDER_ID", "COLUMNS", "LINES"):
        env.pop(var, None)
    return env


@pytest.fixture
def terminal(tui_env: dict[str, str]) -> Iterator[Callable[..., Terminal]]:
    started: list[Terminal] = []

    def start(cols: int = 120, rows: int = 36, args: list[str] | None = None, **env: str) -> Terminal:
        term = Terminal(args or yachat_args(), {**tui_env, **env}, cols, rows)
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()
