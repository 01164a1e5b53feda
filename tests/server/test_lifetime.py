"""A server that yachat starts lives exactly as long as the yachats using it.

The owners here are real processes: a small program on the real backend start
path (resolve_backend, as the chat core calls it) and `yachat ask` itself. They
are killed the ways a session ends by accident (SIGKILL, SIGTERM, SIGHUP) and
the test looks in /proc for any `yachat serve` left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from yachat.server.process import KEEP_LOGS, start_server_process
from yachat.server_info import read_server_info

from ..lifetimes import process_gone, serve_pids, wait_until
from .test_wire import model

GONE_WITHIN = 5.0

# A yachat in miniature: it resolves the local backend exactly as the chat core
# does, says which server it uses, and then idles until stdin closes (or it is killed).
# The signals it is killed by end it as they end a yachat, also when the suite runs
# under nohup or as a background job (which would leave SIGHUP or SIGINT ignored).
OWNER = """
import signal, sys, anyio
for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, signal.SIG_DFL)
from yachat.core.backend import resolve_backend
from yachat.settings import Settings

backend = anyio.run(resolve_backend, Settings(backend="local", local_engine="scripted"))
server = backend.owned_server
print(server.pid if server else 0, backend.endpoint, backend.context_tokens, backend.model_name, flush=True)
sys.stdin.read()
backend.stop()
"""


class Owner:
    def __init__(self, home: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", OWNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "YACHAT_HOME": str(home)},
            text=True,
        )
        assert self.process.stdout is not None
        pid, self.endpoint, context, self.model = self.process.stdout.readline().split()
        self.server_pid = int(pid)  # 0: it reuses another owner's server
        self.context = int(context)

    def kill(self, sig: int) -> None:
        self.process.send_signal(sig)
        self.process.wait(10)

    def end(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    yield home
    # Whatever a test did, it leaves no server of its own running.
    left = serve_pids(home)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"yachat serve left running: {left}"


@pytest.fixture
def owners(home: Path) -> Iterator[list[Owner]]:
    started: list[Owner] = []
    yield started
    for owner in started:
        owner.end()


def _server_log(home: Path, pid: int) -> str:
    for path in (home / "log").glob("serve-*.log"):
        text = path.read_text()
        if f"pid {pid}" in text:
            return text
    return ""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_server_ends_with_the_process_that_started_it(home: Path, owners: list[Owner], sig: int) -> None:
    owner = Owner(home)
    owners.append(owner)
    assert owner.server_pid and serve_pids(home) == [owner.server_pid]
    assert owner.context == 32_768 and owner.model == "scripted"

    owner.kill(sig)
    assert wait_until(lambda: process_gone(owner.server_pid), GONE_WITHIN)
    assert serve_pids(home) == []
    assert read_server_info(home / "run" / "local-server.json") is None
    assert not list((home / "run").glob("*.leases"))


def test_a_shared_server_stays_while_either_owner_lives(home: Path, owners: list[Owner]) -> None:
    first = Owner(home)
    owners.append(first)
    second = Owner(home)
    owners.append(second)
    assert second.server_pid == 0 and second.endpoint == first.endpoint  # reused, not started
    assert second.context == first.context and second.model == first.model
    server = first.server_pid

    first.kill(signal.SIGKILL)
    # The server notices its owner is gone and stays for the second yachat.
    assert wait_until(lambda: "still in use" in _server_log(home, server), GONE_WITHIN)
    assert not process_gone(server)
    info = read_server_info(home / "run" / "local-server.json")
    assert info is not None and info.pid == server

    second.kill(signal.SIGKILL)
    assert wait_until(lambda: process_gone(server), GONE_WITHIN)
    assert serve_pids(home) == []


def test_a_shared_server_stays_when_its_owner_stops_it(home: Path, owners: list[Owner]) -> None:
    """The owner's own clean stop (ctrl+q, exit) does not pull the server from under another yachat."""
    first = Owner(home)
    owners.append(first)
    second = Owner(home)
    owners.append(second)
    server = first.server_pid

    first.end()  # stdin closed: the owner calls backend.stop() and exits 0
    assert first.process.returncode == 0
    assert wait_until(lambda: "still in use" in _server_log(home, server), GONE_WITHIN)
    assert not process_gone(server)
    second.end()
    assert wait_until(lambda: process_gone(server), GONE_WITHIN)


def test_a_yachat_after_the_owner_left_starts_its_own(home: Path, owners: list[Owner]) -> None:
    first = Owner(home)
    owners.append(first)
    first.kill(signal.SIGKILL)
    assert wait_until(lambda: process_gone(first.server_pid), GONE_WITHIN)
    second = Owner(home)
    owners.append(second)
    assert second.server_pid not in (0, first.server_pid)


def test_a_crashed_servers_leftovers_are_cleared_by_the_next(home: Path, owners: list[Owner]) -> None:
    first = Owner(home)
    owners.append(first)
    os.kill(first.server_pid, signal.SIGKILL)  # no clean-up at all
    leases = home / "run" / f"local-server-{first.server_pid}.leases"
    assert leases.is_dir()
    first.end()
    second = Owner(home)
    owners.append(second)
    assert second.server_pid != first.server_pid
    assert not leases.exists()
    info = read_server_info(home / "run" / "local-server.json")
    assert info is not None and info.pid == second.server_pid


