"""The test MCP server (server.py) as configs for the hub, over stdio and streamable HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from yachat.mcp_config import McpServerConfig, parse_server

SERVER = Path(__file__).with_name("server.py")


def stdio_config(name: str = "test", events: Path | None = None, **table: Any) -> McpServerConfig:
    args = [str(SERVER), "stdio"] + (["--events", str(events)] if events else [])
    return parse_server(name, {"command": sys.executable, "args": args, **table})


def broken_config(name: str = "broken") -> McpServerConfig:
    """A server that cannot start: its command does not exist."""
    return parse_server(name, {"command": "yachat-no-such-mcp-server"})


def events_of(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


@pytest.fixture
def events(tmp_path: Path) -> Path:
    return tmp_path / "events.txt"


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The test server over streamable HTTP on a free loopback port: (url, its events file)."""
    events = tmp_path_factory.mktemp("http") / "events.txt"
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "http", "--events", str(events)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("port "), line
        yield f"http://127.0.0.1:{line.split()[1]}/mcp", events
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
