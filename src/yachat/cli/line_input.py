"""A line from stdin without blocking the event loop, nor the process's exit."""

from __future__ import annotations

import contextlib
import sys
import threading

import anyio
import anyio.from_thread
import anyio.lowlevel

PROMPT = "you> "


def _read_line(prompt: str) -> str | None:
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = sys.stdin.readline()
    return None if line == "" else line.rstrip("\n")


async def read_line(prompt: str = "") -> str | None:
    """The next line, read in a daemon thread: a signal that ends the chat while it
    waits for input must not leave the process waiting for that input to exit."""
    token = anyio.lowlevel.current_token()
    done = anyio.Event()
    result: list[str | BaseException | None] = []

    def work() -> None:
        try:
            result.append(_read_line(prompt))
        except BaseException as exc:  # handed to the loop
            result.append(exc)
        with contextlib.suppress(RuntimeError):  # the loop has ended meanwhile
            anyio.from_thread.run_sync(done.set, token=token)

    threading.Thread(target=work, name="yachat-stdin", daemon=True).start()
    await done.wait()
    line = result[0]
    if isinstance(line, BaseException):
        raise line
    return line
