"""The terminal closes mid-answer (issue 21): yachat itself, not only the server it
started, is gone within 5 s, every time, with the answer so far stored and marked
cancelled. And an exit that hangs anyway is ended in time by the exit guard.

yachat runs as a terminal window's program does: the pty is its controlling
terminal, so closing the other end makes the kernel send it SIGHUP and SIGCONT.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from yachat.core.exit_signals import EXIT_DEADLINE_S, REPEAT_AFTER_S

from ...lifetimes import process_gone, serve_pids, wait_until
from ...support import Script
from .harness import Terminal, on_its_own_terminal, yachat_args

GONE_WITHIN = 5.0
ENDLESS = {"match": "endless", "answer": "tick " * 20000, "chunk_chars": 5, "delay_ms": 2}
HANGING = [sys.executable, str(Path(__file__).with_name("hanging_yachat.py"))]


def owning_env(home: Path, script: Script) -> dict[str, str]:
    """yachat starts its own scripted server, as it starts the local model for a user."""
    env = {
        **os.environ,
        "YACHAT_HOME": str(home),
        "YACHAT_BACKEND": "local",
        "YACHAT_LOCAL_ENGINE": "scripted",
        "YACHAT_LOCAL_SCRIPT": str(script.path),
    }
    for var in ("YC_API_KEY", "YC_IAM_TOKEN", "YC_OAUTH_TOKEN", "YC_FOLDER_ID", "COLUMNS", "LINES"):
        env.pop(var, None)
    for var in ("YACHAT_LOCAL_ADDRESS", "YACHAT_LOCAL_HTTP_URL", "YACHAT_LOCAL_TOKEN"):
        env.pop(var, None)
    return env


def stored_answer(home: Path) -> tuple[str, str, str]:
    """The newest answer's text, its status and its run's, read without opening the
    store (opening it would settle the runs of a dead process)."""
    path = home / "data" / "yachat.db"
    if not path.exists():
        return "", "", ""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute(
            "SELECT m.text, m.status, r.status FROM messages m JOIN runs r ON r.id = m.run_id"
            " WHERE m.role = 'assistant' ORDER BY m.id DESC"
        ).fetchone()
    except sqlite3.OperationalError:  # not migrated yet
        return "", "", ""
    finally:
        conn.close()
    return (row[0], row[1], row[2]) if row else ("", "", "")


class Session:
    """One yachat on its own terminal and home, its answer streaming; whatever
    happens, its process and its server are gone when the `with` ends."""

    def __init__(self, home: Path, script: Script, args: list[str]) -> None:
        self.home = home
        self.term = Terminal(on_its_own_terminal(args), owning_env(home, script), 100, 30)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.term.close()
        for pid in serve_pids(self.home):
            os.kill(pid, signal.SIGKILL)

    def stream(self) -> int:
        """Ask for the endless answer; the pid of the server yachat started."""
        self.term.wait_for("local · scripted", timeout=30)
        self.term.type("endless story")
        self.term.send("enter")
        assert wait_until(lambda: stored_answer(self.home)[0].startswith("tick tick"), 30)
        servers = serve_pids(self.home)
        assert len(servers) == 1, servers
        return servers[0]

    def gone_within(self, seconds: float, since: float) -> float:
        """Seconds from `since` until the process ended (and was reaped)."""
        pid = self.term.proc.pid
        assert wait_until(lambda: process_gone(pid), seconds - (time.monotonic() - since)), (
            f"yachat (pid {pid}) still running {seconds} s after"
        )
        taken = time.monotonic() - since
        self.term.proc.wait(5)
        return taken


def close_mid_answer(home: Path, script: Script, args: list[str]) -> tuple[int, float]:
    with Session(home, script, args) as session:
        server = session.stream()
        closed = time.monotonic()
        session.term.hang_up()
        taken = session.gone_within(GONE_WITHIN, closed)
        assert wait_until(lambda: process_gone(server), GONE_WITHIN - (time.monotonic() - closed))
        return session.term.proc.returncode, taken


@pytest.mark.slow
def test_closing_the_terminal_mid_answer_20_times(tmp_path: Path, script: Script) -> None:
    script.set(ENDLESS)
    taken = []
    for attempt in range(20):
        home = tmp_path / f"home-{attempt}"
        code, seconds = close_mid_answer(home, script, yachat_args())
        taken.append(seconds)
        assert code == 128 + signal.SIGHUP, f"attempt {attempt}: exit code {code}"
        text, message, run = stored_answer(home)
        assert text.startswith("tick tick") and (message, run) == ("cancelled", "cancelled"), (
            f"attempt {attempt}: {text[:20]!r} {message} {run}"
        )
    print(f"gone after the hangup in {min(taken):.2f}-{max(taken):.2f} s")


def test_an_exit_that_hangs_ends_by_the_deadline(tmp_path: Path, script: Script) -> None:
    """The driver's close never returns here: the guard ends yachat, the answer having
    been settled before (the exit's own steps came first)."""
    script.set(ENDLESS)
    code, seconds = close_mid_answer(tmp_path / "home", script, HANGING)
    assert code == 128 + signal.SIGHUP
    assert EXIT_DEADLINE_S - 0.5 < seconds < GONE_WITHIN
    text, message, run = stored_answer(tmp_path / "home")
    assert text.startswith("tick tick") and (message, run) == ("cancelled", "cancelled")
    log = (tmp_path / "home" / "log" / "yachat.log").read_text()
    assert "yachat ends at once: the exit did not finish" in log and "hanging_yachat.py" in log


def test_sigterm_sent_again_ends_a_hanging_exit_at_once(tmp_path: Path, script: Script) -> None:
    script.set(ENDLESS)
    with Session(tmp_path / "home", script, HANGING) as session:
        session.stream()
        first = time.monotonic()
        session.term.proc.send_signal(signal.SIGTERM)
        # The exit reaches the driver's close and hangs there (the answer is settled first).
        assert wait_until(lambda: stored_answer(session.home)[1] == "cancelled", 3)
        # Past the grace in which a repeat is the same signal told twice.
        assert wait_until(lambda: time.monotonic() - first > REPEAT_AFTER_S + 0.2, 2)
        again = time.monotonic()
        session.term.proc.send_signal(signal.SIGTERM)
        session.gone_within(1.0, again)
        assert time.monotonic() - first < EXIT_DEADLINE_S  # before the guard's own deadline
        assert session.term.proc.returncode in (128 + signal.SIGTERM, -signal.SIGTERM)
