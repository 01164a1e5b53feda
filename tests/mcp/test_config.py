"""[mcp_servers.NAME] tables and the tool settings: parsed, checked, expanded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from yachat.mcp_config import McpConfigError, McpServerConfig, parse_server
from yachat.settings import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_tool_settings_have_defaults_and_come_from_the_file(tmp_path: Path) -> None:
    defaults = load_settings(env={}, config_path=tmp_path / "none.toml")
    assert (defaults.tool_rounds_at_most, defaults.tool_timeout_s, defaults.tool_output_tokens_at_most) == (
        8,
        60.0,
        4000,
    )
    assert defaults.mcp_servers == {}
    path = write(tmp_path, "tool_rounds_at_most = 3\ntool_timeout_s = 15\ntool_output_tokens_at_most = 500\n")
    s = load_settings(env={}, config_path=path)
    assert (s.tool_rounds_at_most, s.tool_timeout_s, s.tool_output_tokens_at_most) == (3, 15.0, 500)
    with pytest.raises(ConfigError, match="tool_rounds_at_most must be above 0"):
        load_settings(env={}, config_path=write(tmp_path, "tool_rounds_at_most = 0\n"))


def test_servers_of_both_transports_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
# my servers
[mcp_servers.files]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "~/notes"]
env = { DEBUG = "0" }
cwd = "~"
tools = ["read_file"]

[mcp_servers.web]
url = "https://example.com/mcp"
headers = { Authorization = "Bearer ${WEB_TOKEN}" }
enabled = false
timeout_s = 120
""",
    )
    servers = load_settings(env={}, config_path=path).mcp_servers
    files, web = servers["files"], servers["web"]
    assert (files.transport, files.command, files.args, dict(files.env), files.tools) == (
        "stdio",
        "npx",
        ("-y", "@modelcontextprotocol/server-filesystem", "~/notes"),
        {"DEBUG": "0"},
        ("read_file",),
    )
    assert files.enabled and files.timeout_s is None
    assert (web.transport, web.url, web.enabled, web.timeout_s, web.tools) == (
        "http",
        "https://example.com/mcp",
        False,
        120.0,
        None,
    )
    # Placeholders stay placeholders until a server starts: Settings holds no secret.
    assert web.headers["Authorization"] == "Bearer ${WEB_TOKEN}"
    assert "Bearer" not in repr(web)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('command = "x"\nurl = "http://h/mcp"', "give either command (a stdio server) or url"),
        ("enabled = true", "give either command"),
        ('command = "x"\nheaders = { A = "b" }', "headers does not apply to a server with command"),
        ('url = "http://h/mcp"\nargs = ["a"]', "args does not apply to a server with url"),
        ('command = "x"\ncolour = "red"', "unknown key 'colour'"),
        ('command = "x"\nargs = "one string"', "args must be a list of strings"),
        ('command = "x"\nenv = { A = 1 }', "env must be a table of strings"),
        ('command = "x"\ntimeout_s = 0', "timeout_s must be a positive number"),
        ('command = "x"\nenabled = "yes"', "enabled must be true or false"),
        ('url = "ws://h/mcp"', "url must start with http:// or https://"),
    ],
)
def test_a_bad_server_table_is_one_line_naming_file_line_and_server(
    tmp_path: Path, table: str, message: str
) -> None:
    path = write(tmp_path, f'model = "m"\n\n[mcp_servers.bad]\n{table}\n')
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, config_path=path)
    text = str(info.value)
    assert text.startswith(f"config file {path}, line 3: mcp_servers.bad: ")
    assert message in text and "\n" not in text


def test_a_bad_server_name_is_refused() -> None:
    with pytest.raises(McpConfigError, match="a server name may hold only"):
        parse_server("a.b", {"command": "x"})


def test_a_bad_table_stops_the_cli_with_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, '[mcp_servers.bad]\nurl = "ftp://x"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "yachat", "mcp", "list", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"yachat: config file {path}, line 1: mcp_servers.bad: url must start with http:// or https:// (streamable HTTP)"
    ]


def test_variables_are_expanded_when_resolved() -> None:
    config = parse_server(
        "gh",
        {
            "command": "${TOOLS}/server",
            "args": ["--user", "${USER_NAME:-nobody}", "$NOT_A_PLACEHOLDER"],
            "env": {"GITHUB_TOKEN": "${GH_TOKEN}"},
            "cwd": "~/${SUB}",
        },
    )
    environ = {"TOOLS": "/opt/t", "GH_TOKEN": "ghp_123", "SUB": "work", "HOME": "/home/u"}
    resolved = config.resolved(environ)
    assert resolved.command == "/opt/t/server"
    assert resolved.args == ("--user", "nobody", "$NOT_A_PLACEHOLDER")
    assert dict(resolved.env) == {"GITHUB_TOKEN": "ghp_123"}
    assert resolved.cwd is not None and resolved.cwd.endswith("/work") and "~" not in resolved.cwd
    with pytest.raises(McpConfigError) as info:
        config.resolved({"TOOLS": "/opt/t"})
    assert (
        str(info.value)
        == "mcp_servers.gh: environment variable GH_TOKEN is not set (used in env.GITHUB_TOKEN)"
    )


def test_summary_masks_env_and_header_values() -> None:
    stdio = McpServerConfig("a", command="npx", args=("-y", "srv"), env={"GITHUB_TOKEN": "ghp_secret"})
    http = McpServerConfig("b", url="https://h/mcp", headers={"Authorization": "Bearer xyz"})
    assert stdio.summary() == "stdio: npx -y srv  env: GITHUB_TOKEN=****"
    assert http.summary() == "http: https://h/mcp  headers: Authorization=****"
