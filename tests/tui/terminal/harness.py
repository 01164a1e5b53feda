"""The real `python -m yachat` under a pseudo-terminal, its output fed to a terminal
emulator (pyte): what a user's terminal would show, byte for byte.

The check after each step: the emulated screen must equal what the app paints on a
full repaint. The repaint is yachat's own redraw key (F5), which has Textual write
every cell of the screen again from the widgets' state; any cell that differs was
painted wrong, or left stale, before. (A resize is no such check: Textual repaints
only the widgets whose geometry changed.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import pyte

KEYS = {
    "enter": b"\r",
    "escape": b"\x1b",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "end": b"\x1b[F",
    "home": b"\x1b[H",
    "tab": b"\t",
    "f1": b"\x1bOP",
    "f5": b"\x1b[15~",
    "ctrl+b": b"\x02",
    "ctrl+f": b"\x06",
    "ctrl+n": b"\x0e",
    "ctrl+q": b"\x11",
    "ctrl+s": b"\x13",
    "down": b"\x1b[B",
    "up": b"\x1b[A",
}

Cell = tuple[str, str, str, bool, bool, bool]


@dataclass
class Difference:
    row: int
    before: str
    after: str


class Terminal:
    def __init__(self, args: list[str], env: Mapping[str, str], cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        self.master, self._slave = pty.openpty()
        self._set_size(cols, rows)
        self.tty_attrs = termios.tcgetattr(self._slave)
        self.proc = subprocess.Popen(
            args,
            stdin=self._slave,
            stdout=self._slave,
            stderr=self._slave,
            env={**env, "TERM": "xterm-256color", "COLORTERM": "truecolor"},
            start_new_session=True,  # the pty becomes its controlling terminal: SIGWINCH reaches it
            close_fds=True,
        )
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self._lock = threading.Lock()
        self._stop_reading = threading.Event()
        self.last_output = time.monotonic()
        self.last_input = time.monotonic()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- the pty ---------------------------------------------------------------

    def _set_size(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self._slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def _read(self) -> None:
        # Polled, so that hang_up can stop it before the fd is closed (a read blocked on
        # a closed fd would keep the pty open; a later read could hit a reused fd number).
        while not self._stop_reading.is_set():
            try:
                if not select.select([self.master], [], [], 0.05)[0]:
                    continue
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.raw += data
                self.stream.feed(data)
                self.last_output = time.monotonic()

    def _write(self, data: bytes) -> None:
        os.write(self.master, data)
        self.last_input = time.monotonic()

    def send(self, *keys: str) -> None:
        for key in keys:
            self._write(KEYS.get(key, key.encode()))
            time.sleep(0.03)

    def type(self, text: str) -> None:
        self._write(text.encode())

    def click(self, x: int, y: int) -> None:
        """A left click at column x, row y (0-based), as SGR mouse reports."""
        self._write(f"\x1b[<0;{x + 1};{y + 1}M".encode())
        time.sleep(0.02)
        self._write(f"\x1b[<0;{x + 1};{y + 1}m".encode())

    def hang_up(self) -> None:
        """Close the terminal, as closing its window does: for a program started with
        `on_its_own_terminal`, the kernel sends it SIGHUP and SIGCONT."""
        self._stop_reading.set()
        self._reader.join(2)
        with contextlib.suppress(OSError):
            os.close(self.master)

    def resize(self, cols: int, rows: int) -> None:
        with self._lock:
            screen = self.screen
            if rows < screen.lines:
                # As xterm does with the alternate screen: keep the top rows, drop the
                # bottom ones (pyte would delete rows at the top, scrolling the rest up).
                for y in range(rows, screen.lines):
                    screen.buffer.pop(y, None)
                screen.lines = rows
            screen.resize(rows, cols)
        self.cols, self.rows = cols, rows
        self._set_size(cols, rows)
        os.killpg(self.proc.pid, signal.SIGWINCH)
        self.last_input = time.monotonic()

    # -- waiting -----------------------------------------------------------------

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Until the app has written nothing for `quiet` seconds since the last input.

        The composer's cursor blinks every 0.5 s: `quiet` must stay below that."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if time.monotonic() - max(self.last_output, self.last_input) >= quiet:
                return
            time.sleep(0.02)
        raise AssertionError(f"the app kept writing for {timeout} s")

    def wait_for(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"{text!r} not on the screen:\n{self.text()}")

    def wait_still(self, still: float = 1.5, timeout: float = 60.0) -> None:
        """Until the screen's text has not changed for `still` seconds (a stream ended)."""
        deadline = time.monotonic() + timeout
        last, since = self.lines(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.lines()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= still:
                return
        raise AssertionError(f"the screen kept changing for {timeout} s")

    def wait_exit(self, timeout: float = 20.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(2)
        return code

    # -- what the terminal shows -------------------------------------------------

    def lines(self) -> list[str]:
        with self._lock:
            return list(self.screen.display)

    def text(self) -> str:
        return "\n".join(self.lines())

    def cells(self) -> list[list[Cell]]:
        with self._lock:
            buffer = self.screen.buffer
            return [
                [
                    (c.data, c.fg, c.bg, c.bold, c.reverse, c.underscore)
                    for c in (buffer[y][x] for x in range(self.screen.columns))
                ]
                for y in range(self.screen.lines)
            ]

    def find(self, text: str) -> tuple[int, int]:
        for y, line in enumerate(self.lines()):
            if text in line:
                return line.index(text), y
        raise AssertionError(f"{text!r} not on the screen:\n{self.text()}")

    # -- the check ---------------------------------------------------------------

    def repaint_differences(self, quiet: float = 0.3) -> list[Difference]:
        """Settle, note the screen, force a full repaint, compare every cell."""
        self.settle(quiet)
        before_lines, before = self.lines(), self.cells()
        rows = self.rows
        self.send("f5")
        self.settle()
        after_lines, after = self.lines(), self.cells()
        differences = []
        style_only = []
        for y in range(rows):
            if before_lines[y] != after_lines[y]:
                differences.append(Difference(y, before_lines[y], after_lines[y]))
            elif before[y] != after[y]:
                style_only.append(y)
        # The composer's cursor blinks: one cell may differ in style between the two.
        cells = sum(1 for y in style_only for a, b in zip(before[y], after[y], strict=True) if a != b)
        if cells > 1:
            differences += [
                Difference(y, "(style) " + before_lines[y], "(style) " + after_lines[y]) for y in style_only
            ]
        return differences

    def assert_repaint_matches(self, step: str, quiet: float = 0.3) -> None:
        """`quiet`: how long the app must have written nothing first (a resize reaches
        the widgets in more than one pass: allow it more)."""
        differences = self.repaint_differences(quiet)
        if differences:
            report = "\n".join(
                f"row {d.row:2}: before |{d.before}|\n        after  |{d.after}|" for d in differences
            )
            raise AssertionError(f"after {step}: the screen differs from a full repaint:\n{report}")

    # -- the end -----------------------------------------------------------------

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._stop_reading.set()
        self._reader.join(2)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def slave_attrs(self) -> list:  # type: ignore[type-arg]
        return termios.tcgetattr(self._slave)


def yachat_args() -> list[str]:
    return [sys.executable, "-m", "yachat"]


# The pty becomes the controlling terminal of the new session (Terminal starts one),
# and the exit signals have their default dispositions, also when the suite runs
# under nohup or as a background job; then the program itself is exec'd (same pid).
_OWN_TERMINAL = (
    "import fcntl, os, signal, sys, termios\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
    "for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):\n"
    "    signal.signal(sig, signal.SIG_DFL)\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)


def on_its_own_terminal(args: list[str]) -> list[str]:
    """`args` run as a terminal window's program does: hanging up the pty signals it."""
    return [sys.executable, "-c", _OWN_TERMINAL, *args]
