"""Start `yachat serve` as a child process and wait until it is ready.

Used by the chat core for the local backend and by the tests. Stdlib only at
import time: the core imports this on its start-up path.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

READY_PREFIX = "yachat serve: listening on "


class ServerStartError(RuntimeError):
    pass


@dataclass
class ServerProcess:
    host: str
    port: int
    token: str
    process: subprocess.Popen[str]
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _close(self.process)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no clean-up, the runtime file stays behind."""
        self._stopped = True
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
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
    token = token or secrets.token_urlsafe(32)
    command = [sys.executable, "-m", "yachat", "serve", "--port", "0", "--engine", engine, *args]
    if not runtime_file:
        command.append("--no-runtime-file")
    log_dir = Path(tempfile.gettempdir())
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
        "w+", prefix="yachat-serve-", suffix=".log", dir=log_dir, delete=False
    )
    child_env = {**os.environ, **(env or {}), "YACHAT_LOCAL_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        env=child_env,
        text=True,
        start_new_session=True,  # a Ctrl+C in yachat's terminal is yachat's to handle
    )
    log.close()
    line = _read_ready_line(process, timeout)
    if line is None:
        if process.poll() is None:
            process.kill()
        process.wait()
        _close(process)
        raise ServerStartError(_last_word(Path(log.name)))
    host, _, port = line.removeprefix(READY_PREFIX).strip().rpartition(":")
    return ServerProcess(host, int(port), token, process, Path(log.name))


def _read_ready_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    found: list[str] = []

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(READY_PREFIX):
                found.append(line)
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        thread.join(0.05)
    return found[0] if found else None


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
