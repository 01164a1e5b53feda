"""`yachat mcp list | import FILE`: the MCP servers from the shell.

Values from a server's `env` and `headers` are never printed: `NAME=****`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from yachat.cli.common import fail
from yachat.mcp_config import McpServerConfig
from yachat.settings import Settings
from yachat.text import one_line, strip_controls


def run_mcp(settings: Settings, args: argparse.Namespace) -> int:
    if args.mcp_command == "import":
        return _import(settings, Path(args.file), args.force)
    return _list(settings, args.names, args.timeout)


def _list(settings: Settings, names: list[str], timeout_s: float) -> int:
    from yachat.logs import setup_logging

    servers = dict(settings.mcp_servers)
    unknown = [n for n in names if n not in servers]
    if unknown:
        return fail(f"no MCP server is named {unknown[0]!r} in {settings.config_path}")
    if names:
        servers = {n: servers[n] for n in names}
    if not servers:
        print(
            f"no MCP servers: add [mcp_servers.NAME] tables to {settings.config_path}, "
            "or `yachat mcp import FILE`",
            file=sys.stderr,
        )
        return 0
    setup_logging()  # the servers' stderr goes there, not here
    states = asyncio.run(_states(servers, timeout_s))
    failed = 0
    for config, state in zip(servers.values(), states, strict=True):
        status = state.state
        if state.state == "failed":
            failed += 1
            status = f"failed: {one_line(strip_controls(state.detail), 200)}"
        print(f"{config.name}  {status}  {config.summary()}")
        for tool in state.tools:
            description = one_line(strip_controls(tool.description), 100)
            print(f"    {tool.name}  {description}".rstrip())
    return 1 if failed else 0


async def _states(servers: dict[str, McpServerConfig], timeout_s: float) -> list:
    from yachat.core.tools.mcp_hub import McpHub

    async with McpHub(servers, start_timeout_s=timeout_s) as hub:
        await hub.wait_started()
        return hub.states()


def _import(settings: Settings, file: Path, force: bool) -> int:
    from yachat.mcp_import import McpImportError, add_to_config, read_claude_file

    try:
        imported = read_claude_file(file)
        for note in imported.notes:
            print(f"yachat: {note}", file=sys.stderr)
        if not imported.tables:
            return fail(f"{file}: no server to import")
        done = add_to_config(settings.config_path, imported, force)
    except McpImportError as exc:
        return fail(str(exc))
    for name, replaced in done:
        verb = "replaced" if replaced else "added"
        print(f"{verb} mcp_servers.{name}  {imported.servers[name].summary()}")
    print(f"in {settings.config_path}", file=sys.stderr)
    return 0
