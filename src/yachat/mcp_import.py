"""`yachat mcp import`: Claude-Desktop-style `{"mcpServers": {...}}` into config.toml.

The servers become `[mcp_servers.NAME]` tables appended to the user's file;
everything already there (comments too) stays as it was.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yachat import paths
from yachat.mcp_config import NAME_PATTERN, McpConfigError, McpServerConfig, parse_server, parse_servers

_IGNORED_QUIETLY = {"type", "transport"}
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class McpImportError(Exception):
    """The file cannot be imported, or the config cannot take it; one line."""


@dataclass
class Imported:
    servers: dict[str, McpServerConfig] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was skipped or ignored, and why


def read_claude_file(path: Path) -> Imported:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise McpImportError(f"cannot read {path}: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise McpImportError(f"{path} is not JSON: {exc}") from exc
    servers = data.get("mcpServers") if isinstance(data, Mapping) else None
    if not isinstance(servers, Mapping):
        raise McpImportError(f'{path} has no "mcpServers" object (the Claude Desktop format)')
    result = Imported()
    for name, entry in servers.items():
        try:
            table, ignored = _table_of(name, entry)
            result.servers[name] = parse_server(name, table)
        except McpConfigError as exc:
            result.notes.append(f"skipped {exc}")
            continue
        result.tables[name] = table
        if ignored:
            result.notes.append(f"mcp_servers.{name}: ignored {', '.join(sorted(ignored))}")
    return result


def _table_of(name: str, entry: Any) -> tuple[dict[str, Any], set[str]]:
    where = f"mcp_servers.{name}"
    if not NAME_PATTERN.match(name):
        raise McpConfigError(f"{where}: a server name may hold only letters, digits, '-' and '_'")
    if not isinstance(entry, Mapping):
        raise McpConfigError(f"{where}: not an object")
    kind = str(entry.get("type") or entry.get("transport") or "").lower()
    url = entry.get("url") or entry.get("serverUrl")
    if kind == "sse" or (isinstance(url, str) and url.rstrip("/").endswith("/sse")):
        raise McpConfigError(f"{where}: SSE servers are not supported (only stdio and streamable HTTP)")
    table: dict[str, Any] = {}
    if "command" in entry:
        keys: tuple[str, ...] = ("command", "args", "env", "cwd")
    elif url is not None:
        table["url"] = url
        keys = ("headers",)
    else:
        raise McpConfigError(f"{where}: has neither command nor url")
    for key in keys:
        if entry.get(key) not in (None, [], {}):
            table[key] = entry[key]
    if entry.get("disabled") is True:
        table["enabled"] = False
    timeout = entry.get("timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        table["timeout_s"] = timeout
    used = {*keys, "command", "url", "serverUrl", "disabled", "timeout", *_IGNORED_QUIETLY}
    return table, set(entry) - used


def add_to_config(config_path: Path, imported: Imported, force: bool) -> list[tuple[str, bool]]:
    """Append the imported servers to the config file; (name, replaced) for each.

    Refuses (McpImportError, nothing written) when a name exists and not `force`.
    """
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise McpImportError(f"cannot read config file {config_path}: {exc}") from exc
    existing = _servers_in(config_path, text)
    clashes = [n for n in imported.tables if n in existing]
    if clashes and not force:
        names = ", ".join(f"mcp_servers.{n}" for n in clashes)
        raise McpImportError(f"{config_path} already has {names}; --force replaces them")
    for name in clashes:
        text = _without_table(text, name)
        if name in _servers_in(config_path, text):
            raise McpImportError(
                f"cannot replace mcp_servers.{name}: it is not written as a [mcp_servers.{name}] "
                f"table in {config_path}; edit it there"
            )
    added = "\n\n".join(_toml_table(n, t) for n, t in imported.tables.items())
    if text and not text.endswith("\n"):
        text += "\n"
    new_text = f"{text}\n{added}\n" if text.strip() else f"{added}\n"
    try:
        parse_servers(tomllib.loads(new_text).get("mcp_servers", {}))
    except (tomllib.TOMLDecodeError, McpConfigError) as exc:  # a bug here, not the user's: write nothing
        raise McpImportError(f"the result would not be a valid config ({exc}); nothing was written") from exc
    paths.write_private_file(config_path, new_text)
    return [(n, n in clashes) for n in imported.tables]


def _servers_in(path: Path, text: str) -> set[str]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise McpImportError(f"config file {path} is not valid TOML: {exc}; fix it first") from exc
    servers = data.get("mcp_servers", {})
    return set(servers) if isinstance(servers, Mapping) else set()


def _without_table(text: str, name: str) -> str:
    """`text` without the `[mcp_servers.NAME]` table (and its sub-tables); what follows stays."""
    quoted = re.escape(json.dumps(name))
    header = re.compile(
        rf"^\s*\[\s*mcp_servers\s*\.\s*(?:{re.escape(name)}|{quoted})\s*(?:\.[^\]]*)?\]\s*(?:#.*)?$"
    )
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            skipping = bool(header.match(line))
        if not skipping:
            out.append(line)
    return "".join(out)


def _toml_table(name: str, table: Mapping[str, Any]) -> str:
    lines = [f"[mcp_servers.{name}]"]
    for key, value in table.items():
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise McpConfigError(f"cannot write {value!r} to TOML")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_value(key)
