"""Credentials never leak, and everything yachat writes is private.

The cloud code path runs for real: the SDK speaks TLS to the local server,
which presents a certificate the test made and accepts the test's API key,
exactly as Yandex Cloud would (endpoint discovery, then Api-Key auth).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from yachat.server.process import ServerProcess, start_server_process

API_KEY = "AQVNsecret-test-key-0123456789abcdef"


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(directory)
    with start_server_process(
        "scripted",
        args=["--tls-cert", str(cert), "--tls-key", str(key)],
        token=API_KEY,
        env={"YACHAT_HOME": str(directory / "server-home")},
    ) as server:
        yield server, cert


def cloud_env(home: Path, server: ServerProcess, cert: Path, key: str = API_KEY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YC_", "YACHAT_"))}
    env.update(
        YACHAT_HOME=str(home),
        YC_API_KEY=key,
        YC_FOLDER_ID="b1gsecuritytest",
        YC_API_ENDPOINT=server.address,
        YC_CONFIG_PATH=str(home / "no-yc.yaml"),
        GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=str(cert),
    )
    return env


def yachat(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yachat", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_key_is_used_but_never_written(tls_server: tuple[ServerProcess, Path], tmp_path: Path) -> None:
    server, cert = tls_server
    home = tmp_path / "home"
    env = cloud_env(home, server, cert)
    outputs = []

    asked = yachat(env, "ask", "2 + 2")
    outputs.append(asked)
    assert asked.returncode == 0, asked.stderr
    assert "2 + 2 = 4" in asked.stdout  # answered over TLS with the key: the cloud path works

    export = tmp_path / "export.json"
    for args in (("doctor",), ("threads", "list"), ("threads", "show", "1"),
                 ("threads", "export", "1", "--format", "json", "-o", str(export)),
                 ("threads", "export", "1", "--format", "md")):  # fmt: skip
        result = yachat(env, *args)
        assert result.returncode == 0, (args, result.stderr)
        outputs.append(result)
    assert "cloud" in outputs[1].stdout and "API key found" in outputs[1].stdout

    rejected = yachat(cloud_env(home, server, cert, key="AQVNwrong-key-should-not-print"), "ask", "hi")
    assert rejected.returncode == 1
    assert "rejected the credentials" in rejected.stderr
    assert "AQVNwrong-key-should-not-print" not in rejected.stdout + rejected.stderr

    written = [p for p in [*home.rglob("*"), export] if p.is_file()]
    assert any(p.name == "yachat.db" for p in written) and any(p.suffix == ".log" for p in written)
    for path in written:
        assert API_KEY.encode() not in path.read_bytes(), f"the key leaked into {path}"
    for result in outputs:
        assert API_KEY not in result.stdout + result.stderr


def test_files_and_directories_are_private(tls_server: tuple[ServerProcess, Path], tmp_path: Path) -> None:
    server, cert = tls_server
    home = tmp_path / "home"
    assert yachat(cloud_env(home, server, cert), "ask", "hello").returncode == 0
    for path in home.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, f"{path} is {oct(mode)}"
        else:
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def test_local_server_token_file_is_private_and_loopback_is_default(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with start_server_process("scripted", env={"YACHAT_HOME": str(home)}, runtime_file=True) as server:
        assert server.host == "127.0.0.1"
        info = home / "run" / "local-server.json"
        assert stat.S_IMODE(info.stat().st_mode) == 0o600
        assert stat.S_IMODE(info.parent.stat().st_mode) == 0o700
        assert server.token in info.read_text()


def test_listening_beyond_loopback_warns(tmp_path: Path) -> None:
    with start_server_process(
        "scripted", args=["--host", "0.0.0.0"], env={"YACHAT_HOME": str(tmp_path)}
    ) as server:
        assert "beyond this machine" in server.log_path.read_text()


@pytest.mark.parametrize(("enabled", "sent"), [(False, "false"), (True, "true")])
def test_data_logging_choice_reaches_the_server(tmp_path: Path, enabled: bool, sent: str) -> None:
    import anyio

    from yachat.core.chat import ChatCore
    from yachat.settings import Settings

    server_home = tmp_path / "server-home"
    with start_server_process("scripted", env={"YACHAT_HOME": str(server_home)}) as server:
        settings = Settings(backend="local", local_address=server.address, local_token=server.token,
                            store_path=tmp_path / "y.db", enable_server_data_logging=enabled)  # fmt: skip
        core = ChatCore.open_store(settings)
        thread = core.new_thread()
        final = anyio.run(core.send, thread.id, "2 + 2", lambda _update: None)
        assert final.text == "2 + 2 = 4"
        core.store.close()
        log = (server_home / "log" / "yachat.log").read_text()
    assert f"data_logging={sent}" in log
