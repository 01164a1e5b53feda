"""One resolved configuration: flags > environment > config file > defaults.

Credentials are read here but never written anywhere by yachat; `Settings`
keeps them out of its repr so a log line or a traceback cannot leak them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from yachat import paths
from yachat.mcp_config import McpConfigError, McpServerConfig, parse_servers

BACKENDS = ("auto", "cloud", "local")
# How the model is reached, for this session (else the assistant's choice, else the catalogue's):
# gRPC completions, the OpenAI-compatible chat API ("http" is its old name), the Responses API.
TRANSPORTS = ("grpc", "chat", "http", "responses")
CLOUD_ENDPOINT = "api.cloud.yandex.net:443"
RESPONSES_ENDPOINT = "https://ai.api.cloud.yandex.net/v1"


class ConfigError(Exception):
    """The config file cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Settings:
    backend: str = "auto"  # auto | cloud | local
    folder_id: str | None = None
    # Credentials: exactly as the SDK reads them; None means "let the SDK look".
    api_key: str | None = field(default=None, repr=False)
    iam_token: str | None = field(default=None, repr=False)
    oauth_token: str | None = field(default=None, repr=False)
    endpoint: str = CLOUD_ENDPOINT
    # The OpenAI-compatible Responses API (the `responses` transport); the local backend uses its own.
    responses_endpoint: str = RESPONSES_ENDPOINT
    # Local backend: a running server to use, or the engine to start one with.
    local_address: str | None = None
    local_http_url: str | None = None  # the chat API of the server at local_address, when it serves one
    local_token: str | None = field(default=None, repr=False)
    local_engine: str = "smollm2"
    local_model_path: str | None = None
    local_script: str | None = None
    # Defaults for the first assistant.
    model: str = "yandexgpt/latest"
    transport: str | None = None  # one of TRANSPORTS; None: the assistant's (or the catalogue's)
    web_search: bool = False  # `ask --web-search`: this question searches the web (Responses API)
    instruction: str = "You are a helpful assistant."
    temperature: float | None = 0.3
    max_tokens: int | None = 2000
    # Behaviour.
    stream_idle_timeout_s: float = 60.0
    request_timeout_s: float = 180.0
    # Each connection attempt to an endpoint (TCP and TLS); one that fails is not retried.
    connect_timeout_s: float = 5.0
    enable_server_data_logging: bool = False  # privacy: Yandex may log prompts only if asked
    theme: str | None = None
    # Tools: the loop's limits, and the MCP servers that offer tools ([mcp_servers.NAME]).
    tool_rounds_at_most: int = 8  # model -> calls -> results rounds in one answer
    tool_timeout_s: float = 60.0  # per call, unless the server's own timeout_s says otherwise
    tool_output_tokens_at_most: int = 4000  # a longer tool output is cut, with a marker
    # Several calls in one answer, run at once (false: one call per request, in turn).
    parallel_tool_calls: bool = True
    mcp_servers: Mapping[str, McpServerConfig] = field(default_factory=dict)
    keymap: Mapping[str, str] = field(default_factory=dict)
    store_path: Path = field(default_factory=paths.store_file)
    config_path: Path = field(default_factory=paths.config_file)
    # Where each value came from, for `yachat doctor`; never holds a value itself.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_cloud_credentials(self) -> bool:
        return bool(self.api_key or self.iam_token or self.oauth_token)


_FIELD_NAMES = {f.name for f in fields(Settings)} - {"sources"}

# Yandex's own variables, read as the SDK reads them.
_ENV = {
    "YC_API_KEY": "api_key",
    "YC_IAM_TOKEN": "iam_token",
    "YC_OAUTH_TOKEN": "oauth_token",
    "YC_FOLDER_ID": "folder_id",
    "YC_API_ENDPOINT": "endpoint",
    "YACHAT_RESPONSES_ENDPOINT": "responses_endpoint",
    "YACHAT_BACKEND": "backend",
    "YACHAT_LOCAL_ADDRESS": "local_address",
    "YACHAT_LOCAL_HTTP_URL": "local_http_url",
    "YACHAT_LOCAL_TOKEN": "local_token",
    "YACHAT_LOCAL_ENGINE": "local_engine",
    "YACHAT_LOCAL_MODEL": "local_model_path",
    "YACHAT_LOCAL_SCRIPT": "local_script",
    "YACHAT_MODEL": "model",
    "YACHAT_TRANSPORT": "transport",
    "YACHAT_STORE": "store_path",
}

