"""Who streams a run: a lock file its process holds with flock(2) until the run ends.

The kernel drops a flock when its holder dies, however it dies (SIGKILL, a
crash, a closed terminal), and never hands it to another process: a run whose
lock can be taken has no live owner, at once and for certain. A pid could
not say that; the OS reuses pids. The lock files live in the runtime dir (a
tmpfs cleared at logout on most systems); the store records each file's full
path, so any process, whatever its environment, checks the same file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from pathlib import Path

from yachat.paths import ensure_private_dir, runtime_dir


def lock_dir() -> Path:
    return runtime_dir() / "runs"


class HeldLock:
    """A run's lock, held by this process until `release`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls) -> HeldLock:
        ensure_private_dir(runtime_dir())  # its parents would be made with the umask's mode
        directory = ensure_private_dir(lock_dir())
        while True:
            path = directory / f"run-{secrets.token_hex(8)}.lock"
            try:
                # O_EXCL: a fresh file no other run can name; not inherited by children.
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise
            return cls(path, fd)

    def release(self) -> None:
        """Unlock and remove the file (the run's row says how it ended before this)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(fd)


def owner_alive(path: str | None) -> bool:
    """Whether a live process holds the lock at `path` (this one included)."""
    if not path:
        return False  # a run written before runs had locks: nothing can prove an owner
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot look (permissions): leave the run to whoever can
    try:
        # flock locks belong to open files, so even this process's own held lock
        # refuses this second open: a run streaming here counts as alive.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def remove_stale(path: str | None) -> None:
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path)
