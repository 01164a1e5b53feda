"""A tool call's approval as it reaches a real terminal: the real TUI in a pty, a real
stdio MCP server from config.toml, the key that allows it, the screen after."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ...mcp.conftest import SERVER
from ...support import Script


def test_a_call_is_approved_by_key_in_the_terminal(terminal, tmp_path: Path, script: Script) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(
        f"[mcp_servers.test]\ncommand = {json.dumps(sys.executable)}\n"
        f"args = [{json.dumps(str(SERVER))}, 'stdio']\n"
    )
    term = terminal(YACHAT_CONFIG=str(config))
    term.wait_for("Message yachat")
    # The servers start after the first frame; the top bar says when their tools are in.
    term.wait_for("11 tools", timeout=60)
    term.type("echo: ping")
    term.send("enter")
    term.wait_for("[a] allow once")
    assert "awaiting approval" in term.text()
    term.assert_repaint_matches("a call awaiting approval")
    term.send("a")
    term.wait_for("echo returned ping", timeout=20)
    term.wait_for("done in")
    term.assert_repaint_matches("the call done, the answer after it")
