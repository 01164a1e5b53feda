"""The terminal driver on a real pseudo-terminal that hangs up (its master closed,
as when a terminal window closes): what made yachat's exit hang (issue 21), and
that it no longer can."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import signal
import threading
from collections.abc import Iterator
from typing import TextIO

import pytest
from textual.app import App

from yachat.tui.terminal_driver import TerminalOutput, YachatDriver
from yachat.tui.textual_compat import deliver_sigcont, new_writer_thread, writer_queue_limit, writer_thread_of


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, int]]:
    master, slave = pty.openpty()
    yield master, slave
    for fd in (master, slave):
        with contextlib.suppress(OSError):  # closed by the test: the hangup
            os.close(fd)


@pytest.fixture
def slave_file(pty_pair: tuple[int, int]) -> Iterator[TextIO]:
    """The terminal's end as a program writes to it (buffered text, like stderr)."""
    file = open(pty_pair[1], "w", closefd=False)  # noqa: SIM115 (closed below, whatever it holds)
    yield file
    with contextlib.suppress(OSError):  # what it still buffers has nowhere to go
        file.close()


def finishes(fn: object, within: float) -> bool:
    """Whether `fn()` returns within `within` s (it runs in a daemon thread: a call that
    hangs, as the bug did, fails the test instead of hanging the suite)."""
    thread = threading.Thread(target=fn, daemon=True)  # type: ignore[arg-type]
    thread.start()
    thread.join(within)
    return not thread.is_alive()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_textuals_writer_dies_at_the_first_write_to_a_hung_up_terminal(
    pty_pair: tuple[int, int], slave_file: TextIO
) -> None:
    """The cause: after this, nothing reads the writer's queue, and the write after
    the next MAX_QUEUED_WRITES (often the driver's close) waits for ever."""
    master, _ = pty_pair
    writer = new_writer_thread(slave_file)
    writer.start()
    os.close(master)
    writer.write("\x1b[?1049h")
    writer.join(5)
    assert not writer.is_alive()


def test_our_writer_lives_on_and_stops(pty_pair: tuple[int, int], slave_file: TextIO) -> None:
    master, _ = pty_pair
    output = TerminalOutput(slave_file)
    writer = new_writer_thread(output)
    writer.start()
    writer.write("before")
    os.close(master)

    def write_many() -> None:
        for _ in range(writer_queue_limit() * 5):
            writer.write("\x1b[?25h")

    assert finishes(write_many, 5)
    assert finishes(writer.stop, 5)
    assert output.gone


def test_a_sigcont_for_a_hung_up_terminal_resumes_nothing(pty_pair: tuple[int, int]) -> None:
    """The kernel sends SIGCONT with the hangup; textual took it for a return from
    ctrl+z and started a second writer on the dead terminal."""
    master, slave = pty_pair

    async def check() -> None:  # a driver is made on a running loop
        driver = YachatDriver(App())
        driver.fileno, driver.input_tty = slave, True
        assert not driver.terminal_gone()
        os.close(master)
        assert driver.terminal_gone()
        deliver_sigcont(driver)
        assert writer_thread_of(driver) is None

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}
    try:
        asyncio.run(check())
    finally:  # the driver set its own for the process
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