_CONFIG_KEYS = _FIELD_NAMES - {
    "api_key",
    "iam_token",
    "oauth_token",
    "local_token",
    "config_path",
    "web_search",
}


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Resolve the configuration. Raises ConfigError for a bad config file."""
    env = os.environ if env is None else env
    config_path = config_path or Path(env.get("YACHAT_CONFIG") or paths.config_file())
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    for key, value in _read_config(config_path).items():
        values[key] = value
        sources[key] = f"config file {config_path}"
    for var, key in _ENV.items():
        if env.get(var):
            values[key] = env[var]
            sources[key] = f"environment ${var}"
    for key, value in (flags or {}).items():
        if value is not None:
            values[key] = value
            sources[key] = "command line"

    values = _coerce(values, sources)
    if values.get("backend", "auto") not in BACKENDS:
        raise ConfigError(
            f"backend must be one of {', '.join(BACKENDS)} "
            f"(got {values['backend']!r} from {sources.get('backend')})"
        )
    if values.get("transport") is not None and values["transport"] not in TRANSPORTS:
        raise ConfigError(
            f"transport must be one of grpc, chat, responses "
            f"(got {values['transport']!r} from {sources.get('transport')})"
        )
    return Settings(**values, config_path=config_path, sources=sources)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line N, column M)".
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    unknown = [k for k in data if k not in _CONFIG_KEYS]
    if unknown:
        key = unknown[0]
        line = _line_of(raw, key)
        where = f", line {line}" if line else ""
        known = ", ".join(sorted(_CONFIG_KEYS - {"sources", "store_path"}))
        raise ConfigError(f"config file {path}{where}: unknown key {key!r} (known keys: {known})")
    if "mcp_servers" in data:
        data["mcp_servers"] = _mcp_servers(path, raw, data["mcp_servers"])
    return data


def _mcp_servers(path: Path, raw: str, table: Any) -> dict[str, McpServerConfig]:
    try:
        return parse_servers(table)
    except McpConfigError as exc:
        key = str(exc).split(":")[0].split(" ")[0]  # "mcp_servers.NAME", the table at fault
        line = _line_of(raw, key) or _line_of(raw, "mcp_servers")
        where = f", line {line}" if line else ""
        raise ConfigError(f"config file {path}{where}: {exc}") from exc


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(key) and stripped[len(key) :].lstrip().startswith(("=", ".")):
            return number
        if stripped in (f"[{key}]", f"[{key}."):
            return number
    return None


def _coerce(values: dict[str, Any], sources: Mapping[str, str]) -> dict[str, Any]:
    types: dict[str, type] = {
        "temperature": float,
        "stream_idle_timeout_s": float,
        "request_timeout_s": float,
        "connect_timeout_s": float,
        "max_tokens": int,
        "tool_rounds_at_most": int,
        "tool_timeout_s": float,
        "tool_output_tokens_at_most": int,
    }
    out = dict(values)
    for key, kind in types.items():
        if key in out and out[key] is not None:
            try:
                out[key] = kind(out[key])
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"{key} must be a number (got {out[key]!r} from {sources.get(key)})"
                ) from exc
    for key in ("tool_rounds_at_most", "tool_timeout_s", "tool_output_tokens_at_most"):
        if key in out and out[key] <= 0:
            raise ConfigError(f"{key} must be above 0 (got {out[key]!r} from {sources.get(key)})")
    if "store_path" in out:
        out["store_path"] = Path(out["store_path"]).expanduser()
    if "parallel_tool_calls" in out and not isinstance(out["parallel_tool_calls"], bool):
        raise ConfigError(
            f"parallel_tool_calls must be true or false (from {sources.get('parallel_tool_calls')})"
        )
    if "enable_server_data_logging" in out and not isinstance(out["enable_server_data_logging"], bool):
        raise ConfigError(
            "enable_server_data_logging must be true or false "
            f"(from {sources.get('enable_server_data_logging')})"
        )
    if "keymap" in out and not isinstance(out["keymap"], Mapping):
        raise ConfigError(f"keymap must be a table of binding id = keys ({sources.get('keymap')})")
    return out


def save_setting(path: Path, key: str, value: str) -> None:
    """Set one top-level string key in the config file, keeping everything else.

    Used for choices made in the UI (the theme). Only simple top-level keys are
    written; a line that sets the key is replaced, else one is added before the
    first table.
    """
    if key not in _CONFIG_KEYS:
        raise ConfigError(f"{key!r} is not a config key")
    _read_config(path)  # refuse to touch a file that is already broken
    line = f"{key} = {_toml_string(value)}\n"
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        lines = []
    for i, existing in enumerate(lines):
        stripped = existing.strip()
        if stripped.startswith("["):
            lines.insert(i, line)
            break
        if stripped.startswith(key) and stripped[len(key) :].lstrip().startswith("="):
            lines[i] = line
            break
    else:
        lines.append(line)
    paths.write_private_file(path, "".join(lines))


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
