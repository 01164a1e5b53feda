"""An unexpected exception in the TUI: the terminal is restored, one line names the
log with the traceback, the exit status is non-zero, and the streaming answer is
stored with what arrived, marked as stopped."""

from __future__ import annotations

import re
import sys
import termios
from pathlib import Path

from yachat import paths
from yachat.store.models import MessageStatus, RunStatus
from yachat.store.store import Store

from ...support import Script
from .test_screen import LONG_ANSWER

ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\x1b\][^\x07]*\x07")


def test_an_unexpected_error_mid_stream(terminal, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "long", "answer": LONG_ANSWER, "chunk_chars": 300, "delay_ms": 700})
    term = terminal(args=[sys.executable, str(Path(__file__).with_name("crashing_yachat.py"))])
    term.wait_for("Message yachat")
    term.type("a long one")
    term.send("enter")
    term.wait_for("Paragraph 0")
    term.send("f1")  # raises inside a key handler

    code = term.wait_exit()
    assert code not in (0, None)

    # The terminal is restored: the alternate screen left, raw mode undone.
    raw = bytes(term.raw)
    assert b"\x1b[?1049l" in raw
    attrs = term.slave_attrs()
    assert attrs[3] & (termios.ICANON | termios.ECHO) == term.tty_attrs[3] & (termios.ICANON | termios.ECHO)

    # After that, one line: where the details are. No traceback on the terminal.
    after = ANSI.sub(b"", raw.rsplit(b"\x1b[?1049l", 1)[1]).decode(errors="replace")
    lines = [line for line in after.replace("\r", "\n").split("\n") if line.strip()]
    log = paths.log_file()
    assert len(lines) == 1, lines
    assert str(log) in lines[0] and "Traceback" not in after

    # The traceback is in the log.
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "injected failure for the crash test" in text

    # The answer that was streaming is stored with what arrived, marked stopped.
    store = Store.open(paths.store_file())
    try:
        thread = store.list_threads(limit=1)[0]
        answer = store.last_message(thread.id, role="assistant")
        assert answer is not None and answer.text.startswith("Paragraph 0")
        assert answer.status is MessageStatus.CANCELLED
        assert answer.run_id is not None
        run = store.get_run(answer.run_id)
        assert run is not None and run.status is RunStatus.CANCELLED
    finally:
        store.close()
