"""Start `yachat serve` as a child process and wait until it is ready.

Used by the chat core for the local backend and by the tests. Stdlib only at
import time: the core imports this on its start-up path.

The server lives as long as the process that starts it (see
yachat.server.lifetime): it exits within a moment of its owner ending, however
the owner ends. Its stderr goes to a log file of its own in yachat's log dir;
the newest few are kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

READY_PREFIX = "yachat serve: listening on "
MODEL_LINE = re.compile(
    r"^yachat serve: model (?P<model>\S+), context (?P<context>\d+) tokens(?:, tool calls (?P<tools>on|off))?"
)
CHAT_API_PREFIX = "yachat serve: chat API on "
PROMPT_LINE = re.compile(r"^yachat serve: prompt: (\d+) input tokens")
LOG_PREFIX = "serve-"
KEEP_LOGS = 5


class ServerStartError(RuntimeError):
    pass


@dataclass
class ServerProcess:
    host: str
    port: int
    token: str
    process: subprocess.Popen[str]
    log_path: Path
    context: int = 0  # tokens a prompt and its answer may take together
    model: str = ""  # what answers, e.g. "smollm2-135m-instruct"
    leases: Path | None = None  # where other yachats lease this server, when it has a runtime file
    http_url: str = ""  # the chat API's base URL (http://host:port/v1/), "" when not served
    tool_calls: bool | None = None  # whether its model calls tools (None: it did not say)
    _stopped: bool = field(default=False, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def prompt_tokens_seen(self) -> list[int]:
        """The input tokens of every completion request so far, from the server's log."""
        return prompt_tokens_seen(self.log_path)

    def stop(self, timeout: float = 5.0) -> None:
        """Give the server up: it exits now, unless another yachat holds a lease on it."""
        if self._stopped:
            return
        self._stopped = True
        _close_stdin(self.process)  # what the server watches: its owner is done
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            if self._shared():
                _close(self.process)  # it serves another yachat now, and exits after it
                return
            time.sleep(0.02)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _close(self.process)

    def _shared(self) -> bool:
        from yachat.server_info import live_leases

        return self.leases is not None and live_leases(self.leases) > 0

    def kill(self) -> None:
        """SIGKILL, as a crash would: no clean-up, the runtime file stays behind."""
        self._stopped = True
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        _close_stdin(self.process)
        _close(self.process)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_server_process(
    engine: str = "scripted",
    *,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    token: str | None = None,
    runtime_file: bool = False,
    timeout: float = 60.0,
) -> ServerProcess:
    """Start a server owned by this process: it exits when this process ends or calls `stop()`."""
    from yachat import paths

    token = token or secrets.token_urlsafe(32)
    command = [
        sys.executable,
        "-m",
        "yachat",
        "serve",
        "--port",
        "0",
        "--engine",
        engine,
        "--exit-with-owner",
    ]
    command += args
    if not runtime_file:
        command.append("--no-runtime-file")
    child_env = {**os.environ, **(env or {}), "YACHAT_LOCAL_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    log_fd, log_path = _open_log(paths.log_dir(child_env))
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,  # never written: its closing tells the server this process is done
            stdout=subprocess.PIPE,
            stderr=log_fd,
            env=child_env,
            text=True,
            start_new_session=True,  # a Ctrl+C in yachat's terminal is yachat's to handle
        )
    finally:
        os.close(log_fd)  # the server's stderr holds the file, and its lock, from here on
    found = _read_ready_lines(process, timeout)
    if READY_PREFIX not in found:
        if process.poll() is None:
            process.kill()
        process.wait()
        _close_stdin(process)
        _close(process)
        raise ServerStartError(_last_word(log_path))
    host, _, port = found[READY_PREFIX].removeprefix(READY_PREFIX).strip().rpartition(":")
    described = MODEL_LINE.match(found.get("model", ""))
    leases = None
    if runtime_file:
        from yachat.server_info import lease_dir_for

        leases = lease_dir_for(process.pid, paths.runtime_dir(child_env))
    return ServerProcess(
        host,
        int(port),
        token,
        process,
        log_path,
        context=int(described["context"]) if described else 0,
        model=described["model"] if described else "",
        leases=leases,
        http_url=found.get("http", ""),
        tool_calls=described["tools"] == "on" if described and described["tools"] else None,
    )


def prompt_tokens_seen(log_path: Path) -> list[int]:
    """The input tokens of every completion request a server logged, in order.

    The server writes one line per request, refused or not:
    `yachat serve: prompt: N input tokens (context C)`.
    """
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [int(m.group(1)) for line in lines if (m := PROMPT_LINE.match(line))]


def _open_log(folder: Path) -> tuple[int, Path]:
    """A new log file for one server, locked for as long as the server runs."""
    from yachat.paths import ensure_private_dir

    ensure_private_dir(folder)
    while True:
        path = folder / f"{LOG_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}.log"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            break
        except FileExistsError:
            continue
    # The lock belongs to the open file, which the server inherits as its stderr:
    # held until the server ends, so pruning never takes a running server's log.
    fcntl.flock(fd, fcntl.LOCK_EX)
    _prune_logs(folder, keep=KEEP_LOGS)
    return fd, path


def _prune_logs(folder: Path, keep: int) -> None:
    """Keep the newest `keep` server logs, and any whose server still runs."""
    try:
        logs = sorted(folder.glob(f"{LOG_PREFIX}*.log"), key=_mtime, reverse=True)
    except OSError:
        return
    for old in logs[keep:]:
        try:
            fd = os.open(old, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its server is running
        else:
            with contextlib.suppress(OSError):
                old.unlink()
        finally:
            os.close(fd)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _read_ready_lines(process: subprocess.Popen[str], timeout: float) -> dict[str, str]:
    """The server's stdout up to its ready line: {READY_PREFIX: ready line, "model": model line}."""
    found: dict[str, str] = {}

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if MODEL_LINE.match(line):
                found["model"] = line
            if line.startswith(CHAT_API_PREFIX):
                found["http"] = line.removeprefix(CHAT_API_PREFIX).strip()
            if line.startswith(READY_PREFIX):
                found[READY_PREFIX] = line
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        thread.join(0.05)
    return found


def _close_stdin(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()


def _close(process: subprocess.Popen[str]) -> None:
    if process.stdout is not None:
        with contextlib.suppress(OSError):
            process.stdout.close()


def _last_word(path: Path) -> str:
    """The server's last line on stderr: its own one-line reason for failing."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        lines = []
    last = lines[-1].removeprefix("yachat serve: ") if lines else ""
    return last or f"it exited without a word (log: {path})"
