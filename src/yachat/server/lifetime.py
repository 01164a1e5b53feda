"""How long a server runs: until stopped, or exactly as long as the yachats using it.

A server that yachat starts gets `--exit-with-owner`: its stdin is a pipe whose
other end only its owner holds. The kernel closes that end however the owner
ends (exit, a signal, SIGKILL), so the server sees end-of-file without the
owner's help. It then stays up only while another yachat holds a lease on it
(see yachat.server_info), and exits once none does.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import threading
from pathlib import Path

from yachat.paths import ensure_private_dir
from yachat.pids import pid_alive
from yachat.server_info import (
    ServerInfo,
    lease_dir_for,
    live_leases,
    remove_server_info,
    write_server_info,
)


class Lifetime:
    def __init__(self, runtime_file: Path | None, *, watch_owner: bool) -> None:
        self.runtime_file = runtime_file
        self.watch_owner = watch_owner
        # Leases only matter to a server that would otherwise exit with its owner,
        # and clients find them through the runtime file.
        self.leases = (
            lease_dir_for(os.getpid(), runtime_file.parent) if watch_owner and runtime_file else None
        )
        self._info: ServerInfo | None = None
        self._told_shared = False
        self._owner_gone = threading.Event()
        self.wakeup = threading.Event()  # set when the owner goes, or by a signal handler
        if watch_owner:
            threading.Thread(target=self._watch_stdin, name="yachat-owner", daemon=True).start()

    def _watch_stdin(self) -> None:
        try:
            while os.read(0, 4096):
                pass  # the owner never writes; anything it did is ignored
        except OSError:
            pass  # no stdin at all: nobody owns this server
        self._owner_gone.set()
        self.wakeup.set()

    def owner_gone(self) -> bool:
        return self.watch_owner and self._owner_gone.is_set()

    def publish(self, info: ServerInfo) -> None:
        """Write the runtime file (with the lease dir, made first) for clients to find."""
        if self.runtime_file is None:
            return
        if self.leases is not None:
            _sweep_lease_dirs(self.leases.parent)
            ensure_private_dir(self.leases)
            info = dataclasses.replace(info, leases=str(self.leases))
        self._info = info
        write_server_info(info, self.runtime_file)

    def wait(self) -> None:
        """Sleep until something may have changed: at once when the owner goes, else a while."""
        # Leases held by others are polled; nothing tells when their holders end.
        self.wakeup.wait(0.2 if self.owner_gone() else 5.0)
        self.wakeup.clear()

    def may_exit(self) -> bool:
        """Whether the owner has gone and no other yachat holds a lease."""
        if not self.owner_gone():
            return False
        if self.leases is None:
            return True
        if count := live_leases(self.leases):
            if not self._told_shared:
                self._told_shared = True
                _say(f"the yachat that started this server has ended; still in use by {count} other(s)")
            return False
        # Hide from new clients first, then look once more: a client that took a
        # lease in between keeps the server up, and it is published again.
        self._remove_runtime_file()
        if live_leases(self.leases):
            if self._info is not None and self.runtime_file is not None:
                write_server_info(self._info, self.runtime_file)
            return False
        return True

    def withdraw(self) -> None:
        """Remove what `publish` wrote; the server is stopping."""
        self._remove_runtime_file()
        if self.leases is not None:
            shutil.rmtree(self.leases, ignore_errors=True)

    def _remove_runtime_file(self) -> None:
        if self.runtime_file is not None:
            remove_server_info(os.getpid(), self.runtime_file)


def _sweep_lease_dirs(folder: Path) -> None:
    """Remove the lease dirs of servers that died without cleaning up (SIGKILL, a crash)."""
    for path in folder.glob("local-server-*.leases"):
        pid = path.name.removeprefix("local-server-").removesuffix(".leases")
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _say(line: str) -> None:
    print(f"yachat serve: {line}", file=sys.stderr, flush=True)
