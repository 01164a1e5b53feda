"""Which backend is used, and the local server started, reused and stopped."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from yachat.core.backend import choose_backend_kind
from yachat.core.chat import ChatCore
from yachat.core.events import Notice
from yachat.pids import pid_alive
from yachat.server.process import ServerProcess
from yachat.server_info import read_server_info
from yachat.settings import Settings, load_settings

from ..lifetimes import process_gone, wait_until
from ..support import local_settings
from .test_chat_runs import Recorder


@pytest.fixture
def no_yc_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YC_CONFIG_PATH", str(tmp_path / "no-yc.yaml"))


def test_auto_without_credentials_is_local_and_says_why(no_yc_cli: None, tmp_path: Path) -> None:
    settings = load_settings(env={}, config_path=tmp_path / "none.toml")
    kind, reason = choose_backend_kind(settings)
    assert kind == "local" and "folder id" in reason and "credentials" in reason


def test_auto_with_folder_and_key_is_cloud(no_yc_cli: None, tmp_path: Path) -> None:
    env = {"YC_API_KEY": "AQVN-x", "YC_FOLDER_ID": "b1g"}
    kind, reason = choose_backend_kind(load_settings(env=env, config_path=tmp_path / "n.toml"))
    assert kind == "cloud" and "AQVN" not in reason


def test_auto_with_key_but_no_folder_is_local(no_yc_cli: None, tmp_path: Path) -> None:
    env = {"YC_API_KEY": "AQVN-x"}
    kind, reason = choose_backend_kind(load_settings(env=env, config_path=tmp_path / "n.toml"))
    assert kind == "local" and "folder id" in reason


def test_local_server_is_started_reused_and_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YACHAT_HOME", str(tmp_path / "home"))
    settings = Settings(backend="local", local_engine="scripted", store_path=tmp_path / "y.db")
    statuses: list[str] = []

    async def main() -> None:
        first = ChatCore.open_store(settings)
        backend = await first.connect(on_status=statuses.append)
        assert backend.kind == "local" and backend.owned_server is not None
        info = read_server_info()
        assert info is not None and info.address == backend.endpoint
        assert os.stat(Path(os.environ["YACHAT_HOME"]) / "run" / "local-server.json").st_mode & 0o077 == 0

        # A second yachat reuses the running server instead of starting another.
        second = ChatCore.open_store(settings)
        reused = await second.connect()
        assert reused.endpoint == backend.endpoint and reused.owned_server is None
        thread = first.new_thread()
        rec = Recorder()
        final = await second.send(thread.id, "2 + 2", rec)
        assert "4" in final.text

        assert backend.context_tokens == reused.context_tokens == 32_768
        assert backend.model_name == reused.model_name == "scripted"

        # The server outlives the yachat that started it while the second one uses it...
        pid = backend.owned_server.process.pid
        await first.aclose()
        assert pid_alive(pid) and read_server_info() is not None
        assert "4" in (await second.send(thread.id, "2 + 2", Recorder())).text
        # ...and ends with the second.
        await second.aclose()
        assert wait_until(lambda: process_gone(pid), 5)
        assert read_server_info() is None

    anyio.run(main)
    assert any("starting the local model server" in s for s in statuses)


def test_a_dead_local_server_is_restarted_on_the_next_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YACHAT_HOME", str(tmp_path / "home"))
    settings = Settings(backend="local", local_engine="scripted", store_path=tmp_path / "y.db")

    async def main() -> None:
        core = ChatCore.open_store(settings)
        try:
            backend = await core.connect()
            thread = core.new_thread()
            backend.owned_server.kill()
            failed = await core.send(thread.id, "hello?", Recorder())
            assert failed.status == "failed" and "local model server" in (failed.error or "")
            rec = Recorder()
            retried = await core.retry(thread.id, rec)
            assert retried.status == "completed"
            assert any(isinstance(u, Notice) and "starting" in u.text for u in rec.updates)
        finally:
            await core.aclose()

    anyio.run(main)


def test_the_local_backend_knows_its_servers_context_and_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$YACHAT_SERVE_CONTEXT reaches the server yachat starts; the backend learns it from the server."""
    monkeypatch.setenv("YACHAT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("YACHAT_SERVE_CONTEXT", "600")
    settings = Settings(backend="local", local_engine="scripted", store_path=tmp_path / "y.db")

    async def main() -> None:
        core = ChatCore.open_store(settings)
        try:
            backend = await core.connect()
            assert (backend.context_tokens, backend.model_name) == (600, "scripted")
            info = read_server_info()
            assert info is not None and (info.context, info.model) == (600, "scripted")

            # A client pointed at the same server by address learns the same from its runtime file.
            by_address = Settings(
                backend="local",
                local_address=backend.endpoint,
                local_token=info.token,
                store_path=tmp_path / "y.db",
            )
            other = ChatCore(by_address, core.store)
            named = await other.connect()
            assert (named.context_tokens, named.model_name) == (600, "scripted")
            await other.session.disconnect()
        finally:
            await core.aclose()

    anyio.run(main)


def test_a_server_named_by_address_alone_has_no_known_context(server: ServerProcess, tmp_path: Path) -> None:
    settings = local_settings(server, tmp_path)

    async def main() -> None:
        core = ChatCore.open_store(settings)
        try:
            backend = await core.connect()
            assert backend.context_tokens is None and backend.model_name is None
        finally:
            await core.aclose()

    anyio.run(main)
