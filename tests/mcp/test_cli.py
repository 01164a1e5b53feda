"""`yachat mcp list` and `yachat mcp import`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from yachat.settings import load_settings

from .conftest import SERVER


def yachat(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "YACHAT_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "yachat", *args], capture_output=True, text=True, timeout=120, env=full_env
    )


def test_list_shows_states_and_tools_and_masks_secrets(tmp_path: Path, private_home: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[mcp_servers.test]
command = {json.dumps(sys.executable)}
args = [{json.dumps(str(SERVER))}, "stdio"]
env = {{ GITHUB_TOKEN = "ghp_supersecret", FROM_ENV = "${{YACHAT_TEST_TOKEN}}" }}
tools = ["echo", "sleep"]

[mcp_servers.broken]
command = "yachat-no-such-mcp-server"

[mcp_servers.remote]
url = "http://127.0.0.1:9/mcp"
headers = {{ Authorization = "Bearer hdr-secret" }}
enabled = false
"""
    )
    proc = yachat(
        "mcp", "list", "--config", str(config), home=private_home, env={"YACHAT_TEST_TOKEN": "env-secret"}
    )
    assert proc.returncode == 1, proc.stderr  # one server failed
    python = f"{sys.executable} {SERVER} stdio"
    assert proc.stdout.splitlines() == [
        f"test  ready  stdio: {python}  env: GITHUB_TOKEN=**** FROM_ENV=****",
        "    echo  Answer with the text given.",
        "    sleep  Sleep this many seconds, then say so.",
        "broken  failed: command not found: yachat-no-such-mcp-server (not on PATH)  stdio: yachat-no-such-mcp-server",
        "remote  disabled  http: http://127.0.0.1:9/mcp  headers: Authorization=****",
    ]
    text = "\n".join(p.read_text() for p in private_home.rglob("yachat.log"))
    assert "stderr: test server starting" in text  # the server's stderr is in the log, not on the screen
    assert "test server starting" not in proc.stderr + proc.stdout
    for secret in ("ghp_supersecret", "env-secret", "hdr-secret"):
        assert secret not in proc.stdout + proc.stderr + text


def test_list_one_server_by_name_and_an_unknown_name(tmp_path: Path, private_home: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[mcp_servers.broken]\ncommand = "yachat-no-such-mcp-server"\n')
    proc = yachat("mcp", "list", "nope", "--config", str(config), home=private_home)
    assert proc.returncode == 1 and proc.stderr.startswith("yachat: no MCP server is named 'nope'")
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    proc = yachat("mcp", "list", "--config", str(empty), home=private_home)
    assert proc.returncode == 0 and proc.stdout == "" and "yachat mcp import FILE" in proc.stderr


CLAUDE = {
    "mcpServers": {
        "github": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-github"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_imported"},
        },
        "remote": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer abc"}},
        "old-sse": {"url": "https://mcp.example.com/sse"},
        "quiet": {"command": "srv", "disabled": True, "alwaysAllow": ["x"]},
    }
}


def test_import_appends_tables_and_keeps_the_file(tmp_path: Path, private_home: Path) -> None:
    config = tmp_path / "config.toml"
    original = (
        '# my settings\nmodel = "yandexgpt/rc"  # the newest\n\n[keymap]\n"yachat.new_thread" = "ctrl+t"\n'
    )
    config.write_text(original)
    source = tmp_path / "claude_desktop_config.json"
    source.write_text(json.dumps(CLAUDE))

    proc = yachat("mcp", "import", str(source), "--config", str(config), home=private_home)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "added mcp_servers.github  stdio: npx -y @modelcontextprotocol/server-github  env: GITHUB_PERSONAL_ACCESS_TOKEN=****",
        "added mcp_servers.remote  http: https://mcp.example.com/mcp  headers: Authorization=****",
        "added mcp_servers.quiet  stdio: srv",
    ]
    assert "skipped mcp_servers.old-sse: SSE servers are not supported" in proc.stderr
    assert "mcp_servers.quiet: ignored alwaysAllow" in proc.stderr
    text = config.read_text()
    assert text.startswith(original)
    settings = load_settings(env={}, config_path=config)
    assert settings.model == "yandexgpt/rc" and settings.keymap == {"yachat.new_thread": "ctrl+t"}
    github = settings.mcp_servers["github"]
    assert github.args == ("-y", "@modelcontextprotocol/server-github")
    assert dict(github.env) == {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_imported"}
    assert settings.mcp_servers["remote"].headers == {"Authorization": "Bearer abc"}
    assert settings.mcp_servers["quiet"].enabled is False
    assert oct(config.stat().st_mode & 0o777) == "0o600"

    # Again: the names exist now; nothing is written without --force.
    proc = yachat("mcp", "import", str(source), "--config", str(config), home=private_home)
    assert proc.returncode == 1
    assert (
        "already has mcp_servers.github, mcp_servers.remote, mcp_servers.quiet; --force replaces them"
        in proc.stderr
    )
    assert config.read_text() == text

    CLAUDE_2 = {"mcpServers": {"github": {"command": "github-mcp", "args": ["stdio"]}}}
    source.write_text(json.dumps(CLAUDE_2))
    proc = yachat("mcp", "import", str(source), "--force", "--config", str(config), home=private_home)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["replaced mcp_servers.github  stdio: github-mcp stdio"]
    settings = load_settings(env={}, config_path=config)
    assert settings.mcp_servers["github"].command == "github-mcp"
    assert set(settings.mcp_servers) == {"github", "remote", "quiet"}
    assert config.read_text().startswith(original)


def test_import_of_a_file_that_is_not_claude_format(tmp_path: Path, private_home: Path) -> None:
    source = tmp_path / "x.json"
    source.write_text('{"servers": {}}')
    proc = yachat("mcp", "import", str(source), "--config", str(tmp_path / "c.toml"), home=private_home)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f'yachat: {source} has no "mcpServers" object (the Claude Desktop format)'
    source.write_text("not json")
    proc = yachat("mcp", "import", str(source), "--config", str(tmp_path / "c.toml"), home=private_home)
    assert proc.returncode == 1 and "is not JSON" in proc.stderr
    assert not (tmp_path / "c.toml").exists()
