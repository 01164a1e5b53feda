"""Helpers shared by the test packages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Script:
    """The scripted engine's script; the server re-reads it on every request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.set()

    def set(self, *rules: dict[str, Any], **default: Any) -> None:
        self.path.write_text(json.dumps({"default": default, "rules": list(rules)}))