def _ask(
    home: Path, tmpdir: Path, script: Path, *question: str, **overrides: str | None
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "YACHAT_HOME": str(home),
        "YACHAT_BACKEND": "local",
        "YACHAT_LOCAL_ENGINE": "scripted",
        "YACHAT_LOCAL_SCRIPT": str(script),
        "TMPDIR": str(tmpdir),
    }
    for var in ("YC_API_KEY", "YC_IAM_TOKEN", "YC_OAUTH_TOKEN", "YC_FOLDER_ID", "YACHAT_LOCAL_ADDRESS"):
        env.pop(var, None)
    for var, value in overrides.items():
        if value is None:
            env.pop(var, None)
        else:
            env[var] = value
    return subprocess.Popen(
        [sys.executable, "-m", "yachat", "ask", *question],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_killing_yachat_ask_mid_answer_ends_its_server(home: Path, tmp_path: Path, sig: int) -> None:
    script = tmp_path / "script.json"
    rule = {"match": "slow", "answer": "tick " * 500, "chunk_chars": 5, "delay_ms": 20}
    script.write_text(json.dumps({"rules": [rule]}))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    ask = _ask(home, tmpdir, script, "slow please")
    try:
        assert ask.stdout is not None
        assert ask.stdout.read(10)  # the answer is streaming
        running = serve_pids(home)
        assert len(running) == 1
        ask.send_signal(sig)
        ask.wait(10)
        assert wait_until(lambda: process_gone(running[0]), GONE_WITHIN)
        assert serve_pids(home) == []
    finally:
        if ask.poll() is None:
            ask.kill()
        ask.communicate()


def test_a_whole_session_leaves_the_temp_dir_empty(home: Path, tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    script = tmp_path / "script.json"
    script.write_text("{}")
    ask = _ask(home, tmpdir, script, "2 + 2")
    out, err = ask.communicate(timeout=60)
    assert ask.returncode == 0, err
    assert "2 + 2 = 4" in out
    assert list(tmpdir.iterdir()) == []
    assert wait_until(lambda: serve_pids(home) == [], GONE_WITHIN)
    # The server's log went to yachat's log dir instead.
    assert len(list((home / "log").glob("serve-*.log"))) == 1


def test_without_a_session_runtime_dir_nothing_goes_to_the_temp_dir(tmp_path: Path) -> None:
    """No YACHAT_HOME and no XDG_RUNTIME_DIR (a container, ssh without systemd): the
    runtime files (the server's address, leases, answer locks) go to the user's cache."""
    user = tmp_path / "user"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    script = tmp_path / "script.json"
    script.write_text("{}")
    ask = _ask(
        user, tmpdir, script, "2 + 2",
        YACHAT_HOME=None, XDG_RUNTIME_DIR=None, HOME=str(user),
        XDG_CONFIG_HOME=None, XDG_DATA_HOME=None, XDG_STATE_HOME=None, XDG_CACHE_HOME=None,
    )  # fmt: skip
    out, err = ask.communicate(timeout=60)
    assert ask.returncode == 0, err
    assert "2 + 2 = 4" in out
    assert list(tmpdir.iterdir()) == []
    assert "Warning" not in err and "XDG_RUNTIME_DIR" not in err
    assert (user / ".cache" / "yachat" / "run").is_dir()


def test_only_the_newest_server_logs_are_kept(home: Path) -> None:
    env = {"YACHAT_HOME": str(home)}
    with start_server_process("scripted", env=env) as running:
        for _ in range(KEEP_LOGS + 2):
            with start_server_process("scripted", env=env) as server:
                newest = server.log_path
        logs = list((home / "log").glob("serve-*.log"))
        # The newest few, and the log of a server that still runs however old it is.
        assert len(logs) == KEEP_LOGS + 1
        assert running.log_path in logs and newest in logs
        assert "ready" in running.log_path.read_text()


def test_a_server_started_by_hand_runs_until_stopped(home: Path) -> None:
    """`yachat serve` without --exit-with-owner ignores its stdin: it runs until a signal."""
    process = subprocess.Popen(
        [sys.executable, "-m", "yachat", "serve", "--engine", "scripted", "--port", "0"],
        stdin=subprocess.DEVNULL,  # an end-of-file at once: it must not matter
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "YACHAT_HOME": str(home), "YACHAT_LOCAL_TOKEN": "t"},
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline()]
        while not lines[-1].startswith("yachat serve: listening on "):
            lines.append(process.stdout.readline())
        assert lines[0].startswith("yachat serve: model scripted, context 32768 tokens")
        address = lines[-1].rsplit(" ", 1)[1].strip()

        class Server:
            token = "t"

        Server.address = address  # type: ignore[attr-defined]
        result = anyio.run(model(Server()).run, "2 + 2")  # type: ignore[arg-type]
        assert result.alternatives[0].text == "2 + 2 = 4"
        assert process.poll() is None
        info = read_server_info(home / "run" / "local-server.json")
        assert info is not None and info.leases == "" and info.context == 32_768
        process.send_signal(signal.SIGHUP)
        assert process.wait(10) == 0
        assert read_server_info(home / "run" / "local-server.json") is None
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
