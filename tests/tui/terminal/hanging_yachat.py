"""`yachat` whose exit hangs in the terminal driver's close for ever, as textual's
did on a closed terminal (issue 21): what the exit guard must end in time. Nothing
else differs from `python -m yachat`."""

from __future__ import annotations

import threading

from yachat.cli.main import main
from yachat.tui.terminal_driver import YachatDriver


def _hang(self: YachatDriver) -> None:
    threading.Event().wait()


YachatDriver.close = _hang  # type: ignore[method-assign]

if __name__ == "__main__":
    raise SystemExit(main([]))
