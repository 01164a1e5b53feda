"""The plain CLI, run as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from yachat.store import Store
from yachat.store.models import MessageStatus, RunStatus

from ..support import Script
from .conftest import Yachat

SEED_SESSION = "Hello! How are you?\n2 + 2\n15234 - 265\nexit\n"


def test_plain_chat_replays_the_seed_session(yachat: Yachat) -> None:
    result = yachat("chat", "--plain", input=SEED_SESSION)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "you> " in out and "= 4" in out and "14969" in out
    history = out[out.index("newest first") :].splitlines()[1:]
    # The whole thread, newest first: the last answer before the first question.
    assert history[:5] == [
        "assistant: 15234 - 265 = 14969",
        "you: 15234 - 265",
        "assistant: 2 + 2 = 4",
        "you: 2 + 2",
        history[4],
    ]
    assert history[4].startswith("assistant: You said") and history[5] == "you: Hello! How are you?"
    assert "usage:" in out and "total tokens" in out
    assert "Traceback" not in result.stderr


def test_ask_streams_to_a_pipe_with_usage_on_stderr(yachat: Yachat, script: Script) -> None:
    script.set({"match": "pipe", "answer": "plain \x1b[31mred\x1b[0m answer", "chunk_chars": 3})
    result = yachat("ask", "into a pipe")
    assert result.returncode == 0, result.stderr
    # Not a terminal: the model's bytes pass through untouched.
    assert result.stdout == "plain \x1b[31mred\x1b[0m answer\n"
    assert "tokens:" in result.stderr


def test_ask_reads_invalid_utf8_from_stdin(yachat: Yachat) -> None:
    result = yachat("ask", input=b"what is \xff\xfe this?\n")
    assert result.returncode == 0, result.stderr
    assert "what is" in result.stdout


def test_ask_refuses_an_empty_question(yachat: Yachat) -> None:
    result = yachat("ask", input="   \n")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no question" in result.stderr


def test_threads_list_show_search_export_rename_delete(yachat: Yachat, script: Script) -> None:
    script.set({"match": "giraffe", "answer": "Giraffes sleep about 30 minutes a day."})
    assert yachat("ask", "giraffe facts").returncode == 0
    listed = yachat("threads", "list").stdout
    assert "giraffe facts" in listed
    thread_id = listed.split()[0]
    assert "30 minutes" in yachat("threads", "show", thread_id).stdout
    assert "«sleep»" in yachat("threads", "search", "sleep").stdout
    exported = json.loads(yachat("threads", "export", thread_id, "--format", "json").stdout)
    assert [m["role"] for m in exported["messages"]] == ["user", "assistant"]
    assert yachat("threads", "rename", thread_id, "Tall", "animals").returncode == 0
    assert "Tall animals" in yachat("threads", "list").stdout
    assert yachat("threads", "delete", thread_id).returncode == 0
    assert "Tall animals" not in yachat("threads", "list").stdout
    missing = yachat("threads", "show", "99999")
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_search_with_fts_syntax_never_raises(yachat: Yachat) -> None:
    for query in ['"unbalanced', "a*", "NEAR(", "x AND", "col:value", "(((", "-"]:
        result = yachat("threads", "search", query)
        assert result.returncode in (0, 1) and "Traceback" not in result.stderr, query


def test_doctor_never_prints_the_key(yachat: Yachat) -> None:
    result = yachat("doctor", YC_API_KEY="AQVN-super-secret", YC_FOLDER_ID="b1gfolder")
    assert result.returncode == 0
    assert "AQVN-super-secret" not in result.stdout + result.stderr
    assert "API key found" in result.stdout


def test_corrupt_config_is_one_clear_line(yachat: Yachat, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('model = "x"\nbackend = = "local"\n')
    result = yachat("--config", str(config), "threads", "list")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and str(config) in result.stderr and "line 2" in result.stderr


def test_killed_while_streaming_leaves_an_interrupted_run(yachat: Yachat, script: Script) -> None:
    script.set({"match": "endless", "answer": "tick " * 500, "chunk_chars": 5, "delay_ms": 20})
    proc = subprocess.Popen(
        [sys.executable, "-m", "yachat", "ask", "endless story"],
        env=yachat.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    received = b""
    deadline = time.monotonic() + 30
    while len(received) < 60 and time.monotonic() < deadline:
        received += proc.stdout.read() or b""
        time.sleep(0.05)
    time.sleep(0.4)  # let a throttled save of the partial answer happen
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(received) >= 60

    store_path = yachat.home / "data" / "yachat.db"
    store = Store.open(store_path)
    try:
        assert store.integrity_check() == "ok"
        assert store.mark_interrupted() == 1
        thread = store.list_threads()[0]
        answer = store.list_messages(thread.id)[-1]
        assert answer.status is MessageStatus.INTERRUPTED and answer.text.startswith("tick tick")
        assert store.get_run(answer.run_id or 0).status is RunStatus.INTERRUPTED  # type: ignore[union-attr]
    finally:
        store.close()


def test_two_processes_share_one_store(yachat: Yachat, script: Script) -> None:
    script.set({"match": "proc", "answer": "answer " * 60, "chunk_chars": 6, "delay_ms": 2})
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "yachat", "ask", f"proc {n}"],
            env=yachat.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
        for _ in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    store = Store.open(yachat.home / "data" / "yachat.db")
    try:
        threads = store.list_threads()
        assert len(threads) == 6
        for thread in threads:
            assert [m.text for m in store.list_messages(thread.id)][1] == "answer " * 60
    finally:
        store.close()


def test_unwritable_data_dir_is_one_clear_error(yachat: Yachat) -> None:
    # A file where the data directory should be: unwritable even for root.
    yachat.home.mkdir(parents=True)
    (yachat.home / "data").write_text("not a directory")
    result = yachat("ask", "hello")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "data" in result.stderr


def test_a_local_model_that_will_not_load_is_one_clear_line(yachat: Yachat, tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf")
    env = {k: v for k, v in yachat.env.items() if k not in ("YACHAT_LOCAL_ADDRESS", "YACHAT_LOCAL_TOKEN")}
    result = subprocess.run(
        [sys.executable, "-m", "yachat", "--backend", "local", "--local-model", str(bad), "ask", "hi"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    error = [line for line in result.stderr.splitlines() if "did not start" in line]
    assert len(error) == 1 and str(bad) in error[0] and "Traceback" not in result.stderr
