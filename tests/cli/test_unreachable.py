"""A cloud endpoint that cannot be connected to is one line naming it and the cause.

Each endpoint misbehaves for real on loopback: a name that does not resolve,
a port that refuses, a TLS server with a certificate nobody trusts, a server
that speaks no TLS, a listener that accepts and never answers. None of them
is "server busy", none is retried, and the line says how to retry from the shell.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from yachat.server.process import ServerProcess

from ..security.test_secrets import self_signed

# The budget for giving up on an endpoint, start-up included.
GIVE_UP_WITHIN_S = 10.0


class Listener:
    """A TCP endpoint on loopback that handles each connection as told, until closed."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(handle,), daemon=True)
        self.thread.start()

    def _serve(self, handle: Callable[[socket.socket], None]) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)
            conn.settimeout(10)
            with contextlib.suppress(OSError):  # the client gave up on us: that is the point
                handle(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def listener() -> Iterator[Callable[[Callable[[socket.socket], None]], Listener]]:
    made: list[Listener] = []

    def make(handle: Callable[[socket.socket], None]) -> Listener:
        made.append(Listener(handle))
        return made[-1]

    yield make
    for each in made:
        each.close()


def ask_the_cloud(endpoint: str, home: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YC_", "YACHAT_", "GRPC_"))}
    env.update(
        YACHAT_HOME=str(home),
        YC_API_KEY="AQVN-fake-key",
        YC_FOLDER_ID="b1gfakefolder",
        YC_CONFIG_PATH=str(home / "no-yc.yaml"),
    )
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "yachat",
            "ask",
            "--backend",
            "cloud",
            "--endpoint",
            endpoint,
            *flags,
            "hello?",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, time.monotonic() - started


def assert_one_line(result: subprocess.CompletedProcess[str], endpoint: str, cause: str) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"yachat: Yandex Cloud at {endpoint} cannot be reached: "), line
    assert cause in line, line
    assert "busy" not in line and "press Retry" not in line and "Traceback" not in line
    assert re.search(r"retry with `yachat ask --thread \d+ --retry`\.$", line), line
    return line


def test_a_name_that_does_not_resolve(tmp_path: Path) -> None:
    # .invalid never resolves (RFC 6761), online or off.
    result, took = ask_the_cloud("nonexistent.invalid:443", tmp_path)
    assert_one_line(result, "nonexistent.invalid:443", "its name does not resolve")
    assert took < GIVE_UP_WITHIN_S


def test_a_dns_server_that_never_answers(tmp_path: Path) -> None:
    # gRPC's target syntax names the DNS server to ask: here a UDP port on loopback that never answers.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dns:
        dns.bind(("127.0.0.1", 0))
        endpoint = f"dns://127.0.0.1:{dns.getsockname()[1]}/api.example.test:443"
        result, took = ask_the_cloud(endpoint, tmp_path)
    assert_one_line(result, endpoint, "no DNS server answered within 5 s to look up its name")
    assert took < GIVE_UP_WITHIN_S


def test_a_port_that_refuses(tmp_path: Path) -> None:
    # Bound but not listening: the port is ours, and every connection is refused.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        endpoint = f"127.0.0.1:{closed.getsockname()[1]}"
        result, took = ask_the_cloud(endpoint, tmp_path)
    line = assert_one_line(result, endpoint, "the connection was refused")
    assert f"refused by {endpoint}" not in line  # the endpoint is named once
    assert took < GIVE_UP_WITHIN_S


def test_a_certificate_nobody_trusts(tmp_path: Path, listener: Callable[..., Listener]) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2"])
    server = listener(lambda conn: context.wrap_socket(conn, server_side=True))
    result, took = ask_the_cloud(server.address, tmp_path)
    assert_one_line(
        result, server.address, "the TLS handshake failed (the server's certificate is not trusted"
    )
    assert took < GIVE_UP_WITHIN_S


def test_a_server_that_speaks_no_tls(tmp_path: Path, server: ServerProcess) -> None:
    # yachat's own local server speaks plaintext gRPC; the cloud backend insists on TLS.
    result, took = ask_the_cloud(server.address, tmp_path)
    assert_one_line(result, server.address, "the TLS handshake failed (the server does not speak TLS)")
    assert took < GIVE_UP_WITHIN_S


def test_a_listener_that_never_answers(tmp_path: Path, listener: Callable[..., Listener]) -> None:
    silent = listener(lambda conn: None)  # accepted, held open, never read or written
    result, took = ask_the_cloud(silent.address, tmp_path)
    assert_one_line(result, silent.address, "no answer within 5 s")
    assert silent.accepted, "the client never connected"
    assert took < GIVE_UP_WITHIN_S


def test_the_connect_timeout_is_a_setting(tmp_path: Path, listener: Callable[..., Listener]) -> None:
    silent = listener(lambda conn: None)
    config = tmp_path / "config.toml"
    config.write_text("connect_timeout_s = 1.5\n")
    result, _ = ask_the_cloud(silent.address, tmp_path, "--config", str(config))
    assert_one_line(result, silent.address, "no answer within 1.5 s")


def test_doctor_names_the_same_causes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YC_", "YACHAT_"))}
    env.update(YACHAT_HOME=str(tmp_path), YC_API_KEY="AQVN-fake", YC_FOLDER_ID="b1gfake")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refusing = f"127.0.0.1:{closed.getsockname()[1]}"
        for endpoint, cause in (
            ("nonexistent.invalid:443", "its name does not resolve"),
            (refusing, "the connection was refused"),
        ):
            result = subprocess.run(
                [sys.executable, "-m", "yachat", "doctor", "--backend", "cloud", "--endpoint", endpoint],
                env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert f"endpoint       {endpoint} cannot be reached: {cause}" in result.stdout
