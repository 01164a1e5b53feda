"""Run the `yachat` command for real, against a scripted local server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..support import Script


class Yachat:
    def __init__(self, home: Path, server: Any) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "YACHAT_HOME": str(home),
            "YACHAT_BACKEND": "local",
            "YACHAT_LOCAL_ADDRESS": server.address,
            "YACHAT_LOCAL_HTTP_URL": server.http_url,
            "YACHAT_LOCAL_TOKEN": server.token,
        }
        for var in ("YC_API_KEY", "YC_IAM_TOKEN", "YC_OAUTH_TOKEN", "YC_FOLDER_ID"):
            self.env.pop(var, None)

    def __call__(
        self,
        *args: str,
        input: str | bytes | None = None,
        timeout: float = 60,
        cwd: str | None = None,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "yachat", *args],
            input=data,
            capture_output=True,
            env={**self.env, **env},
            timeout=timeout,
            cwd=cwd,
        )
        return subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
        )


@pytest.fixture
def yachat(tmp_path: Path, server: Any, script: Script) -> Yachat:
    script.set()
    return Yachat(tmp_path / "home", server)
