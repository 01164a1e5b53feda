"""The local server's runtime file: how yachat's client finds a running server.

`yachat serve` writes it when it is ready and removes it when it stops; the
chat core reads it to reuse a server instead of starting another.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from yachat.paths import local_server_file, write_private_file
from yachat.pids import pid_alive


@dataclass(frozen=True)
class ServerInfo:
    host: str
    port: int
    token: str
    pid: int
    engine: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def write_server_info(info: ServerInfo, path: Path | None = None) -> Path:
    path = path or local_server_file()
    write_private_file(path, json.dumps(asdict(info)))
    return path


def read_server_info(path: Path | None = None) -> ServerInfo | None:
    """The recorded server, or None when there is none or its process is gone."""
    path = path or local_server_file()
    try:
        info = ServerInfo(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if not pid_alive(info.pid):
        return None
    return info


def remove_server_info(pid: int, path: Path | None = None) -> None:
    """Remove the file if it still describes the server `pid`."""
    path = path or local_server_file()
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass
