"""What a user of any terminal tool expects: options anywhere, --version,
documented exit codes, no colour where it does not belong."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from yachat.cli.main import build_parser

from ..support import Script
from .conftest import Yachat

README = Path(__file__).resolve().parents[2] / "README.md"

GLOBAL_OPTIONS = [
    ("--backend", "local"),
    ("--model", "yandexgpt/rc"),
    ("--folder-id", "b1gfolder"),
    ("--endpoint", "example.invalid:443"),
    ("--engine", "scripted"),
    ("--local-model", "/models/chat.gguf"),
    ("--config", "/tmp/other.toml"),
]

# Each command line split where a global option may go after the command.
COMMANDS = [
    (["ask"], ["a question"]),
    (["ask"], ["--thread", "3", "--retry"]),
    (["chat"], ["--plain"]),
    (["threads"], ["list"]),
    (["threads", "list"], ["--limit", "5"]),
    (["threads", "show"], ["7"]),
    (["threads", "search"], ["giraffe"]),
    (["threads", "export"], ["7", "--format", "json"]),
    (["threads", "rename"], ["7", "new", "name"]),
    (["threads", "delete"], ["7"]),
    (["doctor"], []),
    (["tui"], []),
]


@pytest.mark.parametrize("option,value", GLOBAL_OPTIONS)
@pytest.mark.parametrize("head,tail", COMMANDS)
def test_a_global_option_means_the_same_before_or_after_the_command(
    option: str, value: str, head: list[str], tail: list[str]
) -> None:
    parser = build_parser()
    before = parser.parse_args([option, value, *head, *tail])
    after = parser.parse_args([*head, option, value, *tail])
    at_the_end = parser.parse_args([*head, *tail, option, value])
    assert vars(before) == vars(after) == vars(at_the_end)
    assert value in str(vars(before).values())


def test_an_option_after_the_command_wins_and_one_before_is_kept() -> None:
    parser = build_parser()
    args = parser.parse_args(["--model", "a", "--backend", "cloud", "ask", "--model", "b", "q"])
    assert (args.model, args.backend) == ("b", "cloud")
    # A subcommand's own default never erases what came before it.
    nested = parser.parse_args(["--config", "/x.toml", "threads", "list"])
    assert str(nested.config) == "/x.toml"


def test_serve_keeps_its_own_model_and_engine() -> None:
    args = build_parser().parse_args(
        ["--model", "chat-model", "serve", "--model", "/m.gguf", "--engine", "scripted"]
    )
    assert (args.model, args.model_path, args.serve_engine) == ("chat-model", "/m.gguf", "scripted")


def test_ask_with_options_after_the_command_runs(yachat: Yachat, script: Script) -> None:
    script.set({"match": "where", "answer": "right here"})
    # The environment says cloud; the flag after the command must win, as one before it does.
    after = yachat("ask", "--backend", "local", "where are you?", YACHAT_BACKEND="cloud")
    before = yachat("--backend", "local", "ask", "where are you?", YACHAT_BACKEND="cloud")
    assert after.returncode == before.returncode == 0, after.stderr + before.stderr
    assert after.stdout == before.stdout == "right here\n"


def test_doctor_says_the_same_with_options_before_or_after(yachat: Yachat) -> None:
    flags = ["--model", "yandexgpt-lite", "--engine", "scripted", "--folder-id", "b1gx"]
    before = yachat(*flags, "doctor", YACHAT_LOCAL_ADDRESS="", YACHAT_LOCAL_TOKEN="")
    after = yachat("doctor", *flags, YACHAT_LOCAL_ADDRESS="", YACHAT_LOCAL_TOKEN="")
    assert before.returncode == after.returncode == 0
    assert before.stdout == after.stdout
    assert "yandexgpt-lite (command line)" in after.stdout and "(scripted)" in after.stdout


def test_version(yachat: Yachat) -> None:
    result = yachat("--version")
    assert result.returncode == 0
    assert result.stdout == f"yachat {version('yachat')}\n"


def test_usage_errors_exit_2(yachat: Yachat) -> None:
    for args in (["--no-such-option"], ["ask", "--no-such-option", "q"], ["threads"], ["--backend", "moon"]):
        result = yachat(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr


EXIT_CODES = {"0": "done", "1": "failed", "2": "usage", "130": "interrupted", "128+N": "signal"}


def _exit_code_rows(text: str) -> dict[str, str]:
    rows = re.findall(r"^\|? *`?(\d+(?:\+N)?)`? *[|] *(.+?) *\|?$|^ +(\d+(?:\+N)?) +(.+)$", text, re.M)
    return {(a or c): (b or d) for a, b, c, d in rows}


def test_exit_codes_are_documented_in_help_and_readme(yachat: Yachat) -> None:
    help_text = yachat("--help").stdout
    section = help_text[help_text.index("exit status:") :]
    readme = README.read_text(encoding="utf-8")
    readme_section = readme[readme.index("## Exit status") :]
    readme_section = readme_section[: readme_section.find("\n## ", 1)]
    for where, rows in (("--help", _exit_code_rows(section)), ("README", _exit_code_rows(readme_section))):
        for code, word in EXIT_CODES.items():
            assert code in rows and word in rows[code], (where, code, rows)
        signals = rows["128+N"]
        assert "129" in signals and "SIGHUP" in signals and "143" in signals and "SIGTERM" in signals, where


def run_on_a_terminal(yachat: Yachat, *args: str, **env: str) -> bytes:
    """Run yachat with its stdout on a pseudo-terminal; what it wrote there."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "yachat", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**yachat.env, **env},
    )
    os.close(follower)
    out = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(leader)
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else b""
    if proc.stderr:
        proc.stderr.close()
    return out


def test_no_color_and_a_pipe_get_no_escapes(yachat: Yachat, script: Script) -> None:
    script.set({"match": "zebra", "answer": "Zebras have stripes."})
    assert yachat("ask", "zebra facts").returncode == 0
    env_without = {k: v for k, v in yachat.env.items() if k != "NO_COLOR"}
    yachat.env = env_without

    on_terminal = run_on_a_terminal(yachat, "threads", "search", "stripes")
    assert b"\x1b[1m" in on_terminal  # the match is bold on a terminal: the check below can fail

    no_color = run_on_a_terminal(yachat, "threads", "search", "stripes", NO_COLOR="1")
    assert b"\x1b" not in no_color and "«stripes»".encode() in no_color

    piped = yachat("threads", "search", "stripes")
    assert "\x1b" not in piped.stdout and "«stripes»" in piped.stdout
    for args in (["threads", "list"], ["threads", "show", "1"], ["doctor"], ["--help"]):
        assert b"\x1b" not in run_on_a_terminal(yachat, *args, NO_COLOR="1"), args
