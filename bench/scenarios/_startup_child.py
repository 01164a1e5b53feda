"""Run inside a fresh process by startup.py: start an app, report the first
frame that shows its content (epoch seconds) and the RSS once idle."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any


async def main(kind: str, store: str) -> None:
    from _common import FrameLog, rss_mb, timed_app
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    if kind == "bare":

        class Bare(App[None]):
            def compose(self) -> ComposeResult:
                yield Static("hello")

        app: Any = timed_app(Bare)()
        ready = lambda: 1  # noqa: E731
    else:
        from yachat.core.chat import ChatCore
        from yachat.settings import Settings
        from yachat.tui.app import YachatApp

        servers: dict[str, Any] = {}
        if kind == "yachat_mcp":  # three stdio MCP servers configured (the tests' server)
            from yachat.mcp_config import parse_server

            server = Path(__file__).resolve().parents[2] / "tests" / "mcp" / "server.py"
            servers = {
                f"s{i}": parse_server(f"s{i}", {"command": sys.executable, "args": [str(server), "stdio"]})
                for i in range(3)
            }
        settings = Settings(backend="local", local_address="127.0.0.1:9", local_token="x",
                            store_path=Path(store), config_path=Path(store).with_suffix(".toml"),
                            mcp_servers=servers)  # fmt: skip
        app = timed_app(YachatApp)(ChatCore.open_store(settings))
        ready = lambda: len(app.sidebar.threads) if app.is_mounted(app.screen) else 0  # noqa: E731
    app.frame_log = FrameLog(ready)
    async with app.run_test(size=(120, 40)):
        while not any(n for _, n in app.frame_log.frames):
            await asyncio.sleep(0.001)
        painted = time.time() - (time.perf_counter() - next(t for t, n in app.frame_log.frames if n))
        await asyncio.sleep(1.0)
        ready = None
        if kind == "yachat_mcp":
            while app.mcp is None or len(app.mcp.tools()) < 3 * 11:
                await asyncio.sleep(0.01)
            ready = time.time()
        print(json.dumps({"painted": painted, "rss_mb": rss_mb(), "mcp_ready": ready}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
