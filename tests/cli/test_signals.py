"""`yachat ask` and the TUI killed mid-answer by SIGKILL, SIGTERM, SIGHUP and SIGINT:
within 5 s the answer is kept, its run is cancelled or interrupted, and `threads
show` says so; the signals yachat can catch end it with 128 + the signal."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ..support import Script
from .conftest import Yachat

SLOW = {"match": "endless", "answer": "tick " * 2000, "chunk_chars": 5, "delay_ms": 20}
SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGINT]
EXPECTED = {
    signal.SIGKILL: ("interrupted", -signal.SIGKILL),  # nothing runs: the next reader settles it
    signal.SIGTERM: ("cancelled", 128 + signal.SIGTERM),
    signal.SIGHUP: ("cancelled", 128 + signal.SIGHUP),
    signal.SIGINT: ("cancelled", 128 + signal.SIGINT),
}


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def answer_so_far(home: Path) -> str:
    """The streaming answer's stored text, read without opening the store (no settling)."""
    path = home / "data" / "yachat.db"
    if not path.exists():
        return ""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT text FROM messages WHERE role = 'assistant' ORDER BY id DESC").fetchone()
    except sqlite3.OperationalError:  # not migrated yet
        return ""
    finally:
        conn.close()
    return row[0] if row else ""


def check_settled(yachat: Yachat, sig: signal.Signals, killed_at: float) -> None:
    status, _ = EXPECTED[sig]
    listing = yachat("threads", "list")
    thread_id = listing.stdout.split()[0]
    shown = yachat("threads", "show", thread_id)
    assert time.monotonic() - killed_at < 5, "settling took too long"
    assert shown.returncode == 0, shown.stderr
    assert "[streaming]" not in shown.stdout
    assert f"assistant [{status}]" in shown.stdout
    assert "tick tick" in shown.stdout  # the answer so far is kept


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_ask_killed_mid_answer(yachat: Yachat, script: Script, sig: signal.Signals) -> None:
    script.set(SLOW)
    proc = subprocess.Popen(
        [sys.executable, "-m", "yachat", "ask", "endless story"],
        env=yachat.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: answer_so_far(yachat.home).startswith("tick tick"), 30, "a stored partial answer")
        killed_at = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=5)
        assert proc.returncode == EXPECTED[sig][1], err.decode()
        if sig is not signal.SIGKILL:
            assert f"stopped by {sig.name}" in err.decode() and "Traceback" not in err.decode()
        check_settled(yachat, sig, killed_at)
    finally:
        proc.kill()
        proc.wait()


class Terminal:
    """The TUI on a pseudo-terminal: the pty is its controlling terminal, so closing
    the other end hangs it up as closing a terminal window does."""

    def __init__(self, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "yachat"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"},
            start_new_session=True,
            # The pty becomes the controlling terminal of the new session.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        # Read all the time: a TUI whose terminal nobody reads blocks on its writes.
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += data

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def hang_up(self) -> None:
        os.close(self.master)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        with contextlib.suppress(OSError):  # already closed by hang_up
            os.close(self.master)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_tui_killed_mid_answer(yachat: Yachat, script: Script, sig: signal.Signals) -> None:
    script.set(SLOW)
    term = Terminal(yachat.env)
    try:
        wait_until(lambda: b"A new conversation" in term.output, 30, "the TUI to start")
        term.type("endless story")
        wait_until(lambda: b"endless story" in term.output, 10, "the composer to show the text")
        term.type("\r")
        wait_until(lambda: answer_so_far(yachat.home).startswith("tick tick"), 30, "a stored partial answer")
        killed_at = time.monotonic()
        if sig is signal.SIGHUP:
            term.hang_up()  # the terminal goes away; the kernel sends SIGHUP
        else:
            term.proc.send_signal(sig)
        term.proc.wait(timeout=5)
        assert term.proc.returncode == EXPECTED[sig][1], bytes(term.output[-2000:])
        check_settled(yachat, sig, killed_at)
    finally:
        term.close()


@pytest.mark.parametrize("when", ["mid-answer", "at the prompt"])
def test_plain_chat_ends_on_sigterm(yachat: Yachat, script: Script, when: str) -> None:
    script.set(SLOW)
    proc = subprocess.Popen(
        [sys.executable, "-m", "yachat", "chat", "--plain"],
        env=yachat.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    err = bytearray()

    def read_err() -> None:
        assert proc.stderr is not None
        while chunk := proc.stderr.read1(4096):  # type: ignore[attr-defined]
            err.extend(chunk)

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    try:
        assert proc.stdin is not None
        if when == "mid-answer":
            proc.stdin.write(b"endless story\n")
            proc.stdin.flush()  # and left open: the chat would wait for more
            wait_until(lambda: answer_so_far(yachat.home).startswith("tick tick"), 30, "a partial answer")
        else:
            # Waiting on a line that never comes: the signal must not wait for it.
            wait_until(lambda: b"type exit to end" in err, 30, "the chat to start")
        killed_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
        reader.join(timeout=5)
        assert proc.returncode == 128 + signal.SIGTERM, err.decode()
        assert "Traceback" not in err.decode()
        if when == "mid-answer":
            check_settled(yachat, signal.SIGTERM, killed_at)
    finally:
        proc.kill()
        proc.wait()
