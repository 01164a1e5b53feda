"""The local server's runtime file, and the leases that keep a shared server up.

`yachat serve` writes the runtime file when it is ready and removes it when it
stops; the chat core reads it to reuse a server instead of starting another.

A server that a yachat started lives as long as that yachat (it watches a pipe
from its owner) and as long as any other yachat holds a lease on it. A lease is
a file in the server's lease directory, `flock`ed by the client for as long as
it uses the server: the kernel drops the lock when the client ends, however it
ends, so the server tells a live lease from a stale one for certain.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from yachat.paths import local_server_file, runtime_dir, write_private_file
from yachat.pids import pid_alive

LEASE_SUFFIX = ".lease"


@dataclass(frozen=True)
class ServerInfo:
    host: str
    port: int
    token: str
    pid: int
    engine: str
    context: int = 0  # the model's context in tokens: the most a prompt plus its answer may take
    model: str = ""  # what answers, e.g. "smollm2-135m-instruct"
    leases: str = ""  # the lease dir of a server that exits with its owner; "" if it runs until stopped
    http_url: str = ""  # the OpenAI-compatible chat API's base URL, "" when not served
    # The embedding model behind TextEmbedding (text-search-doc/-query), "" when none is served
    # (then the method is UNIMPLEMENTED).
    embeddings: str = ""
    tool_calls: bool | None = None  # whether its model calls tools; None: a server too old to say

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


# -- leases ----------------------------------------------------------------


def lease_dir_for(pid: int, base: Path | None = None) -> Path:
    return (base or runtime_dir()) / f"local-server-{pid}.leases"


class ServerLease:
    """A claim on a shared server; it holds until `release()` or the process ends."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)  # drops the lock
        self._fd = None


def take_lease(info: ServerInfo) -> ServerLease | None:
    """Lease the server `info` describes; None when it needs none or is going away."""
    if not info.leases:
        return None
    folder = Path(info.leases)
    name = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = folder / f".{name}.tmp"
    try:
        # O_CLOEXEC (Python's default): a program yachat runs must not hold the lease on.
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return None  # the dir is gone: the server has stopped
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        # Locked before it gets its visible name, so the server never sees it unheld.
        final = folder / f"{name}{LEASE_SUFFIX}"
        os.rename(tmp, final)
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        return None
    return ServerLease(final, fd)


def live_leases(folder: Path) -> int:
    """How many leases in `folder` are held by a live process; stale ones are removed."""
    try:
        names = [n for n in os.listdir(folder) if n.endswith(LEASE_SUFFIX)]
    except OSError:
        return 0
    live = 0
    for name in names:
        path = folder / name
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # released meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            live += 1
        else:
            with contextlib.suppress(OSError):
                path.unlink()  # its holder died without releasing it
        finally:
            os.close(fd)
    return live
