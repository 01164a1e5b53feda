"""The exit guard, in a process of its own (it ends processes): once an exit signal
has come, the process ends by the deadline whatever blocks it, after closing the
store; the signal sent again later ends it at once; the same signal told twice at
once (a hangup's) changes nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from yachat.core.exit_signals import EXIT_DEADLINE_S, LAST_WORDS_S, REPEAT_AFTER_S, ExitGuard

from ..lifetimes import wait_until

# A front end in miniature: the guard enabled with a store, the exit signals
# handled; on a signal it either blocks its loop for good or settles for a while.
PROGRAM = """
import asyncio, sys, time
from pathlib import Path
from yachat.core.exit_signals import GUARD, on_exit_signals

out, mode = Path(sys.argv[1]), sys.argv[2]

class Store:
    def close(self):
        (out / "store-closed").touch()

async def main():
    got = asyncio.Event()
    with on_exit_signals(lambda signum: got.set()):
        print("ready", flush=True)
        await got.wait()
        if mode == "hang":
            time.sleep(1000)  # the loop blocked for good, as textual's close was
        await asyncio.sleep(1.5)  # the answers being settled
    (out / "settled").touch()
    return 129

with GUARD.guarding(Store()):
    code = asyncio.run(main())
sys.exit(code)
"""


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[str]] = []

    def run(mode: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", PROGRAM, str(tmp_path), mode], stdout=subprocess.PIPE, text=True
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        return proc

    yield run
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_blocked_exit_ends_by_the_deadline(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proc = start("hang")
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(EXIT_DEADLINE_S + LAST_WORDS_S + 1)
    taken = time.monotonic() - sent
    assert proc.returncode == 128 + signal.SIGTERM
    assert EXIT_DEADLINE_S - 0.2 < taken < 5.0
    assert (tmp_path / "store-closed").exists() and not (tmp_path / "settled").exists()


def test_the_signal_sent_again_ends_it_at_once(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proc = start("hang")
    first = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    # A repeat within the grace is the same signal told twice: wait past it.
    assert wait_until(lambda: time.monotonic() - first > REPEAT_AFTER_S + 0.1, 2)
    again = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(EXIT_DEADLINE_S)
    assert time.monotonic() - again < 1.0
    assert proc.returncode == 128 + signal.SIGTERM
    assert (tmp_path / "store-closed").exists()


def test_a_hangup_told_twice_at_once_still_settles(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proc = start("settle")
    proc.send_signal(signal.SIGHUP)
    proc.send_signal(signal.SIGHUP)
    proc.wait(EXIT_DEADLINE_S)
    assert proc.returncode == 129  # its own exit, after settling; not the guard's
    assert (tmp_path / "settled").exists() and not (tmp_path / "store-closed").exists()


def test_outside_a_front_end_the_guard_ends_nothing() -> None:
    """In here (pytest's own process) an app's exit must never start the watchdog."""
    guard = ExitGuard()
    guard.begin(0, within=0.01)
    assert not guard.began
    with guard.guarding():
        assert guard.enabled
    assert not guard.enabled  # no exit began: the next front end in this process starts unguarded
    guard.begin(0, within=0.01)
    assert not guard.began
    # Its watchdog has stood down, its pipe closed.
    assert wait_until(lambda: not any(t.name == "yachat-exit-guard" for t in threading.enumerate()), 2)
