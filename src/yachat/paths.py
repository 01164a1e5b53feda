"""Where yachat keeps its files: config, data, runtime state and logs.

Every directory yachat creates is private to the user (0700) and every file it
writes is 0600: the store holds conversations, the runtime file a token.
`YACHAT_HOME` puts everything under one directory (tests, portable installs).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP = "yachat"


def _home_override(env: Mapping[str, str] | None = None) -> Path | None:
    home = (os.environ if env is None else env).get("YACHAT_HOME")
    return Path(home) if home else None


def config_dir() -> Path:
    home = _home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    home = _home_override()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP))


def runtime_dir(env: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if env is None else env
    home = _home_override(env)
    if home:
        return home / "run"
    xdg = environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isdir(xdg) and os.stat(xdg).st_uid == os.geteuid():
        return Path(xdg) / APP
    # Without a runtime dir of the session's (no systemd, a container, ssh), platformdirs
    # falls back to the temp dir, with a warning on stderr; yachat leaves nothing there.
    return Path(platformdirs.user_cache_dir(APP)) / "run"


def log_dir(env: Mapping[str, str] | None = None) -> Path:
    """The log dir of a process with environment `env` (default: this one's)."""
    home = _home_override(env)
    return home / "log" if home else Path(platformdirs.user_log_dir(APP))


def config_file() -> Path:
    return config_dir() / "config.toml"


def store_file() -> Path:
    return data_dir() / "yachat.db"


def local_server_file() -> Path:
    return runtime_dir() / "local-server.json"


def log_file() -> Path:
    return log_dir() / "yachat.log"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the user alone."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    return path


def write_private_file(path: Path, text: str) -> None:
    """Write `text` atomically to a file only the user can read."""
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
