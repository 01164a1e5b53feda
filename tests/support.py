"""Helpers shared by the test packages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from yachat.settings import Settings


class Script:
    """The scripted engine's script; the server re-reads it on every request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.set()

    def set(self, *rules: dict[str, Any], **default: Any) -> None:
        self.path.write_text(json.dumps({"default": default, "rules": list(rules)}))


def local_settings(server: Any, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a chat core on the test's scripted server, with a private store and config."""
    values: dict[str, Any] = {
        "backend": "local",
        "local_address": server.address,
        "local_http_url": server.http_url or None,
        "local_token": server.token,
        "store_path": tmp_path / "yachat.db",
        "config_path": tmp_path / "config.toml",
    }
    return Settings(**{**values, **overrides})
