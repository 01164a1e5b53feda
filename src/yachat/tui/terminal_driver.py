"""Textual's Linux driver, made safe for a terminal that goes away.

When the terminal closes (a window shut, `tmux kill-server`), the kernel sends
SIGHUP and then SIGCONT to the session leader, and every write to the terminal
fails with EIO from then on. With textual 8.2 as it is, that could hang yachat's
exit for ever (seen 1 run in 8 on a busy machine; 3 in 15 reproduced):

- SIGCONT makes the driver "resume from ctrl+z": it starts application mode
  again, with a second writer thread in place of the first.
- That writer dies of the EIO on its first flush, and nothing reads its queue
  (30 writes at most) any more. The resume's own escape sequences, the last
  frames and the exit's restoring sequences fill it, and the 31st write, often
  the driver's close (`WriterThread.stop`), waits for room for ever.

Here the writer's output drops what it cannot write instead of raising, a
SIGCONT for a terminal that is gone resumes nothing, and closing waits for the
writer a bounded time. The driver's private names this needs (textual 8.2.8) are
reached through `textual_compat`.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver

from yachat.tui.textual_compat import ResumeGuardedLinuxDriver, driver_output, set_driver_output

# How long closing waits for the writer to write out what is queued.
CLOSE_WAIT_S = 1.0

log = logging.getLogger(__name__)


class TerminalOutput:
    """The terminal as the writer thread writes to it: once a write fails (the
    terminal is gone), the rest is dropped, and the writer thread lives on."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self.gone = False

    def write(self, text: str) -> None:
        if not self.gone:
            try:
                self._file.write(text)
            except (OSError, ValueError) as exc:  # ValueError: the file was closed
                self._lost(exc)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except (OSError, ValueError) as exc:
                self._lost(exc)

    def fileno(self) -> int:
        return self._file.fileno()

    def _lost(self, exc: Exception) -> None:
        self.gone = True
        log.info("the terminal is gone (%s): its output is dropped", exc)


class YachatDriver(ResumeGuardedLinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.output = TerminalOutput(driver_output(self))
        set_driver_output(self, self.output)

    def terminal_gone(self) -> bool:
        return self.output.gone or (self.input_tty and not os.isatty(self.fileno))

    def may_resume(self) -> bool:
        # The SIGCONT that comes with a hangup is no resume from ctrl+z: starting
        # application mode again on a dead terminal is what fed the hang.
        return not self.terminal_gone()

    def close(self) -> None:
        closing = threading.Thread(target=super().close, name="yachat-driver-close", daemon=True)
        closing.start()
        closing.join(CLOSE_WAIT_S)
        if closing.is_alive():
            log.warning("the terminal's writer did not stop within %g s; left behind", CLOSE_WAIT_S)


def driver_for(default: type[Any]) -> type[Any]:
    """Textual's choice of driver, with ours in place of the plain Linux one."""
    return YachatDriver if default is LinuxDriver else default
