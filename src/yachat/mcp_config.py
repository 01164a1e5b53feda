"""`[mcp_servers.NAME]` in config.toml: what each MCP server is and how to start it.

Parsed and checked when the settings load (a bad table stops yachat with one
line); `${VAR}` and `${VAR:-default}` are expanded only when a server starts,
so a missing variable fails that server alone, and Settings never holds the
values behind the placeholders.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# What a stdio server inherits from yachat's environment besides its own `env`.
INHERITED_ENV = ("PATH", "HOME", "LANG")

_COMMON_KEYS = {"enabled", "timeout_s", "tools"}
_STDIO_KEYS = {"command", "args", "env", "cwd"}
_HTTP_KEYS = {"url", "headers"}


class McpConfigError(Exception):
    """One server's table cannot be used; the message names the server."""


@dataclass(frozen=True)
class McpServerConfig:
    name: str
    command: str | None = None  # stdio
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    cwd: str | None = None
    url: str | None = None  # streamable HTTP
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    enabled: bool = True
    timeout_s: float | None = None  # per call; None: the caller's (tool_timeout_s)
    tools: tuple[str, ...] | None = None  # allow-list; None: all

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    def allows(self, tool: str) -> bool:
        return self.tools is None or tool in self.tools

    def resolved(self, environ: Mapping[str, str] | None = None) -> McpServerConfig:
        """This server with `${VAR}` placeholders filled from `environ` (default: os.environ)."""
        environ = os.environ if environ is None else environ

        def sub(text: str, where: str) -> str:
            def one(match: re.Match[str]) -> str:
                var, default = match.group(1), match.group(2)
                value = environ.get(var)
                if value:
                    return value
                if default is not None:
                    return default
                raise McpConfigError(
                    f"mcp_servers.{self.name}: environment variable {var} is not set (used in {where})"
                )

            return _VAR.sub(one, text)

        def path(text: str | None, where: str) -> str | None:
            return None if text is None else os.path.expanduser(sub(text, where))

        return replace(
            self,
            command=path(self.command, "command"),
            args=tuple(sub(a, "args") for a in self.args),
            env={k: sub(v, f"env.{k}") for k, v in self.env.items()},
            cwd=path(self.cwd, "cwd"),
            url=None if self.url is None else sub(self.url, "url"),
            headers={k: sub(v, f"headers.{k}") for k, v in self.headers.items()},
        )

    def summary(self) -> str:
        """How it runs, secrets masked: `stdio: npx -y x  env: TOKEN=****`."""
        if self.command is not None:
            text = "stdio: " + " ".join([self.command, *self.args])
            if self.env:
                text += "  env: " + " ".join(f"{k}=****" for k in self.env)
        else:
            text = f"http: {self.url}"
            if self.headers:
                text += "  headers: " + " ".join(f"{k}=****" for k in self.headers)
        return text


def parse_servers(raw: Any) -> dict[str, McpServerConfig]:
    """The `mcp_servers` table as read from TOML; McpConfigError names the server at fault."""
    if not isinstance(raw, Mapping):
        raise McpConfigError("mcp_servers must be a table of [mcp_servers.NAME] tables")
    return {name: parse_server(name, table) for name, table in raw.items()}


def parse_server(name: str, table: Any) -> McpServerConfig:
    where = f"mcp_servers.{name}"
    if not NAME_PATTERN.match(name):
        raise McpConfigError(f"{where}: a server name may hold only letters, digits, '-' and '_'")
    if not isinstance(table, Mapping):
        raise McpConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - _COMMON_KEYS - _STDIO_KEYS - _HTTP_KEYS)
    if unknown:
        known = ", ".join(sorted(_COMMON_KEYS | _STDIO_KEYS | _HTTP_KEYS))
        raise McpConfigError(f"{where}: unknown key {unknown[0]!r} (known keys: {known})")
    if ("command" in table) == ("url" in table):
        raise McpConfigError(f"{where}: give either command (a stdio server) or url (streamable HTTP)")
    first, other = ("command", _HTTP_KEYS) if "command" in table else ("url", _STDIO_KEYS)
    stray = sorted(set(table) & other)
    if stray:
        raise McpConfigError(f"{where}: {stray[0]} does not apply to a server with {first}")

    def string(key: str) -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise McpConfigError(f"{where}: {key} must be a non-empty string")
        return value

    def strings(key: str) -> tuple[str, ...] | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise McpConfigError(f"{where}: {key} must be a list of strings")
        return tuple(value)

    def string_table(key: str) -> dict[str, str]:
        value = table.get(key, {})
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            raise McpConfigError(
                f'{where}: {key} must be a table of strings, e.g. {key} = {{ NAME = "value" }}'
            )
        return dict(value)

    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise McpConfigError(f"{where}: enabled must be true or false")
    timeout = table.get("timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise McpConfigError(f"{where}: timeout_s must be a positive number of seconds")
    url = string("url")
    if url is not None and not url.startswith(("http://", "https://", "${")):
        raise McpConfigError(f"{where}: url must start with http:// or https:// (streamable HTTP)")
    return McpServerConfig(
        name=name,
        command=string("command"),
        args=strings("args") or (),
        env=string_table("env"),
        cwd=string("cwd"),
        url=url,
        headers=string_table("headers"),
        enabled=enabled,
        timeout_s=None if timeout is None else float(timeout),
        tools=strings("tools"),
    )
